/** The Swin views in the real webview: window borders read back from the overlay, a clicked patch's window. */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { partitionIndexMap, windowOf } from '../../src/shared/windowPartition';
import { ROOT, swinModel } from '../support/fixtures';
import { Harness, startHarness } from './harness';

let h: Harness;
const model = swinModel();

before(async () => {
  h = await startHarness();
  mkdirSync(path.join(ROOT, 'test-results'), { recursive: true });
  const bytes = new Uint8Array(readFileSync(path.join(ROOT, 'samples/cat_tabby.jpg')));
  await h.post({ type: 'visualize', backend: 'wasm', model, image: { name: 'cat_tabby.jpg', uri: 'file:///cat_tabby.jpg', bytes, mime: 'image/jpeg' } });
  await h.waitForState('done');
});
after(async () => h?.close());

async function selectBlock(i: number): Promise<void> {
  await h.page.evaluate((v) => {
    const s = document.getElementById('layer') as HTMLElement & { value: string };
    s.value = String(v);
    s.dispatchEvent(new Event('change'));
  }, i);
}

async function overlayAlpha(points: [number, number][]): Promise<number[]> {
  return h.page.evaluate((pts) => {
    const c = document.getElementById('grid') as HTMLCanvasElement;
    const ctx = c.getContext('2d')!;
    return pts.map(([x, y]) => ctx.getImageData(x, y, 1, 1).data[3]);
  }, points);
}

test('the panel shows the Swin summary and explains global average pooling', async () => {
  const summary = await h.page.locator('#summary').textContent();
  assert.match(summary ?? '', /Swin Transformer/);
  assert.match(summary ?? '', /56×56 → 28×28 → 14×14 → 7×7/);
  assert.match(await h.page.locator('#explain').textContent() ?? '', /no CLS token.*global average pooling/);
  const options = await h.page.locator('#layer vscode-option').allTextContents();
  assert.equal(options.length, model.structure.swin!.blocks.length);
  assert.match(options[1], /Stage 1 · block 2 \(SW-MSA, shift 3/);
});

test('window borders: regular windows at multiples of 7 tokens, shifted ones moved by 3 tokens', async () => {
  // Stage 1: 56×56 tokens on a 224-pixel canvas, 4 pixels a token, windows of 7 tokens = 28 pixels.
  await selectBlock(0);
  assert.deepEqual(await overlayAlpha([[28, 2], [56, 2], [14, 2]]).then((a) => a.map((v) => v === 255)), [true, true, false]);
  await h.page.screenshot({ path: path.join(ROOT, 'test-results/swin-windows.png') });
  await selectBlock(1);
  assert.equal(await h.page.locator('#grid').getAttribute('data-window-shift'), '3');
  // Shifted: borders at (7k + 3) tokens = 12, 40 pixels; 28 is now inside a window.
  assert.deepEqual(await overlayAlpha([[12, 64], [40, 64], [28, 64]]).then((a) => a.map((v) => v === 255)), [true, true, false]);
  await h.page.screenshot({ path: path.join(ROOT, 'test-results/swin-shifted-windows.png') });
});

test('clicking a patch shows its attention exactly over its (shifted) window', async () => {
  await selectBlock(1);
  const block = model.structure.swin!.blocks[1];
  const layout = { rows: block.grid, cols: block.grid, window: block.window, shift: block.shift };
  const [r, c] = [1, 54]; // near the top-right corner: its shifted window wraps around both borders
  const box = (await h.page.locator('#stack').boundingBox())!;
  await h.page.mouse.click(box.x + ((c + 0.5) / block.grid) * box.width, box.y + ((r + 0.5) / block.grid) * box.height);
  assert.match(await h.page.locator('#selection').textContent() ?? '', new RegExp(`row ${r}, column ${c}`));
  const alpha = await h.page.evaluate(() => {
    const cv = document.getElementById('heatmap') as HTMLCanvasElement;
    return Array.from(cv.getContext('2d')!.getImageData(0, 0, cv.width, cv.height).data.filter((_, i) => i % 4 === 3));
  });
  const px = 224 / block.grid;
  const n = block.window * block.window;
  const w = windowOf(layout, r, c).window;
  const tokens = new Set(Array.from(partitionIndexMap(layout).slice(w * n, (w + 1) * n)));
  let inside = 0;
  let outsideVisible = 0;
  alpha.forEach((a, i) => {
    const token = Math.floor(Math.floor(i / 224) / px) * block.grid + Math.floor((i % 224) / px);
    if (tokens.has(token)) inside += a > 0 ? 1 : 0;
    else if (a > 0) outsideVisible++;
  });
  assert.equal(outsideVisible, 0, 'nothing drawn outside the window');
  assert.equal(inside, n * px * px, 'every pixel of the window is drawn');
  await h.page.screenshot({ path: path.join(ROOT, 'test-results/swin-patch-attention.png') });
});
