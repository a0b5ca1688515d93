/**
 * Gradient maps in the panel's "Why this class" card (headless Chromium, WASM): on the real ViT-Ti and the tabby cat
 * photo (PIL's decoded pixels, so the page and Node read the same RGB), relevance for "tabby cat" and "Egyptian Mau",
 * Grad-CAM and attention × gradient equal the Node computation (src/cli/gradientRun.ts + src/shared/classMaps.ts);
 * the two classes' maps differ and both lie mostly on the cat (test/support/catMask.ts); "Compare with…" draws three
 * figures; relevance and Grad-CAM join "Which map to trust"; fused attention and MatMulInteger are named as the ops
 * without a gradient.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { createGradientSession, type GradientResult } from '../../src/cli/gradientRun';
import { decodeImage } from '../../src/cli/imageFile';
import { classMap, type ClassMapKind } from '../../src/shared/classMaps';
import { prepareModel } from '../../src/shared/prepareModel';
import { compositeOnWhite, preprocessRgba, toInputTensor } from '../../src/shared/preprocess';
import { classDifference } from '../../src/shared/relevance';
import { maskAt } from '../support/catMask';
import { maxAbsDiff, ROOT, swinModel } from '../support/fixtures';
import { realModel } from '../support/realModel';
import { Harness, startHarness } from './harness';

const IMAGE = path.join(ROOT, 'test/fixtures/preprocess/decoded/cat_tabby.jpg.png');
const model = realModel();
const TABBY = model.card.labels.indexOf('tabby cat');
const MAU = model.card.labels.indexOf('Egyptian Mau');

let h: Harness;
const node = new Map<number, GradientResult>();

before(async () => {
  h = await startHarness();
  const img = decodeImage(new Uint8Array(readFileSync(IMAGE)), 'cat_tabby.jpg.png');
  compositeOnWhite(img.rgba);
  const p = model.card.preprocess;
  const input = toInputTensor(preprocessRgba(img.rgba, img.width, img.height, p), p);
  const session = await createGradientSession(model);
  for (const c of [TABBY, MAU]) node.set(c, await session.run(input, c));
  await session.session.release();
});
after(async () => h?.close());

const nodeMap = (kind: ClassMapKind, c: number, at: { layer?: number; head?: number | 'mean' } = {}) => classMap(model.structure, node.get(c)!, kind, model.card.labels[c], at).values;
const datasetOf = () => h.page.evaluate(() => ({ ...document.getElementById('why-out')!.dataset }));
const numbers = (s: string | undefined) => (s ?? '').split(',').map(Number);

/** Clicks `button` for the class typed in the card and returns the map it drew. */
async function pageMap(button: string, kind: string, label: string): Promise<{ map: number[]; data: Record<string, string | undefined> }> {
  await h.page.fill('#why-class-name', label);
  await h.page.evaluate(() => { delete document.getElementById('why-out')!.dataset.kind; });
  await h.page.click(button);
  await h.page.waitForFunction((k) => {
    const d = document.getElementById('why-out')!.dataset;
    return d.kind === k || !!d.error;
  }, kind, { timeout: 60_000 });
  const data = await datasetOf();
  assert.equal(data.error, undefined, await h.page.locator('#why-text').textContent() ?? '');
  return { map: numbers(data.map), data };
}

/** |page − Node| / max |Node|. */
const relative = (got: ArrayLike<number>, want: ArrayLike<number>) => maxAbsDiff(got, want) / Math.max(...Array.from(want, Math.abs));

/** The share of the map's mass on the cat's patches among those marked cat or background. */
function catShare(map: ArrayLike<number>): number {
  let c = 0;
  let b = 0;
  for (let i = 0; i < map.length; i++) {
    if (maskAt(i) === 'C') c += map[i];
    else if (maskAt(i) === 'B') b += map[i];
  }
  return c / (c + b);
}
const catCells = Array.from({ length: 196 }, (_, i) => maskAt(i)).filter((k) => k === 'C').length;
const areaShare = catCells / (catCells + Array.from({ length: 196 }, (_, i) => maskAt(i)).filter((k) => k === 'B').length);

