#!/usr/bin/env node
/*
 * Stands in for the VS Code executable for @vscode/test-electron where desktop VS Code cannot be downloaded
 * (offline CI). runTests() spawns `node code-server-shim.js [folder] --extensionDevelopmentPath=… 
 * --extensionTestsPath=… --user-data-dir=… --extensions-dir=… …`; this script starts code-server (the same
 * VS Code 1.100.3 workbench, with a Node extension host) on a free port, opens the folder in headless
 * Chromium with the extension-development/tests payload, and exits with the code the test runner reports
 * through window.codeAutomationExit. See shared/E2E.md.
 *
 * Env: VITLENS_SHIM_TIMEOUT_MS (default 600000), VITLENS_CODE_SERVER_LOG=1 (code-server output),
 *      VITLENS_SHIM_PAGE_LOG=all (every browser console line, not only the extension host's).
 */
'use strict';
const path = require('path');
const util = require('util');
require('tsx/cjs'); // lets this plain-JS entry reuse the TypeScript helpers
const { startCodeServer, launchBrowser } = require('../vscode/codeServer.ts');

function parseArgs(argv) {
  const out = { dev: [], tests: undefined, userDataDir: undefined, extensionsDir: undefined, folder: undefined, ignored: [] };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const m = /^--([^=]+)(?:=(.*))?$/.exec(a);
    if (!m) { out.folder = path.resolve(a); continue; }
    const [, key, inline] = m;
    const takesValue = ['extensionDevelopmentPath', 'extensionTestsPath', 'user-data-dir', 'extensions-dir'].includes(key);
    const value = takesValue ? (inline ?? argv[++i]) : inline;
    if (key === 'extensionDevelopmentPath') out.dev.push(path.resolve(value));
    else if (key === 'extensionTestsPath') out.tests = path.resolve(value);
    else if (key === 'user-data-dir') out.userDataDir = path.resolve(value);
    else if (key === 'extensions-dir') out.extensionsDir = path.resolve(value);
    else out.ignored.push(a); // --no-sandbox, --disable-updates, --skip-welcome, --disable-extensions …
  }
  return out;
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  if (!args.tests) throw new Error('code-server-shim: --extensionTestsPath is required');
  const timeoutMs = Number(process.env.VITLENS_SHIM_TIMEOUT_MS || 600_000);
  const log = (m) => process.stderr.write(`[code-server-shim] ${m}\n`);

  const server = await startCodeServer({
    folder: args.folder,
    userDataDir: args.userDataDir,
    extensionsDir: args.extensionsDir,
    tmpPrefix: 'vit-lens-shim-',
  });
  let browser;
  let printing = Promise.resolve();
  let finishing = false;
  const finish = async (code, why) => {
    if (finishing) return;
    finishing = true;
    await Promise.race([printing, new Promise((r) => setTimeout(r, 2000))]);
    if (why) log(why);
    await (browser && browser.close());
    await server.stop();
    process.exit(code);
  };
  process.on('SIGINT', () => finish(130, 'interrupted'));
  process.on('SIGTERM', () => finish(143, 'terminated'));
  const timer = setTimeout(() => finish(1, `no result within ${timeoutMs} ms\n${server.logs().slice(-4000)}`), timeoutMs);
  timer.unref();

  const authority = `${server.host}:${server.port}`;
  const remote = (p) => `vscode-remote://${authority}${p.split(path.sep).join('/')}`;
  const payload = [
    ...args.dev.map((p) => ['extensionDevelopmentPath', remote(p)]),
    ['extensionTestsPath', remote(args.tests)],
  ];
  const query = args.folder ? `folder=${encodeURIComponent(args.folder)}` : 'ew=true';
  const url = `${server.url}?${query}&payload=${encodeURIComponent(JSON.stringify(payload))}`;
  log(`code-server ${server.url}; extension(s) ${args.dev.join(', ')}; tests ${args.tests}`);

  browser = await launchBrowser();
  const page = await browser.browser.newPage();
  const all = process.env.VITLENS_SHIM_PAGE_LOG === 'all';
  // The extension host's console (mocha's reporter) is mirrored into the page console as
  // ('%c LEVEL', 'color: …', format, …args). Print it from the suite's start marker on, in order.
  let started = false;
  page.on('console', (msg) => {
    const handles = msg.args();
    printing = printing.then(async () => {
      let vals = await Promise.all(handles.map((h) => h.jsonValue().catch(() => String(h))));
      const forwarded = typeof vals[0] === 'string' && /^%c\s*(INFO|ERR|WARN|TRACE|DEBUG)/.test(vals[0]);
      if (forwarded) vals = vals.slice(2);
      const text = vals.length ? util.format(...vals) : msg.text();
      if (text.includes('[vit-lens-tests]')) started = true;
      if (all || (started && forwarded)) process.stdout.write(text + '\n');
    }).catch(() => undefined);
  });
  page.on('pageerror', (e) => log(`page error: ${e.message}`));
  await page.exposeFunction('codeAutomationExit', (code) => {
    clearTimeout(timer);
    setTimeout(() => finish(typeof code === 'number' ? code : 1, `test run finished with exit code ${code}`), 0);
  });
  await page.goto(url, { timeout: 60_000 });
}

main().catch((e) => {
  process.stderr.write(`[code-server-shim] ${e && e.stack || e}\n`);
  process.exit(1);
});
