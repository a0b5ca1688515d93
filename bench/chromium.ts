/**
 * The benchmark's headless-Chromium half, on the panel's own page and worker (test/browser/harness.ts):
 * onnxruntime-web inference plain vs instrumented (two workers, interleaved), the longest gap between painted
 * frames while the panel runs a model, and the panel's redraw time when the layer or head changes.
 */
import type { Page } from 'playwright-core';
import type { ModelPayload, ViewState } from '../src/shared/protocol';
import { Harness, startHarness } from '../test/browser/harness';

export interface InferenceCase {
  name: string;
  /** URL paths (served from the repo) of the plain and the instrumented model. */
  plainUrl: string;
  instrumentedUrl: string;
  inputName: string;
  size: number;
  logits: string;
  outputs: string[];
  runs: number;
}

export interface InferenceTimes { plain: number[]; instrumented: number[]; sessionMs: { plain: number; instrumented: number } }

export async function withChromium<T>(serve: string[], body: (h: Harness) => Promise<T>): Promise<T> {
  const h = await startHarness({ serve });
  // tsx (esbuild keepNames) wraps named functions in __name(...); functions sent to the page need it defined.
  await h.page.evaluate('window.__name = (f) => f');
  try {
    return await body(h);
  } finally {
    await h.close();
  }
}

/** Median-ready timings of `c.runs` interleaved runs per case, in the panel's worker bundle (WASM, 1 thread). */
export async function chromiumInference(page: Page, cases: InferenceCase[]): Promise<Map<string, InferenceTimes>> {
  const out = new Map<string, InferenceTimes>();
  for (const c of cases) {
    const r = await page.evaluate(async ({ c }) => {
      // As the panel does: the worker from a blob (CSP worker-src blob:), the WASM binary by URL.
      const src = await (await fetch('/dist/webview/worker-wasm.js')).text();
      const url = URL.createObjectURL(new Blob([src], { type: 'text/javascript' }));
      const wasmUrl = new URL('/dist/webview/ort-wasm-simd-threaded.wasm', location.href).toString();
      const call = (w: Worker, msg: Record<string, unknown>, transfer: Transferable[]) => new Promise<{ inferenceMs: number; sessionMs: number }>((resolve, reject) => {
        w.onmessage = (e: MessageEvent<{ type: string; error?: { message: string }; inferenceMs: number; sessionMs: number }>) => {
          if (e.data.type === 'result') resolve(e.data);
          else if (e.data.type === 'error') reject(new Error(e.data.error?.message));
        };
        w.postMessage(msg, transfer);
      });
      const [plainBytes, instBytes] = await Promise.all([c.plainUrl, c.instrumentedUrl].map(async (u) => new Uint8Array(await (await fetch(u)).arrayBuffer())));
      const wp = new Worker(url), wi = new Worker(url);
      const base = { type: 'run', inputName: c.inputName, dims: [1, 3, c.size, c.size], backend: 'wasm', wasmUrl, threads: 1 };
      const input = () => new Float32Array(3 * c.size * c.size).fill(0.1);
      const run = (w: Worker, id: number, key: string, outputs: string[], bytes?: Uint8Array) => {
        const x = input();
        return call(w, { ...base, id, modelKey: key, modelBytes: bytes, input: x, outputs }, bytes ? [bytes.buffer, x.buffer] : [x.buffer]);
      };
      const p0 = await run(wp, 0, 'plain', [c.logits], plainBytes);
      const i0 = await run(wi, 0, 'inst', c.outputs, instBytes);
      const plain: number[] = [], instrumented: number[] = [];
      for (let k = 1; k <= c.runs; k++) {
        plain.push((await run(wp, k, 'plain', [c.logits])).inferenceMs);
        instrumented.push((await run(wi, k, 'inst', c.outputs)).inferenceMs);
      }
      wp.terminate();
      wi.terminate();
      return { plain, instrumented, sessionMs: { plain: p0.sessionMs, instrumented: i0.sessionMs } };
    }, { c });
    out.set(c.name, r);
  }
  return out;
}

