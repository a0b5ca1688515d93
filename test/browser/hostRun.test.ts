/**
 * vitLens.runModelIn = "extensionHost" in the real webview, with this test as the host: the panel asks for the run
 * with each attention output's first row only, draws the first heatmap from those rows, then asks for the rest. The
 * test runs the real ViT-Ti in the host's model thread (src/host/modelThread.ts) and splits its outputs as the panel's
 * host does (src/shared/firstRows.ts), so it can look at the panel between the two replies: the first heatmap's
 * pixels equal the finished panel's, and nothing that needs other rows is drawn before they arrive.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { ROOT } from '../support/fixtures';
import { realModel } from '../support/realModel';
import { modelThreadFromSource } from '../support/modelThread';
import { HeldAttention } from '../../src/shared/firstRows';
import type { HostRun, WebviewRequest, WorkerTensor } from '../../src/shared/protocol';
import { Harness, startHarness } from './harness';

let h: Harness;
const model = realModel();
const thread = modelThreadFromSource();
const held = new HeldAttention();

before(async () => {
  h = await startHarness({ runIn: 'extensionHost' });
});
after(async () => {
  thread.stop();
  await h?.close();
});

type Sent = { id: number; request: WebviewRequest };

/** The next request of `kind` the panel posted after `seen` requests, with its Float32Arrays as plain arrays. */
async function nextRequest(kind: WebviewRequest['kind'], seen: Set<number>): Promise<Sent> {
  for (let i = 0; i < 1200; i++) {
    const found = await h.page.evaluate((k) => {
      const posted = (window as unknown as { __posted: { type: string; id: number; request?: { kind: string; input?: Float32Array } }[] }).__posted;
      return posted.filter((m) => m.type === 'request' && m.request?.kind === k).map((m) => ({ id: m.id, request: { ...m.request, input: m.request!.input && Array.from(m.request!.input) } }));
    }, kind);
    const fresh = found.find((r) => !seen.has(r.id));
    if (fresh) {
      seen.add(fresh.id);
      const r = fresh.request as unknown as WebviewRequest & { input?: number[] };
      return { id: fresh.id, request: (r.kind === 'run' ? { ...r, input: Float32Array.from(r.input as number[]) } : r) as WebviewRequest };
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`the panel never asked for '${kind}'`);
}

/** Replies to request `id` with `value`, its tensors' data crossing as base64 and rebuilt as Float32Arrays in the page. */
async function reply(id: number, value: { tensors: WorkerTensor[] } | WorkerTensor[] | { error: string }): Promise<void> {
  const enc = (xs: WorkerTensor[]) => xs.map((x) => ({ ...x, data: Buffer.from(x.data.buffer, x.data.byteOffset, x.data.byteLength).toString('base64') }));
  const wire = 'error' in value ? value : Array.isArray(value) ? { list: enc(value) } : { ...value, tensors: enc(value.tensors) };
  await h.page.evaluate(({ id, wire }) => {
    // No named functions in here: tsx would wrap them in a helper the page does not have.
    const w = wire as { error?: string; list?: { name: string; dims: number[]; data: string; fullDims?: number[] }[]; tensors?: { name: string; dims: number[]; data: string; fullDims?: number[] }[] };
    if (w.error) {
      window.postMessage({ type: 'reply', id, ok: false, error: { kind: 'inference', message: w.error } }, '*');
      return;
    }
    const xs = (w.list ?? w.tensors!).map((x) => ({ ...x, data: new Float32Array(Uint8Array.from(atob(x.data), (c) => c.charCodeAt(0)).buffer) }));
    window.postMessage({ type: 'reply', id, ok: true, value: w.list ? xs : { ...w, tensors: xs } }, '*');
  }, { id, wire });
}

/** The heatmap canvas's pixels, hashed (FNV-1a), with its hottest patches. */
async function heatmapPixels(): Promise<{ hash: number; hottest: string; lit: number }> {
  return h.page.evaluate(() => {
    const c = document.getElementById('heatmap') as HTMLCanvasElement;
    const d = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
    let hash = 0x811c9dc5;
    let lit = 0;
    for (let i = 0; i < d.length; i++) hash = Math.imul(hash ^ d[i], 16777619) >>> 0;
    for (let i = 3; i < d.length; i += 4) if (d[i] > 0) lit++;
    return { hash, hottest: c.dataset.hottest ?? '', lit };
  });
}

async function runInThread(r: Extract<WebviewRequest, { kind: 'run' }>): Promise<HostRun> {
  const res = await thread.run(r.modelKey, () => ({ parts: [model.bytes, model.graphPatch!] }), r.input, r.inputName, r.dims, r.outputs, 'wasm', r.timeoutMs);
  return { tensors: [...res.tensors.values()], backend: res.backend, threads: res.threads, inferenceMs: res.inferenceMs, sessionMs: res.sessionMs };
}

const seen = new Set<number>();
const image = (name: string) => ({ name, uri: `file:///${name}`, bytes: new Uint8Array(readFileSync(path.join(ROOT, 'samples', name))), mime: 'image/jpeg' });

test('in the extension host: the first heatmap is drawn from row 0 of each layer, equals the finished panel\'s, and the rest comes when asked', async () => {
  // As the host sends it: the drawn parameters follow in their own message, which this test holds back until the end.
  await h.post({ type: 'visualize', backend: 'wasm', runIn: 'extensionHost', model: { ...model, bytes: undefined, parameters: undefined }, image: image('cat_tabby.jpg'), parametersFollow: true });
  const run = await nextRequest('run', seen);
  assert.ok(run.request.kind === 'run');
  assert.deepEqual(run.request.firstRowsOnly, model.attentionOutputs, 'the panel asks for the first rows of every layer');
  const first = held.firstRows(await runInThread(run.request), run.request.firstRowsOnly);
  await reply(run.id, first);

  // Between the two replies: the map, its caption and the predictions are on screen; nothing else is.
  await h.page.waitForFunction(() => document.getElementById('heatmap')?.dataset.shown === 'cat_tabby.jpg', undefined, { timeout: 60_000 });
  const rest = await nextRequest('runRest', seen);
  const early = await heatmapPixels();
  assert.ok(early.lit > 1000, `the first heatmap is drawn (${early.lit} pixels lit)`);
  assert.equal(await h.page.locator('#status').getAttribute('data-state'), 'loading');
  assert.match(await h.page.locator('#status').textContent() ?? '', /Top-1: tabby cat .*Fetching the rest of the attention from the extension host/);
  assert.equal((await h.page.locator('#predictions li .label').allTextContents())[0], 'tabby cat');
  assert.match(await h.page.locator('#view-caption').textContent() ?? '', /^CLS token attention to each patch, layer 12, mean over heads\./);
  assert.equal(await h.page.locator('#overview .cell').count(), 0, 'the layer × head overview waits for the full run');

  assert.ok(rest.request.kind === 'runRest');
  await reply(rest.id, held.rest(rest.request.runId));
  // Not h.waitForState, which also waits for the ideas: they wait for the parameters held back below.
  await h.page.waitForFunction(() => document.getElementById('status')?.dataset.state === 'done', undefined, { timeout: 60_000 });
  const done = await heatmapPixels();
  assert.equal(done.hash, early.hash, 'the first heatmap\'s pixels equal the finished panel\'s');
  assert.equal(done.hottest, early.hottest);
  assert.equal(await h.page.locator('#overview .cell').count(), model.structure.layers * 3);
  assert.match(await h.page.locator('#backend').textContent() ?? '', /Extension host/);

  // A patch as the query needs the other rows, which are here now.
  await h.page.evaluate(() => window.postMessage({ type: 'applyView', view: { selected: { row: 7, col: 7 } } }, '*'));
  await h.page.waitForFunction((b) => (document.getElementById('heatmap')?.dataset.hottest ?? b) !== b, done.hottest);
  assert.match(await h.page.locator('#view-caption').textContent() ?? '', /What patch \(7, 7\) attends to/);

  // A page written for the host never started its own inference worker: no worker script and no 13.6 MB WASM
  // crossed to it or competed with the host's run for the cores.
  const fetched = await h.page.evaluate(() => performance.getEntriesByType('resource').map((r) => r.name.split('/').pop()!));
  assert.ok(!fetched.some((f) => /worker-wasm\.js|\.wasm$/.test(f)), `no worker or WASM fetched: ${fetched.join(', ')}`);

  // The ideas wait for the parameters that were announced, instead of drawing "not stored as plain floats".
  await new Promise((r) => setTimeout(r, 1500));
  assert.equal(await h.page.locator('#ideas').getAttribute('data-state'), 'rendering');
  assert.equal(await h.page.locator('#filters-text').textContent(), '');
  await h.post({ type: 'parameters', modelKey: model.key, parameters: model.parameters! });
  await h.page.waitForFunction(() => document.getElementById('ideas')?.dataset.state === 'ready', undefined, { timeout: 60_000 });
  assert.equal(await h.page.locator('#filters').getAttribute('width'), String(16 * 17));
  assert.match(await h.page.locator('#filters-text').textContent() ?? '', /Conv2d with kernel = stride = 16/);
});

/** Visualizes `name` with the model in the host, answers the run with first rows, and returns the panel's 'runRest'. */
async function firstRowsOf(name: string): Promise<{ id: number; runId: number }> {
  await h.post({ type: 'visualize', backend: 'wasm', runIn: 'extensionHost', model: { ...model, bytes: undefined }, image: image(name) });
  const run = await nextRequest('run', seen);
  assert.ok(run.request.kind === 'run');
  await reply(run.id, held.firstRows(await runInThread(run.request), run.request.firstRowsOnly));
  const rest = await nextRequest('runRest', seen);
  assert.ok(rest.request.kind === 'runRest');
  return { id: rest.id, runId: rest.request.runId };
}

test('in the extension host: a rest that no longer exists is a clear error, and the panel then visualizes the next image', async () => {
  await h.page.evaluate(() => window.postMessage({ type: 'applyView', view: { selected: undefined } }, '*'));
  const rest = await firstRowsOf('dog_beagle.jpg');
  held.clear();
  let message = '';
  try {
    held.rest(rest.runId);
  } catch (e) {
    message = (e as Error).message;
  }
  await reply(rest.id, { error: message });
  await h.waitForState('error');
  assert.match(await h.page.locator('#error').textContent() ?? '', /The panel has moved on: the full attention of that run is no longer held/);

  const again = await firstRowsOf('dog_beagle.jpg');
  await reply(again.id, held.rest(again.runId));
  await h.waitForState('done');
  assert.equal((await h.page.locator('#predictions li .label').allTextContents())[0], 'Beagle');
});
