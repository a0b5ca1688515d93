/**
 * Serves the real webview bundle with the real panel HTML and CSP from a local HTTP server, with a
 * stand-in for `acquireVsCodeApi`, and drives it in headless Debian Chromium (playwright-core).
 */
import type { L10nBundle } from '../../src/shared/l10n';
import { createServer, Server } from 'node:http';
import { readFileSync, existsSync, statSync } from 'node:fs';
import { AddressInfo } from 'node:net';
import * as path from 'node:path';
import { chromium, Browser, Page } from 'playwright-core';
import { visualizeHtml } from '../../src/host/webviewHtml';
import { inspectorHtml } from '../../src/host/inspectorHtml';
import type { HostToWebview, RunModelIn, WebviewToHost } from '../../src/shared/protocol';

const ROOT = path.resolve(__dirname, '../..');
const TYPES: Record<string, string> = { '.js': 'text/javascript', '.css': 'text/css', '.wasm': 'application/wasm', '.ttf': 'font/ttf', '.svg': 'image/svg+xml' };

/** Stand-in for VS Code's webview API: records posted messages; the test delivers host messages. */
const VSCODE_STUB = `
window.__posted = [];
window.__state = undefined;
window.acquireVsCodeApi = () => ({
  postMessage: (m) => { window.__posted.push(m); },
  getState: () => window.__state,
  setState: (s) => { window.__state = s; },
});`;

export interface Harness {
  page: Page;
  browser: Browser;
  url: string;
  post(msg: HostToWebview): Promise<void>;
  posted(): Promise<WebviewToHost[]>;
  waitForState(state: 'done' | 'error', timeoutMs?: number): Promise<void>;
  /** The paths the page (and its workers) fetched from the test's server so far. */
  served(): string[];
  close(): Promise<void>;
}

/** VS Code's default themes, as test/browser/theme-<name>.css: Dark Modern, Light Modern, Dark High Contrast, Light High Contrast. */
export type HarnessTheme = 'dark' | 'light' | 'hc-dark' | 'hc-light';
/** The class and theme kind VS Code puts on a webview's body for each kind of theme. */
const THEME_BODY: Record<HarnessTheme, { cls: string; kind: string }> = {
  dark: { cls: 'vscode-dark', kind: 'vscode-dark' },
  light: { cls: 'vscode-light', kind: 'vscode-light' },
  'hc-dark': { cls: 'vscode-high-contrast', kind: 'vscode-high-contrast' },
  'hc-light': { cls: 'vscode-high-contrast vscode-high-contrast-light', kind: 'vscode-high-contrast-light' },
};

