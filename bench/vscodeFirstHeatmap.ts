/**
 * `npm run bench:vscode`: time to first heatmap in the real VS Code of the end-to-end tests (code-server +
 * headless Chromium). Cold: a fresh panel (model read and instrumented, WASM compiled, session created, run).
 * Cold with the model kept: a new panel after one that has kept a copy of the model in its storage.
 * Warm: the next image in the same panel (session reused). Medians of 3 cycles, from the command to the
 * webview's data-state="done". Needs `npm run build && npm run package` and scripts/install-code-server.sh.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Frame, Page } from 'playwright-core';
import { launchBrowser, REPO_ROOT, startCodeServer } from '../test/vscode/codeServer';
import type { RunModelIn } from '../src/shared/protocol';
import { StartInHost } from '../src/host/startInHost';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/**
 * VITLENS_BENCH_QUICK=1: one cycle per model and nothing written, for trying a change. VITLENS_BENCH_DEBUG=1 prints
 * the page's resource timings; VITLENS_BENCH_PROFILE=1 writes the workbench's CPU profile of each cold run to /tmp.
 * VITLENS_BENCH_SERVER_ARGS: extra code-server arguments, space-separated (e.g. --disable-websocket-compression).
 */
const QUICK = !!process.env.VITLENS_BENCH_QUICK;
// VITLENS_BENCH_CYCLES: more cycles for an A/B of two builds (VITLENS_BENCH_VSIX: the other build's .vsix).
const CYCLES = Number(process.env.VITLENS_BENCH_CYCLES) || (QUICK ? 1 : 3);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** Runs a quick-input entry; returns the time of the click that runs it (driver time before it is not counted). */
async function runCommand(page: Page, key: 'F1' | 'Control+P', text: string, row: string): Promise<number> {
  for (let attempt = 0; attempt < 20; attempt++) {
    await page.keyboard.press(key);
    const input = page.locator('.quick-input-box input');
    if (await input.fill(text, { timeout: 3000 }).then(() => true, () => false)) {
      const item = page.locator('.quick-input-list .monaco-list-row', { hasText: row }).first();
      if (await item.waitFor({ state: 'visible', timeout: 4000 }).then(() => true, () => false)) {
        const t = performance.now();
        await item.click(); // not Enter: the highlighted row may still be a recent entry
        return t;
      }
    }
    await page.keyboard.press('Escape');
    await sleep(1000);
  }
  throw new Error(`could not run "${text}"`);
}

async function panelFrame(page: Page): Promise<Frame> {
  for (let i = 0; i < 240; i++) {
    for (const f of page.frames()) if (await f.$('#vit-lens-app').catch(() => null)) return f;
    await sleep(250);
  }
  throw new Error('no ViT Lens panel');
}

/**
 * Polls until the panel shows `image` done: when its first heatmap was on screen (with the model in the host it is
 * drawn from each layer's first row) and when the panel said done (status; with first rows, the rest of the attention
 * crosses only when a view asks).
 */
async function doneFor(page: Page, image: string): Promise<{ first: number; done: number }> {
  let first = NaN;
  for (let i = 0; i < 600; i++) {
    const f = await panelFrame(page);
    const s = await f.evaluate((img) => ({
      shown: (document.getElementById('heatmap')?.dataset.shown ?? '') === img,
      done: document.getElementById('status')?.dataset.state === 'done' && (document.getElementById('image-name')?.textContent ?? '').includes(img),
    }), image).catch(() => ({ shown: false, done: false }));
    if (s.shown && Number.isNaN(first)) first = performance.now();
    if (s.done) return { first: Number.isNaN(first) ? performance.now() : first, done: performance.now() };
    await sleep(50);
  }
  const f = await panelFrame(page);
  const st = await f.evaluate(() => `${document.getElementById('status')?.dataset.state}: ${document.getElementById('status')?.textContent} / ${document.getElementById('image-name')?.textContent} / ${document.getElementById('error')?.textContent}`).catch((e) => String(e));
  throw new Error(`${image} never finished (${st})`);
}