test('real ViT-Ti, cat_tabby: relevance (tabby cat, Egyptian Mau), Grad-CAM and attention × gradient in the page equal Node\'s; compare draws three figures; trust ranks them', async () => {
  const bytes = new Uint8Array(readFileSync(IMAGE));
  await h.post({ type: 'visualize', backend: 'wasm', model, image: { name: 'cat_tabby.png', uri: 'file:///cat_tabby.png', bytes, mime: 'image/png' } });
  await h.waitForState('done');

  const tabby = await pageMap('#why-relevance', 'relevance', 'tabby cat');
  assert.equal(Number(tabby.data.classIndex), TABBY);
  const timings = { setupMs: Number(tabby.data.setupMs), sessionMs: Number(tabby.data.sessionMs), firstRunMs: Number(tabby.data.gradientMs) };
  const mau = await pageMap('#why-relevance', 'relevance', 'Egyptian Mau');
  assert.equal(Number(mau.data.classIndex), MAU);
  assert.match(await h.page.locator('#why-text').textContent() ?? '', /session reused/);
  const secondRunMs = Number(mau.data.gradientMs);
  const dTabby = relative(tabby.map, nodeMap('relevance', TABBY));
  const dMau = relative(mau.map, nodeMap('relevance', MAU));
  assert.ok(dTabby <= 1e-4 && dMau <= 1e-4, `relevance differs from Node's by ${dTabby} (tabby), ${dMau} (Mau)`);
  const apart = maxAbsDiff(tabby.map, mau.map);
  assert.ok(apart > 0.05, `the two classes' relevance maps differ by only ${apart}`);
  const shares = [catShare(tabby.map), catShare(mau.map)];
  // Most of each map's mass lies on the cat; for the tabby cat also its hottest patches. (Egyptian Mau's relevance
  // also lights the image corners, so its share is about the cat's area share, measured as 0.85.)
  for (const s of shares) assert.ok(s > 0.5, `relevance mass on the cat ${s.toFixed(3)} (cat area ${areaShare.toFixed(3)})`);
  const hottest = Array.from(tabby.map.keys()).sort((i, j) => tabby.map[j] - tabby.map[i]).slice(0, 10);
  assert.ok(hottest.every((i) => maskAt(i) === 'C'), `a hottest tabby relevance patch is off the cat: ${hottest.map((i) => `${i}:${maskAt(i)}`).join(' ')}`);
  assert.match(await h.page.locator('#why-text').textContent() ?? '', /Chefer et al\. 2021\), CLS row/);

  const cam = await pageMap('#why-gradcam', 'gradcam', 'tabby cat');
  const dCam = relative(cam.map, nodeMap('gradcam', TABBY));
  assert.ok(dCam <= 1e-4, `Grad-CAM differs from Node's by ${dCam}`);
  const camShare = catShare(cam.map);
  assert.ok(camShare > 0.5, `Grad-CAM mass on the cat ${camShare}`);

  // Attention × gradient follows the panel's layer and head.
  await h.page.evaluate(() => window.postMessage({ type: 'applyView', view: { layer: 7, head: '1' } }, '*'));
  const ag = await pageMap('#why-attgrad', 'attgrad', 'tabby cat');
  const dAg = relative(ag.map, nodeMap('attgrad', TABBY, { layer: 7, head: 1 }));
  assert.ok(dAg <= 1e-4, `attention × gradient differs from Node's by ${dAg}`);
  assert.match(await h.page.locator('#why-text').textContent() ?? '', /layer 8, head 2/);

  await h.page.fill('#why-compare-name', 'Egyptian Mau');
  const cmp = await pageMap('#why-compare', 'compare', 'tabby cat');
  assert.equal(await h.page.locator('#why-out figure').count(), 3);
  assert.equal(Number(cmp.data.classB), MAU);
  const want = classDifference(nodeMap('relevance', TABBY), nodeMap('relevance', MAU)).signed;
  const dDiff = maxAbsDiff(cmp.map, want);
  assert.ok(dDiff <= 2e-4, `difference differs from Node's by ${dDiff}`);
  const captions = await h.page.locator('#why-out figcaption').allTextContents();
  assert.deepEqual(captions, ['Relevance: tabby cat', 'Relevance: Egyptian Mau', 'tabby cat vs Egyptian Mau']);

  await h.page.fill('#why-class-name', 'tabby cat');
  await h.page.click('#why-trust');
  await h.page.waitForSelector('#why-ranking li:nth-child(4)', { timeout: 60_000 });
  const names = await h.page.evaluate(() => [...document.querySelectorAll('#why-ranking li')].map((li) => (li as HTMLElement).dataset.name));
  assert.deepEqual([...names].sort(), ['Grad-CAM', 'Relevance', 'attention (last layer)', 'rollout']);

  console.log(`ViT-Ti in the page: relevance max |Δ| vs Node ${dTabby.toExponential(1)} (tabby), ${dMau.toExponential(1)} (Mau); Grad-CAM ${dCam.toExponential(1)}; ` +
    `attention × gradient ${dAg.toExponential(1)}; difference ${dDiff.toExponential(1)}; maps apart by ${apart.toFixed(3)}; ` +
    `mass on the cat ${shares.map((s) => s.toFixed(3)).join(', ')} (Grad-CAM ${camShare.toFixed(3)}; cat area ${areaShare.toFixed(3)}); ` +
    `probe + build ${timings.setupMs.toFixed(0)} ms, gradient session ${timings.sessionMs.toFixed(0)} ms, first class ${timings.firstRunMs.toFixed(0)} ms, second class ${secondRunMs.toFixed(0)} ms`);
});

