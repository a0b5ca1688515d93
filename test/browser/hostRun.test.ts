/**
 * vitLens.runModelIn = "extensionHost" in the real webview, with this test as the host: the panel asks for the run
 * with each attention output's first row only, works on those rows, and asks for the rest only when a view needs
 * other rows. The test runs the real ViT-Ti in the host's model thread (src/host/modelThread.ts) and splits its
 * outputs as the panel's host does (src/shared/firstRows.ts), so it can look at the panel before the rest: its CLS
 * maps equal those drawn from the whole run, and nothing that needs other rows is drawn before they arrive.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { ROOT } from '../support/fixtures';
import { realModel } from '../support/realModel';
import { modelThreadFromSource } from '../support/modelThread';
import { HeldAttention } from '../../src/shared/firstRows';
import { prepareModel, type PreparedModel } from '../../src/shared/prepareModel';
import type { AheadMissed, HostRun, WebviewRequest, WorkerTensor } from '../../src/shared/protocol';
import { decodeJpeg } from '../../src/host/decodeJpeg';
import { canRunAhead, pixelsSha256, RunAhead } from '../../src/host/runAhead';
import { decodePng } from '../../src/host/decodePng';
import { readImageHeader } from '../../src/shared/imageHeader';
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
      return { id: fresh.id, request: (r.kind === 'run' ? { ...r, input: r.input && Float32Array.from(r.input) } : r) as WebviewRequest };
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  const dbg = await h.page.evaluate(() => JSON.stringify({ posted: (window as unknown as { __posted: { type: string; request?: { kind: string } }[] }).__posted.map((m) => m.request?.kind ?? m.type), status: document.getElementById('status')?.textContent, ideas: document.getElementById('ideas')?.dataset.state, err: document.getElementById('error')?.textContent }));
  throw new Error(`the panel never asked for '${kind}': ${dbg}`);
}

/** Replies to request `id` with `value`, its tensors' data crossing as base64 and rebuilt as Float32Arrays in the page. */
async function reply(id: number, value: { tensors: WorkerTensor[] } | WorkerTensor[] | { error: string } | AheadMissed): Promise<void> {
  const enc = (xs: WorkerTensor[]) => xs.map((x) => ({ ...x, data: Buffer.from(x.data.buffer, x.data.byteOffset, x.data.byteLength).toString('base64') }));
  if ('differs' in value) {
    await h.page.evaluate(({ id, value }) => window.postMessage({ type: 'reply', id, ok: true, value }, '*'), { id, value });
    return;
  }
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
  assert.ok(r.input, 'a run request without an input');
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

const WASM = path.join(ROOT, 'node_modules/@jsquash/jpeg/codec/dec/mozjpeg_dec.wasm');

/** The image as the page decodes it (src/webview/imageInput.ts): the file's own values, the EXIF orientation applied. */
async function pageDecode(bytes: Uint8Array, mime: string): Promise<{ width: number; height: number; sha256: string }> {
  return h.page.evaluate(async ({ b64, mime }) => {
    const bin = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
    const bm = await createImageBitmap(new Blob([bin], { type: mime }), { imageOrientation: 'from-image', colorSpaceConversion: 'none', premultiplyAlpha: 'none' });
    const c = new OffscreenCanvas(bm.width, bm.height);
    const x = c.getContext('2d')!;
    x.drawImage(bm, 0, 0);
    const d = new Uint8Array(await crypto.subtle.digest('SHA-256', x.getImageData(0, 0, bm.width, bm.height).data));
    return { width: bm.width, height: bm.height, sha256: Array.from(d, (v) => v.toString(16).padStart(2, '0')).join('') };
  }, { b64: Buffer.from(bytes).toString('base64'), mime });
}

test('the extension host decodes JPEGs to the same pixels as the page, bit for bit: baseline, progressive, 4:2:0 to 4:4:4, grey, EXIF orientations', async () => {
  const files = [...readdirSync(path.join(ROOT, 'test/fixtures/jpeg')).map((f) => path.join(ROOT, 'test/fixtures/jpeg', f)), ...['cat_tabby.jpg', 'dog_beagle.jpg', 'pizza.jpg', 'shuttle.jpg'].map((f) => path.join(ROOT, 'samples', f)), path.join(ROOT, 'test/fixtures/bad-images/exif-rotated.jpg')];
  assert.ok(files.length >= 15);
  for (const f of files) {
    const bytes = new Uint8Array(readFileSync(f));
    const host = await decodeJpeg(bytes, WASM);
    const page = await pageDecode(bytes, 'image/jpeg');
    const name = path.basename(f);
    assert.deepEqual([host.width, host.height], [page.width, page.height], name);
    assert.equal(pixelsSha256(host.rgba), page.sha256, `${name}: the host's decode differs from the page's`);
  }
});

test('the extension host decodes opaque PNGs of 8 bits or fewer to the same pixels as the page: RGB, grey, palette, 1-bit, ICC, gAMA and sRGB chunks', async () => {
  // (palette-transparent.png is left to the page: its tRNS chunk, test/unit/runAhead.test.ts.)
  const files = [...readdirSync(path.join(ROOT, 'test/fixtures/png')).filter((f) => !f.includes('transparent')).map((f) => path.join(ROOT, 'test/fixtures/png', f)), ...['astronaut.png', 'chelsea.png', 'coffee.png'].map((f) => path.join(ROOT, 'samples', f)), ...['grey8.png', 'rgb.png'].map((f) => path.join(ROOT, 'test/fixtures/bad-images', f)), path.join(ROOT, 'test/fixtures/images/shapes-star.png')];
  assert.ok(files.length >= 12);
  for (const f of files) {
    const bytes = new Uint8Array(readFileSync(f));
    const name = path.basename(f);
    assert.ok(canRunAhead(readImageHeader(bytes, name)), `${name} is one the host runs ahead`);
    const host = await decodePng(bytes);
    const page = await pageDecode(bytes, 'image/png');
    assert.deepEqual([host.width, host.height], [page.width, page.height], name);
    assert.equal(pixelsSha256(host.rgba), page.sha256, `${name}: the host's decode differs from the page's`);
  }
});

/** The panel's heatmap, predictions and timing line once it is done with `name`. */
async function panelResult(): Promise<{ hash: number; top: string[]; timing: string }> {
  // The ideas wait for the host's attention distances: answered once the heatmap is done.
  await h.page.waitForFunction(() => ['done', 'error'].includes(document.getElementById('status')?.dataset.state ?? ''), undefined, { timeout: 60_000 });
  await answerDistances();
  await h.waitForState('done');
  return { hash: (await heatmapPixels()).hash, top: await h.page.locator('#predictions li').allTextContents(), timing: await h.page.locator('#timing').textContent() ?? '' };
}

test('in the extension host: the run the host started on its own decode of a JPEG is used when the page\'s pixels are the same, and the page\'s input is run when they are not', async () => {
  await h.page.evaluate(() => window.postMessage({ type: 'applyView', view: { selected: undefined, mode: 'attention', layer: 11, head: 'mean' } }, '*'));
  const cat = image('cat_tabby.jpg');
  const aheadOf = (seq: number, bytes: Uint8Array) => {
    const a = new RunAhead();
    assert.equal(a.start(seq, model, bytes, readImageHeader(bytes, 'jpeg'), WASM, (r) => runInThread({ kind: 'run', modelKey: model.key, ...r })), true);
    return a;
  };
  // The reference: the page's own input, as without a run ahead.
  await h.post({ type: 'visualize', seq: 100, backend: 'wasm', runIn: 'extensionHost', model: { ...model, bytes: undefined }, image: cat });
  const plain = await nextRequest('run', seen);
  assert.ok(plain.request.kind === 'run' && plain.request.input && !plain.request.ahead);
  await reply(plain.id, held.firstRows(await runInThread(plain.request), plain.request.firstRowsOnly));
  const reference = await panelResult();
  assert.doesNotMatch(reference.timing, /run ahead/);

  // Run ahead: the page asks with its pixels' SHA-256 and no input, and draws the host's run.
  const runsBefore = await countRequests('run');
  const same = aheadOf(101, cat.bytes);
  await h.post({ type: 'visualize', seq: 101, runAhead: true, backend: 'wasm', runIn: 'extensionHost', model: { ...model, bytes: undefined }, image: cat });
  const asked = await nextRequest('run', seen);
  assert.ok(asked.request.kind === 'run' && asked.request.ahead);
  assert.equal(asked.request.input, undefined, 'the page sends no input while the host may have run it');
  assert.equal(asked.request.ahead.seq, 101);
  const got = await same.take(asked.request.ahead.seq, asked.request.modelKey, asked.request.ahead.sha256, asked.request.outputs);
  assert.ok('run' in got, `the host's run ahead serves the page: ${JSON.stringify(got)}`);
  await reply(asked.id, held.firstRows({ ...got.run, ranAhead: true }, asked.request.firstRowsOnly));
  const ahead = await panelResult();
  assert.match(ahead.timing, /run ahead on the extension host's decode of the image \(the same pixels\)/);
  assert.equal(ahead.hash, reference.hash, 'the same heatmap as from the page\'s input');
  assert.deepEqual(ahead.top, reference.top, 'the same predictions');
  assert.equal(await countRequests('run'), runsBefore + 1, 'one request for this image');

  // The host ran another image's pixels (as if its decode differed): the page sends its input, and says so.
  const other = aheadOf(102, image('pizza.jpg').bytes);
  await h.post({ type: 'visualize', seq: 102, runAhead: true, backend: 'wasm', runIn: 'extensionHost', model: { ...model, bytes: undefined }, image: cat });
  const first = await nextRequest('run', seen);
  assert.ok(first.request.kind === 'run' && first.request.ahead && !first.request.input);
  const missed = await other.take(first.request.ahead.seq, first.request.modelKey, first.request.ahead.sha256, first.request.outputs);
  assert.deepEqual(missed, { differs: 'pixels' });
  await reply(first.id, missed);
  const again = await nextRequest('run', seen);
  assert.ok(again.request.kind === 'run' && again.request.input && !again.request.ahead, 'then the page sends its own input');
  await reply(again.id, held.firstRows(await runInThread(again.request), again.request.firstRowsOnly));
  const fallback = await panelResult();
  assert.match(fallback.timing, /the extension host decoded the image to other pixels: run on the panel's/);
  assert.equal(fallback.hash, reference.hash);
  assert.deepEqual(fallback.top, reference.top);
});

test('a new panel started in the extension host (vitLens.startInExtensionHost): no WASM in the page until the host\'s run is drawn; then the page creates its own session, its logits agree with the host\'s, and the next image runs in the page', async () => {
  const wasmFetched = () => h.served().filter((p) => p.endsWith('.wasm'));
  // This page was written as the host writes one whose first run may be the host's: no WASM compiled at its start.
  assert.deepEqual(wasmFetched(), [], 'the page fetched no WASM while the host ran its models');
  await h.page.evaluate(() => window.postMessage({ type: 'applyView', view: { selected: undefined, mode: 'attention', layer: 11, head: 'mean' } }, '*'));
  const cat = image('cat_tabby.jpg');
  await h.post({ type: 'visualize', seq: 200, handOver: true, backend: 'wasm', runIn: 'extensionHost', model: { ...model, bytes: undefined }, image: cat });
  const run = await nextRequest('run', seen);
  assert.ok(run.request.kind === 'run' && run.request.input);
  await reply(run.id, held.firstRows(await runInThread(run.request), run.request.firstRowsOnly));
  const first = await panelResult();
  assert.match(first.timing, /run in the extension host while the panel started; the panel runs the next images/);
  assert.match(await h.page.locator('#backend').textContent() ?? '', /^Extension host · WASM/);
  // After the heatmap and the views, the page takes the model over: first its bytes (no kept copy here)...
  const bytes = await nextRequest('modelBytes', seen);
  assert.deepEqual(wasmFetched(), [], 'nor before its first heatmap and views were drawn');
  await h.page.evaluate(({ id, value }) => window.postMessage({ type: 'reply', id, ok: true, value }, '*'), { id: bytes.id, value: { bytes: model.bytes, graphPatch: model.graphPatch } });
  // ...then its own session, run once on the image on screen, its logits compared with the host's.
  await h.page.waitForFunction(() => !!document.getElementById('vit-lens-app')?.dataset.handOver, undefined, { timeout: 120_000 });
  const [key, maxDiff] = (await h.page.evaluate(() => document.getElementById('vit-lens-app')!.dataset.handOver!)).split(' ');
  assert.equal(key, model.key);
  assert.ok(Number(maxDiff) < 1e-3, `the page's logits differ from the host's by up to ${maxDiff}`);
  const told = await h.page.evaluate(() => (window as unknown as { __posted: { type: string; modelKey?: string }[] }).__posted.filter((m) => m.type === 'pageSession').map((m) => m.modelKey));
  assert.deepEqual(told, [model.key], 'the page told the host');
  assert.deepEqual(wasmFetched(), ['/dist/webview/ort-wasm-simd-threaded.wasm']);
  // The next image, as the host then sends it: run in the page's worker, its session reused; nothing asked of the host.
  const runsBefore = await countRequests('run');
  await h.post({ type: 'visualize', seq: 201, backend: 'wasm', runIn: 'webview', model: { ...model, bytes: undefined }, image: cat });
  await h.waitForState('done');
  assert.equal(await countRequests('run'), runsBefore, 'no run asked of the host');
  assert.match(await h.page.locator('#backend').textContent() ?? '', /^WASM · 1 thread/);
  const timing = await h.page.locator('#timing').textContent() ?? '';
  assert.match(timing, /session reused/);
  assert.doesNotMatch(timing, /extension host/);
  assert.deepEqual(await h.page.locator('#predictions li').allTextContents(), first.top, 'the same predictions as the host\'s run');
});

test("a page written for a start in the host compiles onnxruntime's WASM only when the host says the model runs in the page ('warmUp')", async () => {
  const p = await startHarness({ warmUpAtStart: false });
  const wasm = () => p.served().filter((f) => f.endsWith('.wasm'));
  try {
    await new Promise((r) => setTimeout(r, 1500));
    assert.deepEqual(wasm(), [], 'nothing fetched at the start');
    await p.post({ type: 'warmUp', backend: 'wasm' });
    for (let i = 0; i < 300 && !wasm().length; i++) await new Promise((r) => setTimeout(r, 100));
    assert.deepEqual(wasm(), ['/dist/webview/ort-wasm-simd-threaded.wasm']);
  } finally {
    await p.close();
  }
});