/** The panel's own marks for the cold run, in ms since the webview started loading. */
async function marks(page: Page): Promise<Record<string, number>> {
  const f = await panelFrame(page);
  const m = await f.evaluate(() => {
    const marks = Object.fromEntries(performance.getEntriesByType('mark').filter((m) => m.name.startsWith('vitlens-')).map((m) => [m.name.slice(8), Math.round(m.startTime)]));
    const res = performance.getEntriesByType('resource') as PerformanceResourceTiming[];
    const js = res.find((r) => r.name.includes('main.js'));
    const nav = performance.getEntriesByType('navigation')[0] as PerformanceNavigationTiming | undefined;
    const detail = JSON.stringify({ nav, res: res.map((r) => [r.name.slice(-40), Math.round(r.startTime), Math.round(r.responseEnd)]) });
    const timing = document.getElementById('timing')?.textContent ?? '';
    return { ...marks, detail, timeOrigin: performance.timeOrigin, inference: Number(/Inference (\d+) ms/.exec(timing)?.[1] ?? NaN), session: Number(/session created in (\d+) ms/.exec(timing)?.[1] ?? NaN), warmUp: Number(/warmed up in (\d+) ms/.exec(timing)?.[1] ?? NaN), htmlReceived: Math.round(nav?.responseEnd ?? NaN), mainJsStart: Math.round(js?.startTime ?? NaN), mainJsLoaded: Math.round(js?.responseEnd ?? NaN) };
  });
  const { detail, ...times } = m;
  if (process.env.VITLENS_BENCH_DEBUG) console.log(detail);
  return times as Record<string, number>;
}

/**
 * Opens `image`, runs Visualize Active Image in a new panel and waits for its heatmap: the time from the click and
 * the panel's marks. `profile`: a file for the workbench's CPU profile of it.
 */
async function coldStart(page: Page, image: string, profile?: string): Promise<{ ms: number; doneMs: number; phases: Record<string, number> }> {
  await runCommand(page, 'Control+P', image, image);
  await sleep(1500);
  const cdp = profile ? await page.context().newCDPSession(page) : undefined;
  if (cdp) { await cdp.send('Profiler.enable'); await cdp.send('Profiler.setSamplingInterval', { interval: 1000 }); await cdp.send('Profiler.start'); }
  const t0 = await runCommand(page, 'F1', '>ViT Lens: Visualize Active Image', 'Visualize Active Image');
  const clicked = Date.now() - (performance.now() - t0);
  const at = await doneFor(page, image);
  if (cdp) fs.writeFileSync(profile!, JSON.stringify((await cdp.send('Profiler.stop')).profile));
  const p = await marks(page);
  // The page's clock starts when it starts loading: how long after the click that was.
  return { ms: at.first - t0, doneMs: at.done - t0, phases: { ...p, pageStart: Math.round(p.timeOrigin - clicked) } };
}

/**
 * The next image as the "right-click → first heatmap" has it: Visualize Image from the Explorer's context
 * menu, no tab opened. Timed by the page's own marks (ms after the click), not by this script's polling, which
 * lags the screen by up to a poll and a round trip.
 */
async function fromExplorerMenu(page: Page, image: string): Promise<Record<string, number>> {
  const row = page.locator('.explorer-folders-view .monaco-list-row', { hasText: image }).first();
  const item = page.getByRole('menuitem', { name: /^(ViT Lens: )?Visualize Image$/ }).first();
  for (let i = 0; i < 5; i++) {
    await row.click({ button: 'right' });
    if (await item.waitFor({ state: 'visible', timeout: 3000 }).then(() => true, () => false)) break;
    await page.keyboard.press('Escape');
  }
  await item.hover();
  await sleep(300);
  const t = performance.now();
  await item.click();
  const clicked = Date.now() - (performance.now() - t);
  await doneFor(page, image);
  const w = await marks(page);
  const since = (k: string) => Math.round(w.timeOrigin + w[k] - clicked);
  // With the model in the host the first heatmap is drawn from first rows (its own mark, this run's if after its
  // visualize mark); in the panel, when done.
  const first = since(w['first-heatmap'] >= w.visualize ? 'first-heatmap' : 'drawn');
  return { first, visualize: since('visualize'), running: since('running'), ran: since('ran'), inference: w.inference, draw: first - since('ran') };
}

/**
 * cold, warm, kept: to the first heatmap; `complete`: to the panel's status done; `patch`: from selecting a patch on
 * the warm image to its map (in the host, the rest of the attention crosses then).
 */
