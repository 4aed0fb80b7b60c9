// hedge for VS Code: starts `hedge lsp` and adds the heatmap toggle, a token table, a status
// bar item and the server's commands. Plain CommonJS, no build step.
'use strict';

const vscode = require('vscode');
const fs = require('fs');
const os = require('os');
const path = require('path');
const {
  LanguageClient,
  RevealOutputChannelOn,
  State,
  ErrorCodes,
  DidChangeConfigurationNotification,
  ExecuteCommandRequest,
  HoverRequest,
} = require('vscode-languageclient/node');

const LANGUAGES = ['markdown', 'plaintext', 'json', 'jsonl'];
const SELECTOR = LANGUAGES.map((language) => ({ scheme: 'file', language }));
/** The keys of the `hedge` section that the server reads (it refuses unknown ones). */
const SERVER_KEYS = [
  'heatmap',
  'minCoverage',
  'vocabSize',
  'thresholds',
  'disable',
  'severity',
  'sidecarSuffixes',
  'maxDocumentBytes',
  'maxDiagnostics',
  'noteMissingTrace',
];
const FINDING_CODES = new Set([
  'low-probability',
  'uncertain-citation',
  'off-greedy',
  'high-entropy',
  'uncertain-sentence',
]);
/** Server commands that act on a whole document: the palette passes no argument. */
const DOCUMENT_COMMANDS = new Set(['hedge.reanalyse', 'hedge.dismissAll']);
const SERVER_COMMANDS = ['hedge.dismiss', 'hedge.dismissAll', 'hedge.reanalyse'];
const SUMMARY = 'hedge/summary';
const MAX_TABLE_HOVERS = 200;

let client; // LanguageClient while the server runs
let output; // the "Hedge" output channel
let status; // status bar item
let panel; // token table webview
let summarySupported = true; // false once the server answered "method not found"
let fallbacks = []; // commands registered while no server runs
let statusTimer;
let starting;

// ---------------------------------------------------------------------------------------------
// Settings

function hedgeConfig(scope) {
  return vscode.workspace.getConfiguration('hedge', scope);
}

/** The server's part of the `hedge` section (no serverPath, trace, …), as plain JSON. */
function serverSettings(scope) {
  const cfg = hedgeConfig(scope);
  const out = {};
  for (const key of SERVER_KEYS) {
    const v = cfg.get(key);
    if (v !== undefined && v !== null) out[key] = v;
  }
  return JSON.parse(JSON.stringify(out));
}

/** What the server gets at start: its settings plus `scoring` and `draft`, read from the user's
 *  own settings only (the server takes an endpoint from nowhere else). */
function initializationOptions() {
  const out = serverSettings();
  for (const key of ['scoring', 'draft']) {
    const v = hedgeConfig().inspect(key);
    if (v && v.globalValue) out[key] = JSON.parse(JSON.stringify(v.globalValue));
  }
  return out;
}

function expandHome(p) {
  if (p === '~') return os.homedir();
  if (p.startsWith('~/') || p.startsWith('~\\')) return path.join(os.homedir(), p.slice(2));
  return p;
}

