/** The "ideas" views render from the demo model and image, with numbers computed from them. */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { prepareModel } from '../../src/shared/prepareModel';
import { demoModel, ROOT } from '../support/fixtures';
import { Harness, startHarness } from './harness';

let h: Harness;
const model = demoModel();

before(async () => {
  h = await startHarness();
  mkdirSync(path.join(ROOT, 'test-results'), { recursive: true });
  const bytes = new Uint8Array(readFileSync(path.join(ROOT, 'test/fixtures/images/shapes-circle.png')));
  await h.post({ type: 'visualize', backend: 'wasm', model, image: { name: 'shapes-circle.png', uri: 'file:///c.png', bytes, mime: 'image/png' } });
  await h.waitForState('done');
});
after(async () => h?.close());

async function inked(id: string): Promise<number> {
  return h.page.evaluate((i) => {
    const c = document.getElementById(i) as HTMLCanvasElement;
    const d = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
    let n = 0;
    for (let k = 3; k < d.length; k += 4) if (d[k] > 0) n++;
    return n;
  }, id);
}

test('cost, filters, position embeddings, attention distance and norm placement render', async () => {
  assert.match(await h.page.locator('#cost-text').textContent() ?? '', /N = 197 tokens of width C = 96/);
  assert.ok(await inked('cost-chart') > 200, 'the cost chart is drawn');
  assert.equal(await h.page.locator('#filters').getAttribute('width'), String(16 * 17));
  assert.ok(await inked('filters') > 16 * 16 * 16, 'filter tiles are drawn');
  assert.equal(await h.page.locator('#pos-sim').getAttribute('width'), String(14 * 15));
  assert.ok(await inked('pos-sim') === 196 * 196, 'one pixel per pair of patches');
  const dist = JSON.parse(await h.page.locator('#distance').getAttribute('data-distances') ?? '[]') as number[][];
  assert.equal(dist.length, 6);
  assert.equal(dist[0].length, 3);
  assert.ok(dist.flat().every((d) => d >= 0 && d <= 14 * 16 * Math.SQRT2));
  assert.match(await h.page.locator('#norm-text').textContent() ?? '', /^Pre-norm/);
  await h.page.locator('#ideas').screenshot({ path: path.join(ROOT, 'test-results/ideas.png') });
});