interface Measured { name: string; cold: number[]; warm: number[]; kept: number[]; patch: number[]; menu: Record<string, number>[]; menuAfterHandOver: Record<string, number>[]; complete: { cold: number[]; warm: number[]; kept: number[] }; phases: Record<string, number>[]; warmPhases: Record<string, number>[]; keptPhases: Record<string, number>[] }

/**
 * Three cold/warm cycles with `modelPath` ('' = the bundled default, the ImageNet ViT-Ti/16) in a fresh code-server,
 * the model run where `runIn` says (vitLens.runModelIn). In the host, "kept" is a new panel on the model the host's
 * thread already holds.
 */
async function measure(vsix: string, name: string, modelPath: string, runIn: RunModelIn): Promise<Measured> {
  const ws = fs.mkdtempSync(path.join(os.tmpdir(), 'vit-lens-bench-'));
  const images = ['cat_tabby.jpg', 'dog_beagle.jpg', 'pizza.jpg', 'shuttle.jpg'];
  for (const f of images) fs.copyFileSync(path.join(REPO_ROOT, 'samples', f), path.join(ws, f));
  const extraArgs = (process.env.VITLENS_BENCH_SERVER_ARGS ?? '').split(' ').filter(Boolean);
  // VITLENS_BENCH_SETTINGS: more settings as JSON, e.g. '{"vitLens.startInExtensionHost": false}' for an A/B.
  const more = JSON.parse(process.env.VITLENS_BENCH_SETTINGS ?? '{}') as Record<string, unknown>;
  // Whether a new panel's first images run in the host: the extension's own rule, on the file's size (bundled: small).
  const size = !modelPath || modelPath.startsWith('bundled:') ? 0 : fs.statSync(modelPath).size;
  const startsInHost = new StartInHost().place({ runModelIn: runIn, startInExtensionHost: more['vitLens.startInExtensionHost'] !== false, backend: more['vitLens.backend'] === 'webgpu' ? 'webgpu' : 'auto' }, 'bench', size).handOver;
  const server = await startCodeServer({ folder: ws, vsix, extraArgs, settings: { 'vitLens.runModelIn': runIn, ...(modelPath ? { 'vitLens.modelPath': modelPath } : {}), ...more } });
  const browser = await launchBrowser();
  const m: Measured = { name, cold: [], warm: [], kept: [], patch: [], menu: [], menuAfterHandOver: [], complete: { cold: [], warm: [], kept: [] }, phases: [], warmPhases: [], keptPhases: [] };
  try {
    const page = await (await browser.browser.newContext({ viewport: { width: 1440, height: 900 } })).newPage();
    // The panel's own warnings (a hand-over that failed says why only there) and refused requests, shown on a failure.
    const consoleLines: string[] = [];
    page.on('console', (msg) => { if (msg.text().startsWith('ViT Lens')) consoleLines.push(`${msg.type()}: ${msg.text()}`); });
    page.context().on('response', (r) => { if (r.status() >= 400) consoleLines.push(`HTTP ${r.status()} ${r.url()}`); });
    await page.goto(server.folderUrl, { timeout: 60_000 });
    await page.locator('.part.statusbar').waitFor({ timeout: 90_000 });
    await sleep(4000);
    for (let cycle = 0; cycle < CYCLES; cycle++) {
      // A first-time cold start: the panel keeps no copy of the model (code-server serves webviews from the
      // workbench's origin, so the page can delete the panel's database).
      await page.evaluate(() => new Promise((r) => { const q = indexedDB.deleteDatabase('vit-lens-models'); q.onsuccess = q.onerror = q.onblocked = () => r(null); }));
      const cold = await coldStart(page, images[0], process.env.VITLENS_BENCH_PROFILE ? `/tmp/vitlens-${name.replace(/\W+/g, '_')}.cpuprofile` : undefined);
      m.cold.push(cold.ms);
      m.complete.cold.push(cold.doneMs);
      m.phases.push(cold.phases);
      await sleep(500);
      const t1 = await runCommand(page, 'Control+P', images[1 + (cycle % 3)], images[1 + (cycle % 3)]);
      const clicked1 = Date.now() - (performance.now() - t1);
      const warm = await doneFor(page, images[1 + (cycle % 3)]);
      m.warm.push(warm.first - t1);
      m.complete.warm.push(warm.done - t1);
      // The latest marks are the warm run's: ms after the click.
      const w = await marks(page);
      const since = (k: string) => Math.round(w.timeOrigin + w[k] - clicked1);
      // A patch as the query on the warm image: with the model in the host, the rest of the attention crosses now.
      const f = await panelFrame(page);
      const t2 = performance.now();
      await f.evaluate(() => window.postMessage({ type: 'applyView', view: { selected: { row: 5, col: 5 } } }, '*'));
      await f.waitForFunction(() => /\(5, 5\)/.test(document.getElementById('view-caption')?.textContent ?? ''), undefined, { timeout: 120_000, polling: 20 });
      m.patch.push(performance.now() - t2);
      await f.evaluate(() => window.postMessage({ type: 'applyView', view: { selected: undefined } }, '*'));
      m.menu.push(await fromExplorerMenu(page, images[1 + ((cycle + 1) % 3)]));
      // A new panel's first images run in the host (vitLens.startInExtensionHost) until the panel has taken the model
      // over: one more image once it has, run in the panel.
      if (startsInHost) {
        const pf = await panelFrame(page);
        await pf.waitForFunction(() => !!document.getElementById('vit-lens-app')?.dataset.handOver, undefined, { timeout: 30_000 }).catch((e: unknown) => {
          console.log(`the panel did not take the model over:\n${consoleLines.join('\n')}`);
          throw e;
        });
        m.menuAfterHandOver.push(await fromExplorerMenu(page, images[1 + ((cycle + 2) % 3)]));
      }
      m.warmPhases.push({ visualize: since('visualize'), running: since('running'), ran: since('ran'), 'first-heatmap': since('first-heatmap'), drawn: since('drawn'), inference: w.inference });
      // The panel keeps a copy of the model in its storage after the first heatmap: wait until it has decided.
      if (runIn === 'webview') await (await panelFrame(page)).waitForFunction(() => !!document.getElementById('vit-lens-app')?.dataset.kept, undefined, { timeout: 120_000 });
      // Close every editor, the panel included, so the next start is cold again: now with the model kept.
      await runCommand(page, 'F1', '>View: Close All Editors', 'Close All Editors');
      await sleep(1500);
      const kept = await coldStart(page, images[0]);
      m.kept.push(kept.ms);
      m.complete.kept.push(kept.doneMs);
      m.keptPhases.push(kept.phases);
      await runCommand(page, 'F1', '>View: Close All Editors', 'Close All Editors');
      await sleep(1500);
    }
  } finally {
    await browser.close();
    await server.stop();
  }
  return m;
}

