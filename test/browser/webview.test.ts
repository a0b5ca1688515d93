/**
 * The real webview bundle, HTML and CSP in headless Chromium with a stand-in VS Code API: real inference
 * with onnxruntime-web in the browser, pixels read back from the canvas, text read from the page.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, readdirSync } from 'node:fs';
import * as path from 'node:path';
import { argmax, attentionRow } from '../../src/shared/attentionMaps';
import { colormapLut } from '../../src/shared/colormap';
import { preprocessRgba, toInputTensor } from '../../src/shared/preprocess';
import { decodeImage } from '../../src/cli/imageFile';
import { createSession, runModel } from '../../src/cli/runModel';
import { demoModel, ROOT } from '../support/fixtures';
import { Harness, startHarness } from './harness';

let h: Harness;
const model = demoModel();
const fixtureImage = readdirSync(path.join(ROOT, 'test/fixtures/images')).filter((f) => f.endsWith('.png')).sort()[0];
const imagePath = path.join(ROOT, 'test/fixtures/images', fixtureImage);

before(async () => {
  h = await startHarness();
  mkdirSync(path.join(ROOT, 'test-results'), { recursive: true });
});
after(async () => h?.close());

/** CLS attention of `layer`/`head` computed in Node for the same image. */
async function nodeAttention(layer: number, head: number): Promise<Float32Array> {
  const img = decodeImage(new Uint8Array(readFileSync(imagePath)), fixtureImage);
  const p = model.card.preprocess;
  const rgba = preprocessRgba(img.rgba, img.width, img.height, p);
  const run = await runModel(await createSession(model), model, toInputTensor(rgba, p));
  return attentionRow(run.layers[layer], 0, head < 0 ? 'mean' : head, model.structure.prefixTokens);
}

/** Reads the heatmap canvas at every patch centre and maps each colour back to its colormap position. */
async function canvasValues(): Promise<number[]> {
  const { rows, cols } = model.structure.grid!;
  const pixels = await h.page.evaluate(({ rows, cols }) => {
    const c = document.getElementById('heatmap') as HTMLCanvasElement;
    const d = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
    const out: number[][] = [];
    for (let r = 0; r < rows; r++) for (let k = 0; k < cols; k++) {
      const x = Math.floor(((k + 0.5) * c.width) / cols);
      const y = Math.floor(((r + 0.5) * c.height) / rows);
      const i = (y * c.width + x) * 4;
      out.push([d[i], d[i + 1], d[i + 2], d[i + 3]]);
    }
    return out;
  }, { rows, cols });
  const lut = colormapLut('inferno');
  return pixels.map(([r, g, b]) => {
    let best = 0;
    let bestD = Infinity;
    for (let i = 0; i < 256; i++) {
      const dd = (lut[i * 3] - r) ** 2 + (lut[i * 3 + 1] - g) ** 2 + (lut[i * 3 + 2] - b) ** 2;
      if (dd < bestD) { bestD = dd; best = i; }
    }
    return best / 255;
  });
}

function assertSameHottest(canvas: number[], node: Float32Array, what: string): void {
  const c = argmax(canvas);
  const n = argmax(node);
  // Equal, or a tie within the colormap's resolution.
  assert.ok(c === n || node[c] >= node[n] * (1 - 2 / 255), `${what}: canvas hottest patch ${c} (node value ${node[c]}), node hottest ${n} (${node[n]})`);
}

test('visualizes the demo model in the browser: label, heatmap, hottest patch = Node\'s', async () => {
  const bytes = new Uint8Array(readFileSync(imagePath));
  await h.post({ type: 'visualize', backend: 'wasm', model, image: { name: fixtureImage, uri: `file://${imagePath}`, bytes, mime: 'image/png' } });
  await h.waitForState('done');
  const labels = await h.page.locator('#predictions li .label').allTextContents();
  assert.equal(labels.length, 5);
  assert.ok(model.card.labels.includes(labels[0]), `top label ${labels[0]} is one of the card's labels`);
  assert.match(await h.page.locator('#backend').textContent() ?? '', /WASM/);
  const lastLayer = model.structure.layers - 1;
  assertSameHottest(await canvasValues(), await nodeAttention(lastLayer, -1), `layer ${lastLayer + 1}, mean of heads`);
  await h.page.screenshot({ path: path.join(ROOT, 'test-results/webview.png') });
  const posted = await h.posted();
  const rendered = posted.find((m) => m.type === 'rendered');
  assert.ok(rendered && rendered.type === 'rendered' && rendered.summary.top[0].label === labels[0]);
});

