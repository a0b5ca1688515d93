/**
 * vitLens.runModelIn = "extensionHost" in the real webview, with this test as the host: the panel asks for the run
 * with each attention output's first row only, works on those rows, and asks for the rest only when a view needs
 * other rows. The test runs the real ViT-Ti in the host's model thread (src/host/modelThread.ts) and splits its
 * outputs as the panel's host does (src/shared/firstRows.ts), so it can look at the panel before the rest: its CLS
 * maps equal those drawn from the whole run, and nothing that needs other rows is drawn before they arrive.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { ROOT } from '../support/fixtures';
import { realModel } from '../support/realModel';
import { modelThreadFromSource } from '../support/modelThread';
import { HeldAttention } from '../../src/shared/firstRows';
import { prepareModel, type PreparedModel } from '../../src/shared/prepareModel';
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
  const dbg = await h.page.evaluate(() => JSON.stringify({ posted: (window as unknown as { __posted: { type: string; request?: { kind: string } }[] }).__posted.map((m) => m.request?.kind ?? m.type), status: document.getElementById('status')?.textContent, ideas: document.getElementById('ideas')?.dataset.state, err: document.getElementById('error')?.textContent }));
  throw new Error(`the panel never asked for '${kind}': ${dbg}`);
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

async function runInThread(r: Extract<WebviewRequest, { kind: 'run' }>, m: PreparedModel = model): Promise<HostRun> {
  const res = await thread.run(r.modelKey, () => ({ parts: m.graphPatch ? [m.bytes, m.graphPatch] : [m.bytes] }), r.input, r.inputName, r.dims, r.outputs, 'wasm', r.timeoutMs);
  return { tensors: [...res.tensors.values()], backend: res.backend, threads: res.threads, inferenceMs: res.inferenceMs, sessionMs: res.sessionMs };
}

const seen = new Set<number>();
const image = (name: string) => ({ name, uri: `file:///${name}`, bytes: new Uint8Array(readFileSync(path.join(ROOT, 'samples', name))), mime: 'image/jpeg' });

/** Requests of `kind` the panel has posted so far. */
async function countRequests(kind: WebviewRequest['kind']): Promise<number> {
  return h.page.evaluate((k) => (window as unknown as { __posted: { type: string; request?: { kind: string } }[] }).__posted.filter((m) => m.type === 'request' && m.request?.kind === k).length, kind);
}

/** Answers the ideas' next 'attentionDistance' request as the panel's host does, from the matrices it holds. */
async function answerDistances(): Promise<number[][]> {
  const d = await nextRequest('attentionDistance', seen);
  assert.ok(d.request.kind === 'attentionDistance');
  const r = d.request;
  const value = await held.distances(r.runId, r.names, r.grid, r.prefix, r.patchSize);
  await h.page.evaluate(({ id, value }) => window.postMessage({ type: 'reply', id, ok: true, value }, '*'), { id: d.id, value });
  return value;
}