test('high-norm tokens: a layers × tokens map, the selected layer\'s patch grid, one line per layer and the model\'s numbers', async () => {
  await h.page.waitForFunction(() => !!document.getElementById('norms-map')?.dataset.outliers, undefined, { timeout: 30_000 });
  const counts = JSON.parse(await h.page.locator('#norms-map').getAttribute('data-outliers') ?? '[]') as number[];
  assert.equal(counts.length, 6, 'one row per layer');
  // 1 CLS + gap + 196 patches at 2 px, 6 layers at 12 px.
  assert.deepEqual([await h.page.locator('#norms-map').getAttribute('width'), await h.page.locator('#norms-map').getAttribute('height')], [String(198 * 2), String(6 * 12)]);
  assert.ok(await inked('norms-map') >= 197 * 2 * 6 * 12, 'every token cell is drawn');
  assert.equal(await inked('norms-grid'), 14 * 12 * 14 * 12, 'the selected layer\'s 14×14 patch grid');
  const lines = await h.page.locator('#norms-layers li').allTextContents();
  assert.equal(lines.length, 6);
  lines.forEach((l, i) => assert.match(l, new RegExp(`^Layer ${i + 1}: median [\\d.]+, max [\\d.]+, ${counts[i]} outliers?.* · CLS [\\d.]+$`)));
  const text = await h.page.locator('#norms-text').textContent() ?? '';
  assert.match(text, /(\d+ patch(es)? in layer \d+ ha(s a norm|ve norms) [\d.]+× the median|No patch token's norm stands out in any of the 6 layers)/);
  assert.match(text, /Vision Transformers Need Registers/);
  assert.match(text, /This model has no registers \(its prefix: CLS, left of the gap\)/);
  await h.page.locator('#norms-map').locator('..').screenshot({ path: path.join(ROOT, 'test-results/token-norms.png') });
});

/** Clicks a variant's Run button and waits for its two-column comparison (or its error text). */
async function runVariant(button: string, out: string): Promise<{ figures: number; tokens: string | null; top1: string | null; inked: number[]; text: string }> {
  await h.page.locator(button).click();
  await h.page.waitForFunction((o) => {
    const el = document.getElementById(o)!;
    return el.querySelectorAll('figure').length === 2 || el.dataset.error === 'true';
  }, out, { timeout: 60_000 });
  return h.page.evaluate((o) => {
    const el = document.getElementById(o)!;
    const inked = [...el.querySelectorAll('canvas')].map((c) => {
      const d = (c as HTMLCanvasElement).getContext('2d')!.getImageData(0, 0, (c as HTMLCanvasElement).width, (c as HTMLCanvasElement).height).data;
      let n = 0;
      for (let k = 3; k < d.length; k += 4) if (d[k] > 0) n++;
      return n;
    });
    return { figures: el.querySelectorAll('figure').length, tokens: el.dataset.tokens ?? null, top1: el.dataset.top1 ?? null, inked, text: (el.nextElementSibling?.textContent ?? '') };
  }, out);
}

test('other resolution: the panel rewrites the graph for 288×288 and shows 325 tokens next to the native 197', async () => {
  await h.page.evaluate(() => {
    const s = document.getElementById('res-size') as HTMLElement & { value: string };
    s.value = '288';
  });
  const r = await runVariant('#res-run', 'res-out');
  assert.equal(r.figures, 2, r.text);
  assert.equal(r.tokens, '325');
  assert.deepEqual(r.inked, [448 * 448, 576 * 576], 'both heatmaps are drawn at their own size (2× zoom)');
  assert.match(r.text, /325 tokens instead of 197: attention costs 2\.72× as much per layer/);
  assert.match(r.text, /position embedding 14×14 → 18×18 \(bicubic, 1 prefix token kept\)/);
  assert.match(await h.page.locator('#res-out figcaption').nth(1).textContent() ?? '', /288×288, 325 tokens/);
});

test('no position embeddings: the same image through the model with its position embedding zeroed', async () => {
  const r = await runVariant('#nopos-run', 'nopos-out');
  assert.equal(r.figures, 2, r.text);
  assert.equal(r.tokens, '197');
  assert.match(r.text, /Without position embeddings self-attention cannot tell where a patch is/);
  assert.match(r.text, /position embedding \(1×197×96\) set to zero/);
  await h.page.locator('#ideas').screenshot({ path: path.join(ROOT, 'test-results/ideas-variants.png') });
  // The panel is still usable afterwards: the native model runs again on the next image.
  const bytes = new Uint8Array(readFileSync(path.join(ROOT, 'test/fixtures/images/shapes-circle.png')));
  await h.post({ type: 'visualize', backend: 'wasm', model: { ...model, bytes: undefined }, image: { name: 'again.png', uri: 'file:///again.png', bytes, mime: 'image/png' } });
  await h.waitForState('done');
});

test('folder average: the panel measures another image on request and draws the folder mean beside this image', async () => {
  const bytes = new Uint8Array(readFileSync(path.join(ROOT, 'test/fixtures/images/shapes-circle.png')));
  await h.post({ type: 'measure', id: 41, image: { name: 'again.png', uri: 'file:///again.png', bytes, mime: 'image/png' } });
  await h.page.waitForFunction(() => (window as unknown as { __posted: { type: string; id?: number }[] }).__posted.some((m) => m.type === 'measured' && m.id === 41), undefined, { timeout: 30_000 });
  const reply = (await h.posted()).find((m) => m.type === 'measured' && m.id === 41)!;
  assert.ok(reply.type === 'measured' && reply.ok, JSON.stringify(reply));
  const shown = JSON.parse(await h.page.locator('#distance').getAttribute('data-distances') ?? '[]') as number[][];
  assert.equal(reply.value.modelKey, model.key);
  assert.equal(reply.value.distances.length, 6);
  // The same image measured again gives the distances the chart shows for it.
  reply.value.distances.forEach((hs, l) => hs.forEach((d, k) => assert.ok(Math.abs(d - shown[l][k]) <= 0.051, `layer ${l} head ${k}: ${d} vs ${shown[l][k]}`)));
  const mean = reply.value.distances.map((hs) => hs.map((d) => d * 0.9));
  await h.post({ type: 'folderDistance', result: { modelKey: model.key, folder: 'shapes', images: 2, skipped: 1, mean } });
  await h.page.waitForFunction(() => !!document.getElementById('distance')!.dataset.folderDistances);
  const folder = JSON.parse(await h.page.locator('#distance').getAttribute('data-folder-distances') ?? '[]') as number[][];
  assert.ok(Math.abs(folder[5][2] - mean[5][2]) <= 0.051);
  assert.match(await h.page.locator('#distance-text').textContent() ?? '', /Averaged over 2 images in shapes \(1 skipped: not readable as images\)/);
  await h.page.locator('#distance').screenshot({ path: path.join(ROOT, 'test-results/ideas-distance-folder.png') });
});

test('DeiT demo: the distillation card shows the CLS and distillation tokens\' attention and both heads\' predictions', async () => {
  const own = JSON.parse(readFileSync(path.join(ROOT, 'models/deit-demo.json'), 'utf8')) as Record<string, unknown>;
  const deit = prepareModel(new Uint8Array(readFileSync(path.join(ROOT, 'models/deit-demo.onnx'))), 'deit-demo.onnx', 'deit', { own });
  const index = JSON.parse(readFileSync(path.join(ROOT, 'models/reference/deit-demo/index.json'), 'utf8')) as { fixtures: { name: string; clsTop1: string; distTop1: string }[] };
  const bytes = new Uint8Array(readFileSync(path.join(ROOT, 'test/fixtures/images/shapes-circle.png')));
  await h.post({ type: 'visualize', backend: 'wasm', model: deit, image: { name: 'shapes-circle.png', uri: 'file:///c.png', bytes, mime: 'image/png' } });
  await h.waitForState('done');
  const out = h.page.locator('#distill-out');
  assert.equal(await out.locator('figure').count(), 2);
  const ref = index.fixtures.find((f) => f.name === 'shapes-circle')!;
  assert.equal(await out.getAttribute('data-cls-top1'), ref.clsTop1, 'CLS head top-1 as in PyTorch');
  assert.equal(await out.getAttribute('data-dist-top1'), ref.distTop1, 'distillation head top-1 as in PyTorch');
  const sim = Number(await out.getAttribute('data-similarity'));
  assert.ok(sim > 0 && sim <= 1.0001, `cosine similarity ${sim}`);
  assert.match(await h.page.locator('#distill-text').textContent() ?? '', /the CLS head says/);
  await h.page.locator('#distill-out').screenshot({ path: path.join(ROOT, 'test-results/ideas-distillation.png') });
});
