// Test-only driver for tests/vscode/run.sh. Uses the installed hedge extension the way a user
// would (open documents, hover, run its commands, flip its setting) and records what VS Code
// shows through its public API. drive.js (outside VS Code) makes the assertions and takes the
// screenshots: a `phase-NAME.json` file asks for one, `ack-NAME` says it was taken.
'use strict';
const vscode = require('vscode');
const fs = require('fs');
const path = require('path');

const DIR = process.env.HEDGE_E2E_DIR;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const t0 = Date.now();

function log(msg) {
  fs.appendFileSync(path.join(DIR, 'driver.log'), `${((Date.now() - t0) / 1000).toFixed(1)}s ${msg}\n`);
}

function write(name, obj) {
  const p = path.join(DIR, name);
  fs.writeFileSync(p + '.tmp', JSON.stringify(obj, null, 1));
  fs.renameSync(p + '.tmp', p);
}

/** Ask drive.js for a screenshot of what the browser shows now, and wait until it is taken. */
async function phase(name, data = {}) {
  log(`phase ${name}`);
  await sleep(400); // let the workbench paint
  write(`phase-${name}.json`, data);
  const ack = path.join(DIR, `ack-${name}`);
  const start = Date.now();
  while (!fs.existsSync(ack)) {
    if (Date.now() - start > 60000) throw new Error(`drive.js did not acknowledge phase ${name}`);
    await sleep(100);
  }
}

async function waitFor(what, fn, ok, ms = 30000) {
  const start = Date.now();
  for (;;) {
    const v = await fn();
    if (ok(v)) return v;
    if (Date.now() - start > ms) throw new Error(`timed out after ${ms} ms waiting for ${what}; last: ${JSON.stringify(v).slice(0, 2000)}`);
    await sleep(200);
  }
}

const SEVERITY = ['error', 'warning', 'information', 'hint'];
function diagnostics(uri) {
  return vscode.languages
    .getDiagnostics(uri)
    .filter((d) => d.source === 'hedge')
    .map((d) => ({
      code: d.code && typeof d.code === 'object' ? d.code.value : d.code,
      severity: SEVERITY[d.severity],
      range: [d.range.start.line, d.range.start.character, d.range.end.line, d.range.end.character],
      message: d.message,
    }));
}

async function hoverTexts(uri, pos) {
  const hovers = (await vscode.commands.executeCommand('vscode.executeHoverProvider', uri, pos)) || [];
  return hovers.map((h) => h.contents.map((c) => (typeof c === 'string' ? c : c.value)).join('\n'));
}

/** The document's semantic tokens, decoded with the provider's legend. */
async function semanticTokens(uri) {
  const legend = await vscode.commands.executeCommand('vscode.provideDocumentSemanticTokensLegend', uri);
  const t = await vscode.commands.executeCommand('vscode.provideDocumentSemanticTokens', uri);
  const data = t && t.data ? Array.from(t.data) : [];
  const out = [];
  let line = 0;
  let ch = 0;
  for (let i = 0; i + 5 <= data.length; i += 5) {
    line += data[i];
    ch = data[i] === 0 ? ch + data[i + 1] : data[i + 1];
    out.push({ line, char: ch, length: data[i + 2], type: legend ? legend.tokenTypes[data[i + 3]] : data[i + 3] });
  }
  return { legend: legend ? legend.tokenTypes : null, tokens: out };
}

async function show(uri) {
  const doc = await vscode.workspace.openTextDocument(uri);
  const ed = await vscode.window.showTextDocument(doc, { preview: false, viewColumn: vscode.ViewColumn.One });
  return ed;
}