test('in the extension host: the panel works on row 0 of each layer, and the rest crosses only when a view needs other rows', async () => {
  // As the host sends it: the drawn parameters follow in their own message, which this test holds back.
  await h.post({ type: 'visualize', backend: 'wasm', runIn: 'extensionHost', model: { ...model, bytes: undefined, parameters: undefined }, image: image('cat_tabby.jpg'), parametersFollow: true });
  const run = await nextRequest('run', seen);
  assert.ok(run.request.kind === 'run');
  assert.deepEqual(run.request.firstRowsOnly, model.attentionOutputs, 'the panel asks for the first rows of every layer');
  const first = held.firstRows(await runInThread(run.request), run.request.firstRowsOnly);
  await reply(run.id, first);

  // On first rows the panel is done: the CLS map, its caption, the predictions, the controls and the overview.
  await h.page.waitForFunction(() => document.getElementById('status')?.dataset.state === 'done', undefined, { timeout: 60_000 });
  const early = await heatmapPixels();
  assert.ok(early.lit > 1000, `the first heatmap is drawn (${early.lit} pixels lit)`);
  assert.equal(await h.page.locator('#heatmap').getAttribute('data-shown'), 'cat_tabby.jpg');
  assert.match(await h.page.locator('#status').textContent() ?? '', /Top-1: tabby cat/);
  assert.equal((await h.page.locator('#predictions li .label').allTextContents())[0], 'tabby cat');
  assert.match(await h.page.locator('#view-caption').textContent() ?? '', /^CLS token attention to each patch, layer 12, mean over heads\./);
  assert.equal(await h.page.locator('#overview .cell').count(), model.structure.layers * 3, 'the layer × head overview of CLS attention needs row 0 only');
  assert.match(await h.page.locator('#backend').textContent() ?? '', /Extension host/);
  // Another layer and head of CLS attention: still row 0.
  await h.page.evaluate(() => window.postMessage({ type: 'applyView', view: { layer: 3, head: '1' } }, '*'));
  await h.page.waitForFunction(() => /layer 4, head 2/.test(document.getElementById('view-caption')?.textContent ?? ''));
  await h.page.evaluate(() => window.postMessage({ type: 'applyView', view: { layer: 11, head: 'mean' } }, '*'));
  await h.page.waitForFunction(() => /layer 12, mean over heads/.test(document.getElementById('view-caption')?.textContent ?? ''));

  // The ideas' attention distance comes from the host, computed over the full matrices it holds; the ideas also
  // wait for the parameters that were announced, instead of drawing "not stored as plain floats".
  const distances = await answerDistances();
  assert.equal(distances.length, 12);
  await new Promise((r) => setTimeout(r, 1000));
  assert.equal(await h.page.locator('#ideas').getAttribute('data-state'), 'rendering');
  assert.equal(await h.page.locator('#filters-text').textContent(), '');
  await h.post({ type: 'parameters', modelKey: model.key, parameters: model.parameters! });
  await h.page.waitForFunction(() => document.getElementById('ideas')?.dataset.state === 'ready', undefined, { timeout: 60_000 });
  assert.equal(await h.page.locator('#filters').getAttribute('width'), String(16 * 17));
  assert.match(await h.page.locator('#filters-text').textContent() ?? '', /Conv2d with kernel = stride = 16/);
  assert.match(await h.page.locator('#distance-text').textContent() ?? '', /Mean attention distance of each head \(dots\) by layer, for this image: .* in layer 1, .* in layer 12\./);
  assert.equal(await countRequests('runRest'), 0, 'no view has needed the other rows yet');

  // A patch as the query needs the other rows: the panel waits for them, then draws.
  await h.page.evaluate(() => window.postMessage({ type: 'applyView', view: { selected: { row: 7, col: 7 } } }, '*'));
  const rest = await nextRequest('runRest', seen);
  assert.match(await h.page.locator('#view-caption').textContent() ?? '', /Waiting for the full attention matrices from the extension host/);
  assert.ok(rest.request.kind === 'runRest');
  await reply(rest.id, held.rest(rest.request.runId));
  await h.page.waitForFunction(() => /What patch \(7, 7\) attends to/.test(document.getElementById('view-caption')?.textContent ?? ''), undefined, { timeout: 60_000 });
  // Back on CLS, from the whole run now: the same pixels as from first rows.
  await h.page.evaluate(() => window.postMessage({ type: 'applyView', view: { selected: undefined } }, '*'));
  await h.page.waitForFunction(() => /^CLS token attention/.test(document.getElementById('view-caption')?.textContent ?? ''));
  const whole = await heatmapPixels();
  assert.equal(whole.hash, early.hash, 'the map from first rows equals the map from the whole run');
  assert.equal(whole.hottest, early.hottest);
  await h.page.evaluate(() => window.postMessage({ type: 'applyView', view: { mode: 'rollout' } }, '*'));
  await h.page.waitForFunction(() => /rollout/i.test(document.getElementById('view-caption')?.textContent ?? ''));
  assert.equal(await countRequests('runRest'), 1, 'the rest crossed once');
  await h.page.evaluate(() => window.postMessage({ type: 'applyView', view: { mode: 'attention' } }, '*'));

  // A page written for the host never started its own inference worker: no worker script and no 13.6 MB WASM
  // crossed to it or competed with the host's run for the cores.
  const fetched = await h.page.evaluate(() => performance.getEntriesByType('resource').map((r) => r.name.split('/').pop()!));
  assert.ok(!fetched.some((f) => /worker-wasm\.js|\.wasm$/.test(f)), `no worker or WASM fetched: ${fetched.join(', ')}`);
});

