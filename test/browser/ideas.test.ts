/** The "ideas" views render from the demo model and image, with numbers computed from them. */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
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