/** A visualize message whose model bytes the page fetches itself (large models cannot cross page.evaluate). */
async function visualizeFetched(page: Page, model: ModelPayload, modelUrl: string, image: { name: string; bytes: number[]; mime: string }, modelCacheBytes = 0): Promise<void> {
  await page.evaluate(async ({ model, modelUrl, image, modelCacheBytes }) => {
    const bytes = new Uint8Array(await (await fetch(modelUrl)).arrayBuffer());
    const msg = { type: 'visualize', backend: 'wasm', model: { ...model, bytes }, image: { ...image, uri: 'file:///bench.png', bytes: new Uint8Array(image.bytes) }, modelCacheBytes };
    document.getElementById('status')!.dataset.state = 'posted';
    window.postMessage(msg, '*');
  }, { model: { ...model, bytes: undefined }, modelUrl, image, modelCacheBytes });
}

/**
 * The longest interval between animation frames on the panel's main thread from posting an image until the
 * heatmap is drawn (inference runs in the worker; decoding, reading outputs and drawing run here).
 */
export async function frameGaps(h: Harness, model: ModelPayload, modelUrl: string, image: { name: string; bytes: number[]; mime: string }, keep?: { bytesId: string; budget: number }): Promise<{ maxGapMs: number; inferenceGapMs: number; keepGapMs: number; keepMs: number; frames: number; totalMs: number }> {
  await h.page.evaluate(() => {
    const w = window as unknown as { __frames: number[]; __on: boolean };
    w.__frames = [performance.now()];
    w.__on = true;
    const tick = (t: number) => {
      w.__frames.push(t);
      if (w.__on) requestAnimationFrame(tick);
    };
    requestAnimationFrame(tick);
  });
  const t0 = Date.now();
  await visualizeFetched(h.page, keep ? { ...model, bytesId: keep.bytesId } : model, modelUrl, image, keep?.budget);
  await h.waitForState('done', 600_000);
  const totalMs = Date.now() - t0;
  // With `keep`: the page then keeps a copy of the model in its storage; frames are counted until it has.
  if (keep) await h.page.waitForFunction(() => !!document.getElementById('vit-lens-app')!.dataset.kept, undefined, { timeout: 600_000 });
  return h.page.evaluate((totalMs) => {
    const w = window as unknown as { __frames: number[]; __on: boolean };
    w.__on = false;
    const f = w.__frames;
    const mark = (n: string) => performance.getEntriesByName(n).pop()?.startTime ?? NaN;
    const [from, to, drawn] = [mark('vitlens-running'), mark('vitlens-ran'), mark('vitlens-drawn')];
    let maxGapMs = 0, inferenceGapMs = 0, keepGapMs = 0;
    for (let i = 1; i < f.length; i++) {
      const gap = f[i] - f[i - 1];
      if (f[i] <= drawn) maxGapMs = Math.max(maxGapMs, gap);
      // Frames painted while the worker ran the model (a gap overlapping that interval counts).
      if (f[i] > from && f[i - 1] < to) inferenceGapMs = Math.max(inferenceGapMs, gap);
      // After the heatmap: the ideas render, then (with keep) the copy is stored.
      if (f[i - 1] >= drawn) keepGapMs = Math.max(keepGapMs, gap);
    }
    return { maxGapMs, inferenceGapMs, keepGapMs, keepMs: f[f.length - 1] - drawn, frames: f.length, totalMs };
  }, totalMs);
}

/** The panel's own redraw time (heatmap view maths + canvas drawing) for `views`, after a run is shown. */
export async function redrawTimes(h: Harness, views: Partial<ViewState>[]): Promise<number[]> {
  const times: number[] = [];
  for (const view of views) {
    await h.page.evaluate(() => delete document.getElementById('heatmap')!.dataset.redrawMs);
    await h.post({ type: 'applyView', view });
    await h.page.waitForFunction(() => document.getElementById('heatmap')!.dataset.redrawMs !== undefined);
    times.push(Number(await h.page.locator('#heatmap').getAttribute('data-redraw-ms')));
  }
  return times;
}

export { visualizeFetched };