/** Visualizes `name` with the model in the host, answers the run with first rows, selects a patch, and returns the panel's 'runRest'. */
async function firstRowsOf(name: string): Promise<{ id: number; runId: number }> {
  // With a patch selected the panel would ask for the whole run at once.
  await h.page.evaluate(() => window.postMessage({ type: 'applyView', view: { selected: undefined } }, '*'));
  await h.post({ type: 'visualize', backend: 'wasm', runIn: 'extensionHost', model: { ...model, bytes: undefined }, image: image(name) });
  const run = await nextRequest('run', seen);
  assert.ok(run.request.kind === 'run');
  await reply(run.id, held.firstRows(await runInThread(run.request), run.request.firstRowsOnly));
  await answerDistances();
  await h.page.evaluate(() => window.postMessage({ type: 'applyView', view: { selected: { row: 2, col: 3 } } }, '*'));
  const rest = await nextRequest('runRest', seen);
  assert.ok(rest.request.kind === 'runRest');
  return { id: rest.id, runId: rest.request.runId };
}

test('in the extension host: a rest that no longer exists is a clear error, and the panel then visualizes the next image', async () => {
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
  await h.page.waitForFunction(() => /What patch \(2, 3\) attends to/.test(document.getElementById('view-caption')?.textContent ?? ''), undefined, { timeout: 60_000 });
});

test('in the extension host, DeiT: the distillation token\'s row is fetched right after the first paint; its card waits for it, then shows both heads as in PyTorch', async () => {
  const own = JSON.parse(readFileSync(path.join(ROOT, 'models/deit-demo.json'), 'utf8')) as Record<string, unknown>;
  const deit = prepareModel(new Uint8Array(readFileSync(path.join(ROOT, 'models/deit-demo.onnx'))), 'deit-demo.onnx', 'deit-host', { own });
  const index = JSON.parse(readFileSync(path.join(ROOT, 'models/reference/deit-demo/index.json'), 'utf8')) as { fixtures: { name: string; clsTop1: string; distTop1: string }[] };
  const bytes = new Uint8Array(readFileSync(path.join(ROOT, 'test/fixtures/images/shapes-circle.png')));
  await h.page.evaluate(() => window.postMessage({ type: 'applyView', view: { selected: undefined, mode: 'attention' } }, '*'));
  await h.post({ type: 'visualize', backend: 'wasm', runIn: 'extensionHost', model: { ...deit, bytes: undefined }, image: { name: 'shapes-circle.png', uri: 'file:///c.png', bytes, mime: 'image/png' } });
  const run = await nextRequest('run', seen);
  assert.ok(run.request.kind === 'run');
  assert.deepEqual(run.request.firstRowsOnly, deit.attentionOutputs);
  await reply(run.id, held.firstRows(await runInThread(run.request, deit), run.request.firstRowsOnly));
  // No view asked, but the distillation card reads row 1: the panel asks at once, and the card says it waits.
  const rest = await nextRequest('runRest', seen);
  await h.page.waitForFunction(() => document.getElementById('status')?.dataset.state === 'done', undefined, { timeout: 60_000 });
  assert.match(await h.page.locator('#distill-text').textContent() ?? '', /Waiting for the full attention matrices from the extension host/);
  assert.equal(await h.page.locator('#distill-out figure').count(), 0);
  assert.ok(rest.request.kind === 'runRest');
  await reply(rest.id, held.rest(rest.request.runId));
  await answerDistances();
  const out = h.page.locator('#distill-out');
  await h.page.waitForFunction(() => document.querySelectorAll('#distill-out figure').length === 2, undefined, { timeout: 60_000 });
  const ref = index.fixtures.find((f) => f.name === 'shapes-circle')!;
  assert.equal(await out.getAttribute('data-cls-top1'), ref.clsTop1, 'CLS head top-1 as in PyTorch');
  assert.equal(await out.getAttribute('data-dist-top1'), ref.distTop1, 'distillation head top-1 as in PyTorch');
  assert.match(await h.page.locator('#distill-text').textContent() ?? '', /the CLS head says/);
});
