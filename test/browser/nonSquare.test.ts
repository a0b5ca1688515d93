/**
 * Non-square inputs in the real webview (headless Chromium): a ViT exported at 24×40 (height×width) is drawn on a
 * 40×24 canvas with its 3×5 grid, and DINO's dynamic-size export is run at the photo's own aspect ratio. The
 * hottest patch the page draws is the one the same maths finds in Node on the same pixels.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { argmax } from '../../src/shared/attentionMaps';
import { atImageSize } from '../../src/shared/anySize';
import { decodeImage } from '../../src/cli/imageFile';
import { createSession, runModel } from '../../src/cli/runModel';
import { PreparedModel, prepareModel } from '../../src/shared/prepareModel';
import { compositeOnWhite, preprocessRgba, toInputTensor } from '../../src/shared/preprocess';
import { DEFAULT_VIEW } from '../../src/shared/protocol';
import { computeView } from '../../src/shared/viewData';
import { ROOT } from '../support/fixtures';
import { Harness, startHarness } from './harness';

let h: Harness;
before(async () => { h = await startHarness(); });
after(async () => h?.close());

const PHOTO = 'chelsea.png'; // 451×300; PNG, so pngjs in Node and Chromium decode the same pixels

/** The default view's hottest patch in Node for the photo on `model` (as run at the photo's size where it may be). */
async function nodeHottest(model: PreparedModel): Promise<{ index: number; height: number; width: number }> {
  const img = decodeImage(new Uint8Array(readFileSync(path.join(ROOT, 'samples', PHOTO))), PHOTO);
  const sized = atImageSize(model, img.width, img.height);
  compositeOnWhite(img.rgba);
  const rgba = preprocessRgba(img.rgba, img.width, img.height, sized.card.preprocess);
  const run = await runModel(await createSession(sized), sized, toInputTensor(rgba, sized.card.preprocess));
  const view = computeView(sized.structure, run, { ...DEFAULT_VIEW, layer: run.layers.length - 1 });
  return { index: argmax(view.values!), height: sized.card.preprocess.size, width: sized.card.preprocess.width ?? sized.card.preprocess.size };
}

async function show(file: string, key: string): Promise<{ width: number; height: number; argmax: number; summary: string; gridAria: string }> {
  const model = prepareModel(new Uint8Array(readFileSync(path.join(ROOT, file))), path.basename(file), key);
  const bytes = new Uint8Array(readFileSync(path.join(ROOT, 'samples', PHOTO)));
  await h.post({ type: 'visualize', backend: 'wasm', model, image: { name: PHOTO, uri: `file:///${PHOTO}`, bytes, mime: 'image/png' } });
  await h.waitForState('done');
  return h.page.evaluate(() => {
    const img = document.getElementById('image') as HTMLCanvasElement;
    const heat = document.getElementById('heatmap') as HTMLCanvasElement;
    return { width: img.width, height: img.height, argmax: Number(heat.dataset.argmaxPatch), summary: document.getElementById('summary')?.textContent ?? '', gridAria: heat.getAttribute('aria-label') ?? '' };
  });
}

test('a ViT exported at 24×40: a 40×24 input canvas, 3×5 grid, the hottest patch Node computes', async () => {
  const file = 'test/fixtures/nonsquare/nonsquare-fixed.onnx';
  const want = await nodeHottest(prepareModel(new Uint8Array(readFileSync(path.join(ROOT, file))), 'nonsquare-fixed.onnx', 'ns'));
  const got = await show(file, 'ns');
  assert.deepEqual([got.width, got.height], [40, 24]);
  assert.equal(got.argmax, want.index);
  assert.match(got.summary, /40×24 \(width×height\) \(graph input\)/);
  assert.match(got.summary, /3×5/);
});

test('DINO dynamic-size export: run at the photo\'s aspect ratio (40×24 for 451×300), the hottest patch Node computes', async () => {
  const file = 'test/fixtures/dino/dino-dynamic-hw.onnx';
  const want = await nodeHottest(prepareModel(new Uint8Array(readFileSync(path.join(ROOT, file))), 'dino-dynamic-hw.onnx', 'dino'));
  assert.deepEqual([want.width, want.height], [40, 24]);
  const got = await show(file, 'dino');
  assert.deepEqual([got.width, got.height], [40, 24]);
  assert.equal(got.argmax, want.index);
  assert.match(got.summary, /the image's aspect ratio at about the trained 32×32/);
});