test('switching layer and head redraws from the same run (no new inference)', async () => {
  const before = (await h.posted()).filter((m) => m.type === 'rendered').length;
  await h.page.evaluate(() => {
    const s = document.getElementById('layer') as HTMLElement & { value: string };
    s.value = '0';
    s.dispatchEvent(new Event('change'));
    const hd = document.getElementById('head') as HTMLElement & { value: string };
    hd.value = '1';
    hd.dispatchEvent(new Event('change'));
  });
  assertSameHottest(await canvasValues(), await nodeAttention(0, 1), 'layer 1, head 2');
  assert.equal((await h.posted()).filter((m) => m.type === 'rendered').length, before, 'no new run');
});

test('a corrupt image ends in a clear error, and the panel recovers on the next image', async () => {
  await h.post({ type: 'visualize', backend: 'wasm', model: { ...model, bytes: undefined }, image: { name: 'broken.png', uri: 'file:///broken.png', bytes: new Uint8Array([0x89, 0x50, 0x4e, 0x47, 1, 2, 3]), mime: 'image/png' } });
  await h.waitForState('error');
  assert.match(await h.page.locator('#error').textContent() ?? '', /could not be decoded/);
  const bytes = new Uint8Array(readFileSync(imagePath));
  await h.post({ type: 'visualize', backend: 'wasm', model: { ...model, bytes: undefined }, image: { name: fixtureImage, uri: 'file:///x.png', bytes, mime: 'image/png' } });
  await h.waitForState('done');
  assert.equal(await h.page.locator('#error').isHidden(), true);
});

test('a visualize the host posts again after ready (sent before the page listened, seen after all) runs once', async () => {
  const ready = (await h.posted()).find((m) => m.type === 'ready');
  assert.equal(ready?.type === 'ready' && ready.seen, 0, 'the page says which visualize it has seen: none at its start');
  const bytes = new Uint8Array(readFileSync(imagePath));
  const runs = () => h.page.evaluate(() => performance.getEntriesByName('vitlens-visualize').length);
  const before = await runs();
  const first = { type: 'visualize', seq: 1, backend: 'wasm', model: { ...model, bytes: undefined }, image: { name: fixtureImage, uri: 'file:///seq1.png', bytes, mime: 'image/png' } } as const;
  await h.post(first);
  await h.waitForState('done');
  await h.post(first);
  await h.post({ ...first, seq: 2, image: { ...first.image, uri: 'file:///seq2.png' } });
  await h.waitForState('done');
  assert.equal(await runs() - before, 2, 'seq 1, its copy ignored, then seq 2');
});

test('clicking a patch shows its query map; the hottest cell matches Node', async () => {
  const { rows, cols } = model.structure.grid!;
  const [r, c] = [4, 9];
  // Back to the last layer, mean of heads, so the comparison below is against a known view.
  await h.page.evaluate((last) => window.postMessage({ type: 'applyView', view: { layer: last, head: 'mean', mode: 'attention', direction: 'query' } }, '*'), model.structure.layers - 1);
  const box = (await h.page.locator('#stack').boundingBox())!;
  await h.page.mouse.click(box.x + ((c + 0.5) / cols) * box.width, box.y + ((r + 0.5) / rows) * box.height);
  assert.match(await h.page.locator('#selection').textContent() ?? '', new RegExp(`row ${r}, column ${c}`));
  const img = decodeImage(new Uint8Array(readFileSync(imagePath)), fixtureImage);
  const p = model.card.preprocess;
  const rgba = preprocessRgba(img.rgba, img.width, img.height, p);
  const run = await runModel(await createSession(model), model, toInputTensor(rgba, p));
  const token = model.structure.prefixTokens + r * cols + c;
  const expected = attentionRow(run.layers[model.structure.layers - 1], token, 'mean', model.structure.prefixTokens);
  assertSameHottest(await canvasValues(), expected, `patch (${r}, ${c}) as query`);
  // The sidebar data follows the selection.
  const vs = (await h.posted()).filter((m) => m.type === 'viewState').pop();
  assert.ok(vs?.type === 'viewState' && vs.info.patch?.row === r && vs.info.patch.col === c && vs.info.patch.attendsTo.length === 5);
  // Arrow keys move the selection.
  await h.page.keyboard.press('ArrowRight');
  assert.match(await h.page.locator('#selection').textContent() ?? '', new RegExp(`row ${r}, column ${c + 1}`));
  await h.page.keyboard.press('Escape');
  assert.doesNotMatch(await h.page.locator('#selection').textContent() ?? '', /Selected patch/);
});