async function main(): Promise<void> {
  const vsix = process.env.VITLENS_BENCH_VSIX ?? path.join(REPO_ROOT, 'dist/vit-lens.vsix');
  if (!fs.existsSync(vsix)) throw new Error('run npm run build && npm run package first');
  // The bundled default (the real ViT-Ti/16), the shapes demo, and the random ViT-S/16 and ViT-B/16 of
  // `npm run bench` when they were built.
  const models: [string, string][] = [['ImageNet ViT-Ti/16 (bundled default)', ''], ['demo ViT', 'bundled:vit-demo']];
  for (const [name, file] of [['ViT-S/16 (random)', 'vit-s16.onnx'], ['ViT-B/16 (random)', 'vit-b16.onnx']]) {
    const f = path.join(REPO_ROOT, '.cache/bench-models', file);
    if (fs.existsSync(f)) models.push([name, f]);
  }
  // VITLENS_BENCH_ONLY=ViT-B: only the models whose name contains it.
  const only = process.env.VITLENS_BENCH_ONLY;
  const lines: string[] = [];
  // Both places a model can run, side by side (the demo only in the panel: it is tiny either way).
  // VITLENS_BENCH_PLACE=extensionHost (or webview): only that place.
  const place = process.env.VITLENS_BENCH_PLACE;
  for (const [label, file, runIn] of models.filter(([n]) => !only || n.includes(only)).flatMap(([n, f]) => (n.startsWith('demo') ? ['webview' as const] : ['webview' as const, 'extensionHost' as const]).filter((r) => !place || r === place).map((r) => [n, f, r] as const))) {
    const name = `${label}, ${runIn === 'webview' ? 'run in the panel' : 'run in the extension host'}`;
    console.log(`[bench:vscode ${new Date().toISOString().slice(11, 19)}] ${name}…`);
    const m = await measure(vsix, name, file, runIn);
    const med = (k: string) => median(m.phases.map((p) => p[k] ?? NaN));
    const wmed = (k: string) => median(m.warmPhases.map((p) => p[k] ?? NaN));
    const kmed = (k: string) => median(m.keptPhases.map((p) => p[k] ?? NaN));
    const mmed = (k: string) => median(m.menu.map((p) => p[k] ?? NaN));
    const amed = (k: string) => median(m.menuAfterHandOver.map((p) => p[k] ?? NaN));
    const afterHandOver = m.menuAfterHandOver.length ? `; the next image from the context menu once the panel had taken the model over from the host (run in the panel) **${amed('first')} ms** (${m.menuAfterHandOver.map((p) => p.first).join(', ')}; image received ${amed('visualize')}, run done ${amed('ran')}, inference ${amed('inference')}, draw ${amed('draw')}: ${(amed('first') / (amed('inference') + amed('draw'))).toFixed(2)} × (inference + draw))` : '';
    lines.push(`${name}: cold **${median(m.cold).toFixed(0)} ms** (${m.cold.map((v) => v.toFixed(0)).join(', ')}), cold with the model kept by the panel **${median(m.kept).toFixed(0)} ms** (${m.kept.map((v) => v.toFixed(0)).join(', ')}; page started ${kmed('pageStart')} ms after the click, the kept copy read ${kmed('kept-read')} ms and the run done ${kmed('ran')} ms after that), warm **${median(m.warm).toFixed(0)} ms** (${m.warm.map((v) => v.toFixed(0)).join(', ')}); the panel done (status): cold ${median(m.complete.cold).toFixed(0)} ms, kept ${median(m.complete.kept).toFixed(0)} ms, warm ${median(m.complete.warm).toFixed(0)} ms; a patch selected on the warm image to its map ${median(m.patch).toFixed(0)} ms (${m.patch.map((v) => v.toFixed(0)).join(', ')}); cold breakdown: the panel's page started loading ${med('pageStart')} ms after the click; then, in ms after that: main.js requested ${med('mainJsStart')}, script ran ${med('script')}, ready sent ${med('ready')}, model and image received ${med('visualize')}, run done (decode, session, inference) ${med('ran')}, first heatmap from first rows ${med('first-heatmap')}, panel done ${med('drawn')}; the run reported session creation ${med('session')} ms (the host's warm-up run ${med('warmUp')} ms) and inference ${med('inference')} ms; the next image from the Explorer's context menu (no tab opened; the page's clock) **${mmed('first')} ms** (${m.menu.map((p) => p.first).join(', ')}; image received ${mmed('visualize')}, decoded ${mmed('running')}, run done ${mmed('ran')}, inference ${mmed('inference')}, run done to first heatmap ${mmed('draw')}: ${(mmed('first') / (mmed('inference') + mmed('draw'))).toFixed(2)} × (inference + draw))${afterHandOver}; warm breakdown, ms after the click: image received ${wmed('visualize')}, decoded and running ${wmed('running')}, run done ${wmed('ran')} (inference ${wmed('inference')}), first heatmap from first rows ${wmed('first-heatmap')}, panel done ${wmed('drawn')}.`);
    console.log(lines[lines.length - 1]);
  }
  const line = `Visualize Active Image to first heatmap in VS Code (code-server 4.100.3; medians of 3; from the command's click to the heatmap; cold = a new panel that has never seen the model; cold with the model kept = a new panel after one that has (vitLens.modelCacheMB; in the host: the model thread's session kept); warm = the next image in the same panel, including opening its tab): ${lines.join(' ')}`;
  if (QUICK) return;
  const results = path.join(REPO_ROOT, 'bench/RESULTS.md');
  const text = fs.existsSync(results) ? fs.readFileSync(results, 'utf8').replace(/\n- Visualize Active Image to first heatmap.*\n/, '\n') : '# ViT Lens benchmark\n';
  fs.writeFileSync(results, `${text.trimEnd()}\n- ${line}\n`);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