function isExecutable(p) {
  try {
    const st = fs.statSync(p);
    if (!st.isFile()) return false;
    if (process.platform !== 'win32') fs.accessSync(p, fs.constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** `{ command }` for the server, or `{ problem, detail }` saying why there is none. */
function resolveServer() {
  // hedge.serverPath is a restricted setting: in an untrusted workspace VS Code ignores the
  // workspace's own value, so a cloned repository cannot pick the program to run.
  const configured = hedgeConfig().get('serverPath', '');
  if (configured && configured.trim()) {
    let p = expandHome(configured.trim());
    const folder = vscode.workspace.workspaceFolders && vscode.workspace.workspaceFolders[0];
    if (!path.isAbsolute(p) && folder) p = path.join(folder.uri.fsPath, p);
    if (isExecutable(p)) return { command: p };
    return {
      problem: `hedge.serverPath is "${configured}", but there is no executable file there.`,
      detail: 'Point hedge.serverPath at the hedge binary (for example target/release/hedge after "cargo build --release"), or clear it to use "hedge" from PATH.',
    };
  }
  const names = process.platform === 'win32' ? ['hedge.exe', 'hedge.cmd', 'hedge'] : ['hedge'];
  for (const dir of (process.env.PATH || '').split(path.delimiter)) {
    if (!dir) continue;
    for (const n of names) {
      const p = path.join(dir, n);
      if (isExecutable(p)) return { command: p };
    }
  }
  return {
    problem: 'the hedge program was not found: hedge.serverPath is empty and there is no hedge on PATH.',
    detail: 'Install it with "cargo install --path ." in the hedge repository (puts it on PATH), or set hedge.serverPath to the binary.',
  };
}

// ---------------------------------------------------------------------------------------------
// The language client

function documentUriArg(arg) {
  if (arg instanceof vscode.Uri) return arg;
  if (typeof arg === 'string' && arg) return vscode.Uri.parse(arg);
  if (arg && arg.uri instanceof vscode.Uri) return arg.uri; // e.g. a TextDocument
  const ed = vscode.window.activeTextEditor;
  return ed ? ed.document.uri : undefined;
}

function makeClient(command) {
  const serverOptions = { command, args: ['lsp'] };
  const clientOptions = {
    documentSelector: SELECTOR,
    initializationOptions: initializationOptions(),
    outputChannel: output,
    revealOutputChannelOn: RevealOutputChannelOn.Never,
    middleware: {
      workspace: {
        // The server asks for the `hedge` section; it must not see client-only keys.
        configuration: async (params, token, next) => {
          const result = await next(params, token);
          return params.items.map((item, i) => {
            if (item.section !== 'hedge') return result[i];
            const scope = item.scopeUri ? vscode.Uri.parse(item.scopeUri) : undefined;
            return serverSettings(scope);
          });
        },
      },
      // From the palette or a menu the document commands get no (or a vscode.Uri) argument;
      // the server wants the document's URI as a string.
      executeCommand: (command, args, next) => {
        if (DOCUMENT_COMMANDS.has(command)) {
          const uri = documentUriArg(args[0]);
          if (!uri) {
            vscode.window.showInformationMessage('Hedge: open a document first.');
            return undefined;
          }
          args = [client.code2ProtocolConverter.asUri(uri)];
        }
        return next(command, args);
      },
    },
  };
  return new LanguageClient('hedge', 'Hedge', serverOptions, clientOptions);
}

function notRunning() {
  vscode.window
    .showWarningMessage('Hedge: the language server is not running.', 'Restart', 'Show Log')
    .then((choice) => {
      if (choice === 'Restart') vscode.commands.executeCommand('hedge.restartServer');
      if (choice === 'Show Log') output.show(true);
    });
}

/** While no server runs, its commands still answer (the client registers the real ones). */
function registerFallbacks() {
  if (fallbacks.length) return;
  for (const id of SERVER_COMMANDS) {
    try {
      fallbacks.push(vscode.commands.registerCommand(id, notRunning));
    } catch {
      // already registered by a client that is still stopping
    }
  }
}

function disposeFallbacks() {
  for (const d of fallbacks) d.dispose();
  fallbacks = [];
}

async function reportMissing(found) {
  const msg = `Hedge: cannot start the language server: ${found.problem} ${found.detail}`;
  output.appendLine(msg);
  const choice = await vscode.window.showErrorMessage(msg, 'Open Settings', 'Retry');
  if (choice === 'Open Settings') {
    vscode.commands.executeCommand('workbench.action.openSettings', 'hedge.serverPath');
  } else if (choice === 'Retry') {
    restart();
  }
}

async function start() {
  const found = resolveServer();
  if (!found.command) {
    registerFallbacks();
    updateStatus();
    reportMissing(found);
    return;
  }
  output.appendLine(`Starting ${found.command} lsp`);
  summarySupported = true;
  disposeFallbacks();
  const c = makeClient(found.command);
  client = c;
  c.onDidChangeState(() => scheduleStatus());
  try {
    await c.start();
  } catch (e) {
    output.appendLine(`hedge lsp failed to start: ${e && e.message ? e.message : e}`);
    if (client === c) client = undefined;
    registerFallbacks();
    vscode.window
      .showErrorMessage(`Hedge: the language server (${found.command} lsp) failed to start: ${e && e.message ? e.message : e}`, 'Show Log', 'Open Settings')
      .then((choice) => {
        if (choice === 'Show Log') output.show(true);
        if (choice === 'Open Settings') vscode.commands.executeCommand('workbench.action.openSettings', 'hedge.serverPath');
      });
  }
  scheduleStatus();
}

async function stop() {
  const c = client;
  client = undefined;
  if (c) {
    try {
      await c.stop();
    } catch {
      // already gone
    }
  }
  registerFallbacks();
}

/** Stop the server (if any) and start it again; calls queue up, a failure does not block the next. */
function restart() {
  const run = async () => {
    try {
      await stop();
      await start();
    } catch (e) {
      output.appendLine(`restart failed: ${e && e.message ? e.message : e}`);
    }
  };
  starting = (starting || Promise.resolve()).then(run, run);
  return starting;
}

function running() {
  return client && client.state === State.Running ? client : undefined;
}

// ---------------------------------------------------------------------------------------------
// Status bar: perplexity and findings of the active document

function wanted(doc) {
  return doc && vscode.languages.match(SELECTOR, doc) > 0;
}

function hedgeDiagnostics(uri) {
  return vscode.languages
    .getDiagnostics(uri)
    .filter((d) => d.source === 'hedge' && FINDING_CODES.has(String(d.code && d.code.value !== undefined ? d.code.value : d.code)));
}

/** The server's `hedge/summary` for a document, or undefined (not supported, not running). */
async function summary(uri) {
  const c = running();
  if (!c || !summarySupported) return undefined;
  try {
    return await c.sendRequest(SUMMARY, { textDocument: { uri: c.code2ProtocolConverter.asUri(uri) } });
  } catch (e) {
    if (e && e.code === ErrorCodes.MethodNotFound) summarySupported = false;
    else if (client === c && c.state === State.Running) output.appendLine(`${SUMMARY} failed: ${e && e.message ? e.message : e}`);
    return undefined;
  }
}

function plural(n, word) {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

function scheduleStatus(delay = 150) {
  clearTimeout(statusTimer);
  statusTimer = setTimeout(() => updateStatus().catch(() => {}), delay);
}

async function updateStatus() {
  const ed = vscode.window.activeTextEditor;
  if (!ed || !wanted(ed.document)) {
    status.hide();
    return;
  }
  const uri = ed.document.uri;
  if (!running()) {
    status.text = '$(circle-slash) hedge';
    status.tooltip = 'Hedge: the language server is not running (see the Hedge output channel).';
    status.command = 'hedge.restartServer';
    status.show();
    return;
  }
  status.command = 'workbench.actions.view.problems';
  const s = await summary(uri);
  const cur = vscode.window.activeTextEditor;
  if (!cur || cur.document.uri.toString() !== uri.toString()) return; // moved on meanwhile
  const count = hedgeDiagnostics(uri).length;
  const tip = new vscode.MarkdownString('', true);
  if (!s) {
    // No summary (older server): findings from the diagnostics only.
    status.text = `$(pulse) ${plural(count, 'finding')}`;
    tip.appendMarkdown(`**Hedge**: ${plural(count, 'finding')} in this document.`);
  } else if (s.status === 'pending') {
    status.text = '$(sync~spin) hedge';
    tip.appendMarkdown('**Hedge**: analysing…');
    scheduleStatus(500);
  } else if (s.status === 'no-trace') {
    status.text = '$(pulse) hedge: no trace';
    tip.appendMarkdown('**Hedge**: no logprobs for this document. Save the model\'s response as a sidecar beside it, e.g. `NAME.logprobs.json`.');
  } else if (s.status === 'error') {
    status.text = '$(warning) hedge: trace error';
    tip.appendMarkdown('**Hedge**: the logprobs sidecar could not be used; see the Problems panel.');
  } else {
    const findings = typeof s.findings === 'number' ? s.findings : count;
    const ppl = typeof s.perplexity === 'number' ? s.perplexity.toFixed(2) : '–';
    status.text = `$(pulse) ppl ${ppl} · ${plural(findings, 'finding')}`;
    tip.appendMarkdown(`**Hedge**: perplexity ${ppl}`);
    if (typeof s.meanSurprisalBits === 'number') tip.appendMarkdown(`, mean surprisal ${s.meanSurprisalBits.toFixed(2)} bits`);
    if (typeof s.tokens === 'number') {
      const placed = typeof s.alignedTokens === 'number' ? `${s.alignedTokens} of ` : '';
      tip.appendMarkdown(`  \n${placed}${s.tokens} tokens placed in the text`);
    }
    tip.appendMarkdown(`  \n${plural(findings, 'finding')} shown. Click for the Problems panel.`);
  }
  status.tooltip = tip;
  status.show();
}

// ---------------------------------------------------------------------------------------------
// Commands

async function toggleHeatmap() {
  const cfg = hedgeConfig();
  const i = cfg.inspect('heatmap') || {};
  // Change the value where it is set, so the toggle is never shadowed by a more specific one.
  const target =
    i.workspaceFolderValue !== undefined
      ? vscode.ConfigurationTarget.WorkspaceFolder
      : i.workspaceValue !== undefined
        ? vscode.ConfigurationTarget.Workspace
        : vscode.ConfigurationTarget.Global;
  const next = !cfg.get('heatmap', false);
  await cfg.update('heatmap', next, target);
  vscode.window.setStatusBarMessage(`Hedge heatmap ${next ? 'on' : 'off'}`, 2000);
  return next;
}

const WORD = /[\p{L}\p{N}]/u;

/** Offset of the next word start after `offset` in `text`. */
function nextWord(text, offset) {
  let i = offset;
  while (i < text.length && WORD.test(text[i])) i++;
  while (i < text.length && !WORD.test(text[i])) i++;
  return Math.max(i, offset + 1);
}

/** The server's hovers over the selection(s): one per finding or word, in document order. */
async function selectionHovers(c, doc, selections) {
  const text = doc.getText();
  const parts = [];
  const seen = new Set();
  for (const sel of selections) {
    let offset = doc.offsetAt(sel.start);
    const end = sel.isEmpty ? offset + 1 : doc.offsetAt(sel.end);
    while (offset < end && parts.length < MAX_TABLE_HOVERS) {
      const pos = doc.positionAt(offset);
      const h = await c.sendRequest(HoverRequest.type, c.code2ProtocolConverter.asTextDocumentPositionParams(doc, pos));
      let next = nextWord(text, offset);
      if (h && h.contents) {
        const value = typeof h.contents === 'string' ? h.contents : h.contents.value || '';
        const range = h.range ? c.protocol2CodeConverter.asRange(h.range) : new vscode.Range(pos, pos);
        const key = `${doc.offsetAt(range.start)}-${doc.offsetAt(range.end)}`;
        if (!seen.has(key)) {
          seen.add(key);
          parts.push({ range, shown: doc.getText(range).trim(), value });
        }
        if (doc.offsetAt(range.end) > offset) next = Math.max(next, doc.offsetAt(range.end));
      }
      offset = next;
    }
  }
  return parts.sort((a, b) => doc.offsetAt(a.range.start) - doc.offsetAt(b.range.start));
}

/** A hover's pieces: headline, token table (header and rows), the alternatives line. */
function parseHover(value) {
  const lines = value.split('\n');
  const h = lines.findIndex((l) => /^\|\s*token\s*\|/.test(l));
  if (h < 0) return undefined;
  const rows = [];
  for (let i = h + 2; i < lines.length && lines[i].startsWith('|'); i++) rows.push(lines[i]);
  return {
    headline: lines.slice(0, lines.indexOf('')).join(' ').trim(),
    header: lines[h],
    rows,
    alternatives: lines.find((l) => l.startsWith('Alternatives at')),
  };
}

function mdEscape(s) {
  return s.replace(/[\\`*_#[\]|<>]/g, '\\$&');
}

/** Markdown: one table of every token in the selection, then notes on the flagged spans. */
async function tokenTable(editor) {
  const c = running();
  const doc = editor.document;
  const parts = await selectionHovers(c, doc, editor.selections);
  const lines = editor.selections.map((s) => `${s.start.line + 1}` + (s.end.line > s.start.line ? `–${s.end.line + 1}` : ''));
  let md = `# Tokens in ${mdEscape(path.basename(doc.uri.fsPath))}, line ${lines.join(', ')}\n\n`;
  if (!parts.length) return md + '_No analysed tokens here (is there a logprobs sidecar for this document?)._\n';
  const parsed = parts.map((p) => ({ ...p, hover: parseHover(p.value) }));
  const where = (p) => `line ${p.range.start.line + 1}, column ${p.range.start.character + 1}`;
  if (parsed.some((p) => !p.hover)) {
    // A hover this version does not know how to read: show them as they are.
    return md + parsed.map((p) => `## “${mdEscape(p.shown)}”, ${where(p)}\n\n${p.value}`).join('\n\n---\n\n');
  }
  const flagged = hedgeDiagnostics(doc.uri);
  md += `| text ${parsed[0].hover.header}\n|---${parsed[0].hover.header.replace(/[^|]+/g, '---')}\n`;
  for (const p of parsed) {
    p.hover.rows.forEach((row, i) => {
      md += `| ${i === 0 ? `**${mdEscape(p.shown)}**` : ''} ${row}\n`;
    });
  }
  const notes = parsed.filter((p) => / preferred /.test(p.hover.headline) || flagged.some((d) => d.range.intersection(p.range) && !d.range.intersection(p.range).isEmpty));
  if (notes.length) {
    md += '\n## Flagged or not the model\'s first choice\n\n';
    for (const p of notes) {
      md += `- ${where(p)}: ${p.hover.headline}${p.hover.alternatives ? ` ${p.hover.alternatives}` : ''}\n`;
    }
  }
  if (parts.length >= MAX_TABLE_HOVERS) md += `\n_Stopped after ${MAX_TABLE_HOVERS} spans; select less to see the rest._\n`;
  return md;
}

function escapeHtml(s) {
  return s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]);
}

async function renderMarkdown(md) {
  try {
    const html = await vscode.commands.executeCommand('markdown.api.render', md);
    if (typeof html === 'string') return html;
  } catch {
    // the built-in Markdown extension is disabled
  }
  return `<pre>${escapeHtml(md)}</pre>`;
}

async function showTokens() {
  const ed = vscode.window.activeTextEditor;
  if (!ed || !wanted(ed.document)) {
    vscode.window.showInformationMessage('Hedge: select some text in a Markdown, plain-text or JSON document first.');
    return undefined;
  }
  if (!running()) {
    notRunning();
    return undefined;
  }
  const md = await tokenTable(ed);
  const body = await renderMarkdown(md);
  if (!panel) {
    panel = vscode.window.createWebviewPanel('hedge.tokens', 'Hedge: tokens', { viewColumn: vscode.ViewColumn.Beside, preserveFocus: true }, { enableScripts: false, enableFindWidget: true });
    panel.onDidDispose(() => (panel = undefined));
  }
  panel.title = `Hedge: tokens in ${path.basename(ed.document.uri.fsPath)}`;
  panel.webview.html = `<!DOCTYPE html><html><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline';">
<style>
body { font-family: var(--vscode-font-family); font-size: var(--vscode-font-size); color: var(--vscode-foreground); padding: 0 1em; }
code { font-family: var(--vscode-editor-font-family); background: var(--vscode-textCodeBlock-background); padding: 0 .2em; }
table { border-collapse: collapse; margin: .5em 0; }
th, td { border: 1px solid var(--vscode-panel-border, #8884); padding: .15em .6em; text-align: left; }
hr { border: 0; border-top: 1px solid var(--vscode-panel-border, #8884); }
h2 { font-size: 1.1em; }
</style></head><body>${body}</body></html>`;
  panel.reveal(vscode.ViewColumn.Beside, true);
  return md;
}

// ---------------------------------------------------------------------------------------------
// Drafting at the cursor

/** Ask for a prompt, then have the server ask the `hedge.draft` endpoint and insert the answer
 *  (with its logprobs saved as the sidecar) at the cursor. */
async function draftAtCursor() {
  const ed = vscode.window.activeTextEditor;
  if (!ed) {
    vscode.window.showInformationMessage('Hedge: open a document first.');
    return undefined;
  }
  const c = running();
  if (!c) {
    notRunning();
    return undefined;
  }
  const prompt = await vscode.window.showInputBox({
    title: 'Hedge: Draft at Cursor',
    prompt: 'What should the model write here? Its answer is inserted at the cursor, with its logprobs.',
    placeHolder: 'Prompt',
    ignoreFocusOut: true,
  });
  if (!prompt || !prompt.trim()) return undefined;
  const args = [
    c.code2ProtocolConverter.asUri(ed.document.uri),
    c.code2ProtocolConverter.asPosition(ed.selection.active),
    prompt,
  ];
  try {
    return await vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title: 'Hedge: waiting for the model…' },
      () => c.sendRequest(ExecuteCommandRequest.type, { command: 'hedge.draft', arguments: args }),
    );
  } catch (e) {
    vscode.window.showErrorMessage(e && e.message ? e.message : String(e));
    return undefined;
  }
}

// ---------------------------------------------------------------------------------------------

async function activate(context) {
  output = vscode.window.createOutputChannel('Hedge', { log: true }); // languageclient 11 logs through it
  status = vscode.window.createStatusBarItem('hedge.status', vscode.StatusBarAlignment.Right, 100);
  status.name = 'Hedge';
  context.subscriptions.push(
    output,
    status,
    { dispose: disposeFallbacks },
    vscode.commands.registerCommand('hedge.toggleHeatmap', toggleHeatmap),
    vscode.commands.registerCommand('hedge.showTokens', showTokens),
    vscode.commands.registerCommand('hedge.restartServer', restart),
    vscode.commands.registerCommand('hedge.draftAtCursor', draftAtCursor),
    vscode.workspace.onDidChangeConfiguration((e) => {
      if (
        e.affectsConfiguration('hedge.serverPath') ||
        e.affectsConfiguration('hedge.scoring') ||
        e.affectsConfiguration('hedge.draft')
      ) {
        restart();
      } else if (e.affectsConfiguration('hedge')) {
        const c = running();
        if (c) c.sendNotification(DidChangeConfigurationNotification.type, { settings: { hedge: serverSettings() } });
        scheduleStatus(300);
      }
    }),
    vscode.workspace.onDidGrantWorkspaceTrust(() => restart()),
    vscode.window.onDidChangeActiveTextEditor(() => scheduleStatus(50)),
    vscode.languages.onDidChangeDiagnostics((e) => {
      const ed = vscode.window.activeTextEditor;
      if (ed && e.uris.some((u) => u.toString() === ed.document.uri.toString())) scheduleStatus();
    }),
  );
  await restart();
  // For other extensions and tests: what the status bar says, and the server's summary.
  return {
    status: () => ({ text: status.text, tooltip: typeof status.tooltip === 'string' ? status.tooltip : status.tooltip && status.tooltip.value }),
    summary: (uri) => summary(uri),
    refreshStatus: () => updateStatus(),
  };
}

async function deactivate() {
  clearTimeout(statusTimer);
  const c = client;
  client = undefined;
  if (c) await c.stop();
}

module.exports = { activate, deactivate };