test('clicking a map in the layer × head overview focuses that layer and head', async () => {
  const cells = h.page.locator('#overview .cell');
  assert.equal(await cells.count(), model.structure.layers * model.structure.heads!);
  await h.page.locator('#overview .cell[data-layer="1"][data-head="2"]').click();
  assert.equal(await h.page.evaluate(() => (document.getElementById('layer') as HTMLElement & { value: string }).value), '1');
  assert.equal(await h.page.evaluate(() => (document.getElementById('head') as HTMLElement & { value: string }).value), '2');
  assert.equal(await h.page.locator('#overview .cell.active').getAttribute('data-head'), '2');
  assertSameHottest(await canvasValues(), await nodeAttention(1, 2), 'layer 2, head 3 from the overview');
});

test('Export PNG saves exactly the composited canvases; Export JSON the numbers behind the view', async () => {
  const exports = async () => (await h.posted()).flatMap((m) => (m.type === 'request' && m.request.kind === 'export' ? [{ id: m.id, ...m.request }] : []));
  const before = (await exports()).length;
  await h.page.locator('#export-png').click();
  await h.page.waitForFunction((n) => (window as unknown as { __posted: { type: string; request?: { kind: string } }[] }).__posted.filter((m) => m.request?.kind === 'export').length > n, before);
  const msg = (await exports()).pop()!;
  assert.equal(msg.format, 'png');
  // The host's reply tells the panel where the file went.
  await h.post({ type: 'reply', id: msg.id, ok: true, value: 'out/shapes-attn.png' });
  await h.page.waitForFunction(() => document.getElementById('selection')?.textContent === 'Saved out/shapes-attn.png.');
  const png = decodeImage(new Uint8Array(Object.values(msg.data)), msg.fileName);
  // Expected: source-over composite of the three canvases' pixels, computed here.
  const layers = await h.page.evaluate(() => ['image', 'heatmap', 'grid'].map((id) => {
    const c = document.getElementById(id) as HTMLCanvasElement;
    return Array.from(c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data);
  }));
  assert.equal(png.width, 224);
  let worst = 0;
  for (let i = 0; i < 224 * 224; i++) {
    let rgb = [0, 0, 0];
    let alpha = 0;
    for (const l of layers) {
      const a = l[i * 4 + 3] / 255;
      rgb = rgb.map((v, k) => l[i * 4 + k] * a + v * (1 - a));
      alpha = a + alpha * (1 - a);
    }
    for (let k = 0; k < 3; k++) worst = Math.max(worst, Math.abs(png.rgba[i * 4 + k] - rgb[k]));
    assert.ok(alpha > 0.99);
  }
  assert.ok(worst <= 3, `exported PNG differs from the canvases by up to ${worst} levels`);
  await h.page.locator('#export-json').click();
  await h.page.waitForFunction(() => (window as unknown as { __posted: { request?: { kind: string; format?: string } }[] }).__posted.some((m) => m.request?.kind === 'export' && m.request.format === 'json'));
  const j = (await exports()).filter((m) => m.format === 'json').pop()!;
  const doc = JSON.parse(new TextDecoder().decode(new Uint8Array(Object.values(j.data)))) as { model: { sha256: string }; values: number[]; grid: { rows: number }; backend: { name: string }; outputs: { kind: string; describe: string }[] };
  const { createHash } = await import('node:crypto');
  assert.equal(doc.model.sha256, createHash('sha256').update(readFileSync(path.join(ROOT, 'models/vit-demo.onnx'))).digest('hex'));
  assert.equal(doc.values.length, 196);
  assert.equal(doc.backend.name, 'wasm');
  assert.deepEqual(doc.outputs.map((o) => [o.kind, o.describe]), [['classes', '6 class scores']]);
});

test('a run that exceeds the time limit is stopped with a clear error, and the next run works', async () => {
  const bytes = new Uint8Array(readFileSync(imagePath));
  await h.post({ type: 'visualize', backend: 'wasm', timeoutMs: 1, model, image: { name: fixtureImage, uri: 'file:///slow.png', bytes, mime: 'image/png' } });
  await h.waitForState('error');
  assert.match(await h.page.locator('#error').textContent() ?? '', /did not finish within 0 s, so ViT Lens stopped it/);
  await h.post({ type: 'visualize', backend: 'wasm', model, image: { name: fixtureImage, uri: 'file:///again.png', bytes, mime: 'image/png' } });
  await h.waitForState('done');
});
