/** The MAP probe card: drawn for SigLIP's attention-pooling head with the model's numbers, hidden for the demo ViT. */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { prepareModel } from '../../src/shared/prepareModel';
import { demoModel, ROOT } from '../support/fixtures';
import { Harness, startHarness } from './harness';

let h: Harness;
const image = { name: 'shapes-circle.png', uri: 'file:///c.png', bytes: new Uint8Array(readFileSync(path.join(ROOT, 'test/fixtures/images/shapes-circle.png'))), mime: 'image/png' };

before(async () => {
  h = await startHarness();
});
after(async () => h?.close());

/** Per canvas in the card: painted pixels and distinct colours (a heatmap has more than one). */
async function canvases(): Promise<{ inked: number; colours: number; w: number }[]> {
  return h.page.evaluate(() => [...document.querySelectorAll('#map-probe-out canvas')].map((el) => {
    const c = el as HTMLCanvasElement;
    const d = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
    let inked = 0;
    const colours = new Set<number>();
    for (let k = 0; k < d.length; k += 4) {
      if (d[k + 3] > 0) inked++;
      colours.add((d[k] << 16) | (d[k + 1] << 8) | d[k + 2]);
    }
    return { inked, colours: colours.size, w: c.width };
  }));
}

test('siglip-map: the probe card shows the mean and each head on the image, with the share computed from the run', async () => {
  const file = 'siglip-map.onnx';
  const model = prepareModel(new Uint8Array(readFileSync(path.join(ROOT, 'test/fixtures/classifiers', file))), file, file);
  await h.post({ type: 'visualize', backend: 'wasm', model, image });
  await h.waitForState('done');
  assert.equal(await h.page.locator('#map-probe').isVisible(), true);
  const captions = await h.page.locator('#map-probe-out figcaption').allTextContents();
  assert.deepEqual(captions, ['Mean over 2 heads', 'Head 1', 'Head 2']);
  const drawn = await canvases();
  assert.equal(drawn.length, 3);
  for (const c of drawn) {
    assert.equal(c.inked, c.w * c.w, 'every pixel painted');
    assert.ok(c.colours > 16, `a heatmap over the image, not a flat fill (${c.colours} colours)`);
  }
  const text = await h.page.locator('#map-probe-text').textContent() ?? '';
  const top = Number(await h.page.locator('#map-probe-out').getAttribute('data-top'));
  assert.ok(top > 5 / 16 - 1e-6 && top <= 1, `top-5 share ${top}`);
  assert.ok(text.startsWith(`The classifier reads one learned query's attention over the 16 tokens: ${(top * 100).toFixed(1)}% of it (mean over its 2 heads) on the 5 hottest patches of 16`), text);
  console.log(text);
});

test('the demo ViT (CLS head, no probe) hides the card', async () => {
  await h.post({ type: 'visualize', backend: 'wasm', model: demoModel(), image });
  await h.waitForState('done');
  assert.equal(await h.page.locator('#map-probe').isVisible(), false);
  assert.equal(await h.page.locator('#map-probe-out canvas').count(), 0);
  assert.equal(await h.page.locator('#map-probe-text').textContent(), '');
});