export async function startHarness(opts: {
  webgpu?: boolean;
  chromiumArgs?: string[];
  /** Extra URL path prefixes served from the repo (the benchmark's models). */
  serve?: string[];
  /** Theme variables to load (default: dark). */
  theme?: HarnessTheme;
  /** The visualize panel (default) or the sidebar Inspector (dist/webview/sidebar.js with inspectorHtml). */
  page?: 'panel' | 'sidebar';
  viewport?: { width: number; height: number };
  /** A translated bundle the page is given, as `vscode.l10n.bundle` would be. */
  l10nBundle?: L10nBundle;
  /** vitLens.runModelIn as the host writes it into the page (default: webview). */
  runIn?: RunModelIn;
  /** As the host writes it for a page whose first run may be the host's (src/host/startInHost.ts). */
  warmUpAtStart?: boolean;
} = {}): Promise<Harness> {
  const theme = opts.theme ?? 'dark';
  const body = THEME_BODY[theme];
  // VS Code marks the body with the theme's class and kind before the page's scripts run.
  const themeScript = `document.addEventListener('DOMContentLoaded', () => { document.body.classList.add(...${JSON.stringify(body.cls.split(' '))}); document.body.dataset.vscodeThemeKind = ${JSON.stringify(body.kind)}; }, { once: true });`;
  if (!existsSync(path.join(ROOT, 'dist/webview/main.js'))) throw new Error('dist/webview/main.js missing: run `npm run build` first.');
  const nonce = 'testnonce' + Math.random().toString(36).slice(2);
  let origin = '';
  const served: string[] = [];
  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', origin);
    served.push(url.pathname);
    if (url.pathname === '/') {
      const assets = { cspSource: origin, styleUri: `${origin}/media/vitLens.css`, codiconUri: `${origin}/dist/webview/codicons/codicon.css` };
      const pageHtml = opts.page === 'sidebar' ? inspectorHtml({ ...assets, scriptUri: `${origin}/dist/webview/sidebar.js` }, { nonce, l10nBundle: opts.l10nBundle }) : visualizeHtml({
        ...assets,
        scriptUri: `${origin}/dist/webview/main.js`,
        wasmWorkerUri: `${origin}/dist/webview/worker-wasm.js`,
        wasmBinaryUri: `${origin}/dist/webview/ort-wasm-simd-threaded.wasm`,
        webgpuWorkerUri: `${origin}/dist/webview/worker-webgpu.js`,
        webgpuBinaryUri: `${origin}/dist/webview/ort-wasm-simd-threaded.asyncify.wasm`,
      }, { nonce, allowWebgpuEval: !!opts.webgpu, l10nBundle: opts.l10nBundle, runIn: opts.runIn, warmUpAtStart: opts.warmUpAtStart });
      const html = pageHtml
        .replace(`<script nonce="${nonce}"`, `<script nonce="${nonce}">${VSCODE_STUB}${themeScript}</script>\n<script nonce="${nonce}"`)
        .replace('</head>', `<link rel="stylesheet" href="${origin}/test/browser/theme-${theme}.css">\n</head>`);
      res.writeHead(200, { 'content-type': 'text/html' });
      res.end(html);
      return;
    }
    const file = path.join(ROOT, decodeURIComponent(url.pathname));
    const allowed = /^\/(dist|media|test\/browser)\//.test(url.pathname) || (opts.serve ?? []).some((p) => url.pathname.startsWith(p));
    if (!file.startsWith(ROOT) || !existsSync(file) || !statSync(file).isFile() || !allowed) {
      res.writeHead(404);
      res.end();
      return;
    }
    res.writeHead(200, { 'content-type': TYPES[path.extname(file)] ?? 'application/octet-stream' });
    res.end(readFileSync(file));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', ...(opts.chromiumArgs ?? [])],
  });
  const page = await browser.newPage({ viewport: opts.viewport ?? { width: 900, height: 760 } });
  const consoleLines: string[] = [];
  page.on('console', (m) => consoleLines.push(`${m.type()}: ${m.text()}`));
  page.on('pageerror', (e) => consoleLines.push(`pageerror: ${e.message}`));
  await page.goto(origin + '/');
  await page.waitForFunction(() => (window as unknown as { __posted: { type: string }[] }).__posted.some((m) => m.type === 'ready'), undefined, { timeout: 30000 });
  return {
    page,
    browser,
    url: origin,
    post: async (msg) => {
      // Mark the status so a wait that follows sees this message's outcome, not the previous one.
      await page.evaluate((m: HostToWebview) => {
        if (m.type === 'visualize') document.getElementById('status')!.dataset.state = 'posted';
        window.postMessage(m, '*');
      }, msg);
    },
    posted: () => page.evaluate(() => (window as unknown as { __posted: WebviewToHost[] }).__posted),
    waitForState: async (state, timeoutMs = 120000) => {
      try {
        await page.waitForFunction((s) => {
          const st = document.getElementById('status')?.dataset.state;
          return st === s || (st === 'error' && s !== 'error');
        }, state, { timeout: timeoutMs });
      } catch (e) {
        throw new Error(`${(e as Error).message}\nconsole:\n${consoleLines.join('\n')}`);
      }
      const st = await page.evaluate(() => document.getElementById('status')?.dataset.state);
      if (st !== state) {
        const err = await page.evaluate(() => document.getElementById('error')?.textContent);
        throw new Error(`webview ended in state ${st}: ${err}\nconsole:\n${consoleLines.join('\n')}`);
      }
      // 'done' is the first heatmap; the teaching views below it render right after.
      if (state === 'done') await page.waitForFunction(() => document.getElementById('ideas')?.dataset.state === 'ready', undefined, { timeout: timeoutMs });
    },
    served: () => [...served],
    close: async () => {
      await browser.close();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}
