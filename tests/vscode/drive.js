// Loads code-server's workbench in Debian's Chromium (headless, loopback only), takes the
// screenshots the driver extension asks for, checks what the UI shows (squiggles, status bar,
// hover, heatmap colours) and asserts on what the driver recorded through VS Code's API.
// Environment: PLAYWRIGHT_CORE, PORT, WS, HEDGE_E2E_DIR, SHOT_DIR, CHROMIUM.
'use strict';
const { chromium } = require(process.env.PLAYWRIGHT_CORE || 'playwright-core');
const fs = require('fs');
const path = require('path');

const DIR = process.env.HEDGE_E2E_DIR;
const SHOTS = process.env.SHOT_DIR;
const TIMEOUT_MS = Number(process.env.HEDGE_E2E_TIMEOUT_MS || 150000);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const failures = [];
const ui = {};

function check(ok, what, detail) {
  if (ok) {
    console.log(`  ok    ${what}`);
  } else {
    console.log(`  FAIL  ${what}${detail !== undefined ? `\n        ${typeof detail === 'string' ? detail : JSON.stringify(detail)}` : ''}`);
    failures.push(what);
  }
}

const rgb = (hex) => `rgb(${parseInt(hex.slice(1, 3), 16)}, ${parseInt(hex.slice(3, 5), 16)}, ${parseInt(hex.slice(5, 7), 16)})`;

/** The colours the editor paints text in, with the text painted in each. */
async function editorColours(page) {
  return page.evaluate(() => {
    const out = {};
    for (const el of document.querySelectorAll('.editor-group-container.active .view-lines span span')) {
      const c = getComputedStyle(el).color;
      (out[c] = out[c] || []).push(el.textContent);
    }
    return out;
  });
}