test('Swin demo: Grad-CAM and attention × gradient of a block equal Node\'s; relevance is off with the reason', async () => {
  const swin = swinModel();
  const img = decodeImage(new Uint8Array(readFileSync(IMAGE)), 'cat_tabby.jpg.png');
  compositeOnWhite(img.rgba);
  const p = swin.card.preprocess;
  const session = await createGradientSession(swin);
  const bytes = new Uint8Array(readFileSync(IMAGE));
  await h.post({ type: 'visualize', backend: 'wasm', model: swin, image: { name: 'cat_tabby.png', uri: 'file:///cat_tabby.png', bytes, mime: 'image/png' } });
  await h.waitForState('done');
  assert.notEqual(await h.page.locator('#why-relevance').getAttribute('disabled'), null);
  assert.match(await h.page.locator('#why-relevance').getAttribute('title') ?? '', /patch merging/);
  const top = Number(await h.page.evaluate(() => (document.getElementById('why-class') as HTMLElement & { value: string }).value));
  const run = await session.run(toInputTensor(preprocessRgba(img.rgba, img.width, img.height, p), p), top);
  await session.session.release();
  const label = swin.card.labels[top];
  const cam = await pageMap('#why-gradcam', 'gradcam', label);
  const dCam = relative(cam.map, classMap(swin.structure, run, 'gradcam', label).values);
  await h.page.evaluate(() => window.postMessage({ type: 'applyView', view: { layer: 1, head: 'mean' } }, '*'));
  const ag = await pageMap('#why-attgrad', 'attgrad', label);
  const dAg = relative(ag.map, classMap(swin.structure, run, 'attgrad', label, { layer: 1 }).values);
  assert.ok(dCam <= 1e-4 && dAg <= 1e-4, `Swin Grad-CAM differs from Node's by ${dCam}, attention × gradient (block 2) by ${dAg}`);
  console.log(`Swin demo in the page: Grad-CAM max |Δ| vs Node ${dCam.toExponential(1)}, attention × gradient ${dAg.toExponential(1)}`);
});

for (const [file, op] of [['fused-ms-mha.onnx', /com\.microsoft\.MultiHeadAttention \(node "[^"]+"\)/], ['int8-dynamic-matmul.onnx', /MatMulInteger \(node "[^"]+"\)/]] as const) {
  test(`${file}: the gradient buttons say which op has no gradient, and that occlusion still works`, async () => {
    const m = prepareModel(new Uint8Array(readFileSync(path.join(ROOT, 'test/fixtures/coverage', file))), file, `cov-${file}`);
    const bytes = new Uint8Array(readFileSync(path.join(ROOT, 'test/fixtures/images/shapes-circle.png')));
    await h.post({ type: 'visualize', backend: 'wasm', model: m, image: { name: 'shapes-circle.png', uri: 'file:///c.png', bytes, mime: 'image/png' } });
    await h.waitForState('done');
    await h.page.click('#why-relevance');
    await h.page.waitForFunction(() => document.getElementById('why-out')!.dataset.error === 'no-gradient');
    const text = await h.page.locator('#why-text').textContent() ?? '';
    assert.match(text, op);
    assert.match(text, /Occlusion still works/);
    assert.equal(await h.page.locator('#why-relevance').getAttribute('disabled') !== null, true);
    assert.equal(await h.page.locator('#why-occlusion').getAttribute('disabled'), null);
  });
}