async function run(result) {
  const hedge = vscode.extensions.getExtension('hedge.hedge');
  if (!hedge) throw new Error('the hedge extension (hedge.hedge) is not installed');
  result.hedgeVersion = hedge.packageJSON.version;
  const ws = vscode.workspace.workspaceFolders[0].uri;
  const lit = vscode.Uri.joinPath(ws, 'literature-review.md');
  const curie = vscode.Uri.joinPath(ws, 'curie.md');
  const expected = JSON.parse(fs.readFileSync(path.join(DIR, 'expected-literature-review.md.json'), 'utf8')).files[0];

  // A clean window: no side bar, panel or welcome page.
  for (const c of ['workbench.action.closeAllEditors', 'workbench.action.closeSidebar', 'workbench.action.closePanel', 'workbench.action.closeAuxiliaryBar']) {
    await vscode.commands.executeCommand(c).then(undefined, () => {});
  }

  // 1. The shipped example: squiggles, the status bar.
  let ed = await show(lit);
  await waitFor('hedge to activate', () => hedge.isActive, (v) => v, 30000);
  const api = hedge.exports;
  result.literature = {};
  result.literature.diagnostics = await waitFor('the example\'s diagnostics', () => diagnostics(lit), (d) => d.length >= expected.findings.length, 60000);
  result.literature.status = await waitFor('the status bar', async () => {
    await api.refreshStatus();
    return api.status();
  }, (s) => /ppl/.test(s.text), 20000);
  ed.selection = new vscode.Selection(0, 0, 0, 0);
  await phase('literature', { status: result.literature.status.text });

  // A saved response (JSON) and a chat log (JSON Lines) carry their own logprobs.
  result.selfContained = {};
  for (const name of ['response.json', 'chat-log.jsonl']) {
    const uri = vscode.Uri.joinPath(ws, name);
    const e = await show(uri);
    const want = JSON.parse(fs.readFileSync(path.join(DIR, `expected-${name}.json`), 'utf8')).files.reduce((n, f) => n + f.findings.length, 0);
    result.selfContained[name] = {
      languageId: e.document.languageId,
      diagnostics: await waitFor(`${name}'s diagnostics`, () => diagnostics(uri), (d) => d.length >= want && want > 0, 30000),
    };
  }

  // 2. curie.md: exact diagnostics, the hover (also shown in the UI), the token table.
  ed = await show(curie);
  result.curie = {};
  result.curie.diagnostics = await waitFor('curie\'s diagnostics', () => diagnostics(curie), (d) => d.length >= 2, 30000);
  const at = new vscode.Position(4, 36);
  result.curie.hovers = await hoverTexts(curie, at);
  ed.selection = new vscode.Selection(at, at);
  await vscode.commands.executeCommand('editor.action.showHover');
  await phase('curie-hover');
  await vscode.commands.executeCommand('editor.action.hideHover').then(undefined, () => {});
  ed.selection = new vscode.Selection(4, 0, 4, 39); // "Marie Curie was born in Warsaw in 1867."
  result.curie.tokenTable = await vscode.commands.executeCommand('hedge.showTokens');
  await phase('token-table');
  await vscode.commands.executeCommand('workbench.action.closeEditorsInOtherGroups');

  // 3. The heatmap setting changes the semantic tokens; pictures in a dark and a light theme.
  const conf = () => vscode.workspace.getConfiguration();
  result.heatmap = { settingBefore: conf().get('hedge.heatmap') };
  result.heatmap.before = await semanticTokens(curie);
  result.heatmap.toggledTo = await vscode.commands.executeCommand('hedge.toggleHeatmap');
  result.heatmap.settingAfter = conf().get('hedge.heatmap');
  result.heatmap.after = await waitFor('heatmap tokens', () => semanticTokens(curie), (t) => t.tokens.length > 0, 20000);
  ed = await show(lit);
  result.heatmap.literature = await waitFor('heatmap tokens in the example', () => semanticTokens(lit), (t) => t.tokens.length > 0, 20000);
  await phase('heatmap-dark');
  await conf().update('workbench.colorTheme', 'Default Light Modern', vscode.ConfigurationTarget.Global);
  await sleep(800);
  await phase('heatmap-light');
  await conf().update('workbench.colorTheme', 'Default Dark Modern', vscode.ConfigurationTarget.Global);
  result.heatmap.toggledBack = await vscode.commands.executeCommand('hedge.toggleHeatmap');
  result.heatmap.offAgain = await waitFor('the heatmap to go', () => semanticTokens(curie), (t) => t.tokens.length === 0, 20000);

  // 4. Re-analyse, then dismiss all findings in curie.md (from the palette: no argument).
  ed = await show(curie);
  await vscode.commands.executeCommand('hedge.reanalyse');
  await sleep(300);
  result.afterReanalyse = await waitFor('diagnostics after re-analysis', () => diagnostics(curie), (d) => d.length === 2, 20000);
  // The quick fixes on "1867"; dismissing that one finding goes through the client's command.
  const actions = (await vscode.commands.executeCommand('vscode.executeCodeActionProvider', curie, new vscode.Range(4, 36, 4, 36))) || [];
  result.codeActions = actions.map((a) => ({ title: a.title, kind: a.kind && a.kind.value, command: a.command && a.command.command, arguments: a.command && a.command.arguments, edit: !!a.edit }));
  const dismiss = actions.find((a) => a.command && a.command.command === 'hedge.dismiss');
  if (dismiss) await vscode.commands.executeCommand(dismiss.command.command, ...(dismiss.command.arguments || []));
  result.afterDismissOne = await waitFor('the dismissed finding to go', () => diagnostics(curie), (d) => d.length === 1, 20000);
  await vscode.commands.executeCommand('hedge.dismissAll');
  result.afterDismissAll = await waitFor('dismissed findings to go', () => diagnostics(curie), (d) => d.length === 0, 20000);
  result.statusAfterDismissAll = await waitFor('the status bar after dismissing', async () => {
    await api.refreshStatus();
    return api.status();
  }, (s) => /0 findings/.test(s.text), 20000);

  // 5. hedge.serverPath pointing nowhere: a notification says what to do.
  const bin = conf().get('hedge.serverPath');
  await conf().update('hedge.serverPath', '/nonexistent/hedge', vscode.ConfigurationTarget.Global);
  result.missingServer = await waitFor('the status bar without a server', async () => {
    await api.refreshStatus();
    return api.status();
  }, (s) => /circle-slash/.test(s.text), 20000);
  await phase('missing-server');

  // 6. No hedge.serverPath and no hedge on PATH: the same, with how to install it.
  await vscode.commands.executeCommand('notifications.clearAll');
  await conf().update('hedge.serverPath', undefined, vscode.ConfigurationTarget.Global);
  await phase('no-server');

  // 7. hedge on PATH (the extension host's environment is this process's): it starts.
  const dir = path.join(DIR, 'bin');
  fs.mkdirSync(dir, { recursive: true });
  fs.symlinkSync(bin, path.join(dir, 'hedge'));
  process.env.PATH = `${dir}${path.delimiter}${process.env.PATH}`;
  await vscode.commands.executeCommand('hedge.restartServer');
  await show(lit);
  result.fromPath = await waitFor('the server from PATH', async () => {
    await api.refreshStatus();
    return api.status();
  }, (s) => /ppl/.test(s.text), 20000);
}

exports.activate = async function () {
  if (!DIR) return;
  const result = { vscodeVersion: vscode.version };
  try {
    await run(result);
  } catch (e) {
    result.error = String((e && e.stack) || e);
    log(`error: ${result.error}`);
  }
  write('result.json', result);
  log('done');
};
exports.deactivate = () => {};