async function onPhase(page, name) {
  if (name === 'literature') {
    // The API has the diagnostics before the editor paints them.
    await page.waitForSelector('.monaco-editor .squiggly-warning', { timeout: 15000 }).catch(() => {});
    await page.waitForFunction(() => [...document.querySelectorAll('.statusbar-item')].some((e) => /ppl/.test(e.textContent)), null, { timeout: 15000 }).catch(() => {});
    await sleep(300);
    ui.squiggles = await page.locator('.monaco-editor .squiggly-warning, .monaco-editor .squiggly-info, .monaco-editor .squiggly-error').count();
    ui.statusItems = await page.locator('.statusbar-item').allInnerTexts();
    await page.screenshot({ path: path.join(SHOTS, 'screenshot.png') });
  } else if (name === 'curie-hover') {
    const hover = page.locator('.monaco-hover:visible');
    await hover.first().waitFor({ timeout: 10000 }).catch(() => {});
    ui.hoverText = (await hover.allInnerTexts()).join('\n');
    await page.screenshot({ path: path.join(SHOTS, 'hover.png') });
  } else if (name === 'missing-server' || name === 'no-server') {
    const says = name === 'missing-server' ? 'but there is no executable file there' : 'there is no hedge on PATH';
    const toast = page.locator('.notification-toast', { hasText: says });
    await toast.first().waitFor({ timeout: 15000 }).catch(() => {});
    ui[name] = (await toast.allInnerTexts()).join('\n');
    await page.screenshot({ path: path.join(SHOTS, `${name}.png`) });
  } else if (name === 'token-table') {
    await sleep(1200); // the webview loads in its own frame
    await page.screenshot({ path: path.join(SHOTS, 'token-table.png') });
  } else if (name === 'heatmap-dark' || name === 'heatmap-light') {
    // Wait for the theme's editor background: light (Light Modern: white) or dark.
    const light = name === 'heatmap-light';
    ui[`${name}-theme`] = await page
      .waitForFunction((wantLight) => {
        const el = document.querySelector('.editor-group-container.active .monaco-editor-background');
        const m = el && /rgb\((\d+), (\d+), (\d+)/.exec(getComputedStyle(el).backgroundColor);
        return m && (Number(m[1]) + Number(m[2]) + Number(m[3]) > 600) === wantLight;
      }, light, { timeout: 15000 })
      .then(() => true, () => false);
    ui[`${name}-background`] = await page.evaluate(() => getComputedStyle(document.querySelector('.editor-group-container.active .monaco-editor-background')).backgroundColor);
    // Semantic tokens are painted a moment after the editor asks for them again.
    const want = ['#A67C00', '#DE4B4B', '#AF52DE'].map(rgb);
    await page.waitForFunction((cols) => {
      const seen = new Set([...document.querySelectorAll('.editor-group-container.active .view-lines span span')].map((e) => getComputedStyle(e).color));
      return cols.every((c) => seen.has(c));
    }, want, { timeout: 15000 }).catch(() => {});
    await sleep(300);
    ui[name] = await editorColours(page);
    await page.screenshot({ path: path.join(SHOTS, `${name}.png`) });
  }
}

function sortDiags(ds) {
  return [...ds].sort((a, b) => a.range[0] - b.range[0] || a.range[1] - b.range[1] || String(a.code).localeCompare(String(b.code)));
}

function assertResult(r) {
  const expectedFor = (name) => JSON.parse(fs.readFileSync(path.join(DIR, `expected-${name}.json`), 'utf8')).files[0];
  const expected = expectedFor('literature-review.md');
  check(!r.error, 'the driver ran without error', r.error);
  check(r.vscodeVersion === '1.100.3', `VS Code is 1.100.3 (got ${r.vscodeVersion})`);
  if (r.error) return;

  // The shipped example: exactly the CLI's findings, as diagnostics with the same ranges.
  const want = sortDiags(expected.findings.map((f) => ({
    code: f.code,
    severity: f.severity,
    range: [f.range.start.line, f.range.start.character, f.range.end.line, f.range.end.character],
    message: f.message,
  })));
  const got = sortDiags(r.literature.diagnostics);
  check(got.length === want.length && JSON.stringify(got) === JSON.stringify(want),
    `literature-review.md: ${want.length} diagnostics with the CLI's codes, ranges, severities and messages`,
    { got: got.slice(0, 3), want: want.slice(0, 3), gotCount: got.length });
  const codes = [...new Set(got.map((d) => d.code))].sort();
  console.log(`        codes shown: ${codes.join(', ')}`);
  const statusWant = `ppl ${expected.summary.perplexity.toFixed(2)} · ${expected.findings.length} findings`;
  check(r.literature.status.text.includes(statusWant), `status bar says "${statusWant}"`, r.literature.status);
  check(ui.squiggles > 0, `squiggles drawn in the editor (${ui.squiggles} decorations)`);
  check((ui.statusItems || []).some((t) => t.includes(statusWant)), 'the status bar in the UI shows it', ui.statusItems);

  for (const [name, lang] of [['response.json', 'json'], ['chat-log.jsonl', 'jsonl']]) {
    const got2 = r.selfContained[name];
    // A log holds one trace per response: the CLI reports each as a file of its own.
    const all = JSON.parse(fs.readFileSync(path.join(DIR, `expected-${name}.json`), 'utf8')).files.flatMap((f) => f.findings);
    const want2 = all.map((f) => `${f.code} ${[f.range.start.line, f.range.start.character, f.range.end.line, f.range.end.character]}`).sort();
    const seen = got2.diagnostics.map((d) => `${d.code} ${d.range}`).sort();
    check(got2.languageId === lang && JSON.stringify(seen) === JSON.stringify(want2),
      `${name} (language ${lang}): the CLI's findings ${JSON.stringify(want2)}`, { languageId: got2.languageId, seen });
  }

  // curie.md: the two known findings, exactly.
  const curie = sortDiags(r.curie.diagnostics).map((d) => ({ code: d.code, range: d.range }));
  check(JSON.stringify(curie) === JSON.stringify([
    { code: 'low-probability', range: [4, 34, 4, 38] },
    { code: 'uncertain-citation', range: [4, 83, 4, 107] },
  ]), 'curie.md: low-probability on "1867" (4:34-38) and uncertain-citation on "(Becquerel et al., 1903)" (4:83-107)', curie);
  const hover = r.curie.hovers.join('\n---\n');
  check(hover.includes('The model gave **1867** 3% and preferred “1868” (41%)'), 'hover at 4:36 (API): "The model gave **1867** 3% and preferred “1868” (41%)"', hover.slice(0, 300));
  check((ui.hoverText || '').includes('The model gave 1867 3% and preferred “1868” (41%)'), 'hover shown in the UI, rendered', (ui.hoverText || '').slice(0, 300));
  const table = r.curie.tokenTable || '';
  check(/^\| text \| token \| p \|/m.test(table) && /^\| \*\*Warsaw\*\* \| `.Warsaw` \| \d+% \|/m.test(table) && /^\| +\| `67` \| 3% \|/m.test(table)
    && table.includes('The model gave **1867** 3% and preferred “1868” (41%)'),
    'Hedge: Show Token Table: one table for "Marie Curie … 1867." (Warsaw, `67` at 3%) and a note on 1867', table.slice(0, 600));

  // The heatmap setting changes the semantic tokens.
  const h = r.heatmap;
  const types = ['hedgeLikely', 'hedgePlausible', 'hedgeUnlikely', 'hedgeRare'];
  check(JSON.stringify(h.before.legend) === JSON.stringify(types), 'semantic token legend is the four hedge types', h.before.legend);
  check(h.settingBefore === false && h.before.tokens.length === 0, 'heatmap off: no semantic tokens', h.before.tokens.length);
  check(h.toggledTo === true && h.settingAfter === true, 'Hedge: Toggle Heatmap turns hedge.heatmap on');
  check(h.after.tokens.length > 0, `heatmap on: ${h.after.tokens.length} semantic tokens in curie.md`);
  const t1867 = h.after.tokens.find((t) => t.line === 4 && t.char <= 36 && 36 < t.char + t.length);
  check(t1867 && t1867.type === 'hedgeUnlikely', 'the token "67" of "1867" (p = 3%) is hedgeUnlikely', t1867);
  const counts = {};
  for (const t of h.literature.tokens) counts[t.type] = (counts[t.type] || 0) + 1;
  check(types.every((t) => counts[t] > 0), `all four types occur in literature-review.md ${JSON.stringify(counts)}`);
  check(h.toggledBack === false && h.offAgain.tokens.length === 0, 'toggled off again: no semantic tokens');
  for (const name of ['heatmap-dark', 'heatmap-light']) {
    check(ui[`${name}-theme`], `${name}: the workbench shows a ${name.slice(8)} theme`);
    const colours = Object.keys(ui[name] || {});
    const want2 = ['#A67C00', '#DE4B4B', '#AF52DE'].map(rgb);
    check(want2.every((c) => colours.includes(c)), `${name}: the editor paints the heatmap colours`, colours);
  }

  // Commands on the server.
  check(r.afterReanalyse.length === 2, 'Hedge: Re-analyse Document keeps the findings');
  const titles = (r.codeActions || []).map((a) => a.title);
  check(titles.includes('Dismiss this hedge finding (low-probability)') && titles.includes('Dismiss all hedge findings in this file'),
    'quick fixes on "1867": dismiss it, dismiss all', titles);
  check(r.afterDismissOne.length === 1 && r.afterDismissOne[0].code === 'uncertain-citation', 'the "Dismiss" quick fix hides that finding only', r.afterDismissOne);
  check(r.afterDismissAll.length === 0, 'Hedge: Dismiss All Findings in File (from the palette) clears them');
  check(/0 findings/.test(r.statusAfterDismissAll.text), `status bar after dismissing: "${r.statusAfterDismissAll.text}"`);
  const toast = (n) => ui[n] || '';
  check(/hedge\.serverPath is "\/nonexistent\/hedge", but there is no executable file there\. Point hedge\.serverPath at the hedge binary/.test(toast('missing-server')) && /Open Settings/.test(toast('missing-server')),
    'a wrong hedge.serverPath: an error notification says what to do', toast('missing-server'));
  check(/the hedge program was not found: hedge\.serverPath is empty and there is no hedge on PATH\. Install it with "cargo install --path \."/.test(toast('no-server')),
    'no serverPath and no hedge on PATH: an error notification says how to install it', toast('no-server'));
  check(r.fromPath && /ppl/.test(r.fromPath.text), `with hedge on PATH and no serverPath the server starts ("${r.fromPath && r.fromPath.text}")`);
}

(async () => {
  fs.mkdirSync(SHOTS, { recursive: true });
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-dev-shm-usage',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-default-apps',
      '--disable-sync',
      '--no-first-run',
      '--no-pings',
      '--metrics-recording-only',
      // Loopback only: every other host name fails to resolve.
      '--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1',
    ],
  });
  let code = 1;
  const page = await browser.newPage({ viewport: { width: 1280, height: 760 } });
  // The workbench reports problems with an extension's manifest in the browser console.
  const consoleProblems = [];
  page.on('console', (m) => {
    const t = m.text();
    // (the notifications the test provokes on purpose are logged there too)
    if ((m.type() === 'warning' || m.type() === 'error') && /hedge/i.test(t) && !/^Hedge: cannot start the language server/.test(t)) consoleProblems.push(t);
  });
  try {
    await page.goto(`http://127.0.0.1:${process.env.PORT}/?folder=${encodeURIComponent(process.env.WS)}`);
    const done = new Set();
    const start = Date.now();
    const out = path.join(DIR, 'result.json');
    while (!fs.existsSync(out)) {
      if (Date.now() - start > TIMEOUT_MS) throw new Error(`no result after ${TIMEOUT_MS / 1000} s`);
      for (const f of fs.readdirSync(DIR)) {
        const m = /^phase-(.+)\.json$/.exec(f);
        if (m && !done.has(m[1])) {
          done.add(m[1]);
          await onPhase(page, m[1]);
          fs.writeFileSync(path.join(DIR, `ack-${m[1]}`), '');
        }
      }
      await sleep(100);
    }
    const r = JSON.parse(fs.readFileSync(out, 'utf8'));
    console.log(`VS Code ${r.vscodeVersion}, hedge extension ${r.hedgeVersion}`);
    assertResult(r);
    check(consoleProblems.length === 0, 'no warnings about hedge in the browser console', consoleProblems);
    code = failures.length ? 1 : 0;
    if (failures.length) console.log(`${failures.length} check(s) failed`);
  } catch (e) {
    console.log(`drive.js: ${e && e.stack ? e.stack : e}`);
    await page.screenshot({ path: path.join(SHOTS, 'failure.png') }).catch(() => {});
    console.log(`screenshot of the failure: ${path.join(SHOTS, 'failure.png')}`);
  } finally {
    await browser.close();
  }
  process.exit(code);
})();
