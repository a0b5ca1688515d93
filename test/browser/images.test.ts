/**
 * Every kind of image a user may right-click, decoded by the real webview: orientation, channels and alpha
 * handled; broken files give a clear error and the panel keeps working.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { readImageHeader } from '../../src/shared/imageHeader';
import { demoModel, ROOT } from '../support/fixtures';
import { Harness, startHarness } from './harness';

let h: Harness;
const model = demoModel();
const dir = path.join(ROOT, 'test/fixtures/bad-images');

before(async () => { h = await startHarness(); });
after(async () => h?.close());

async function show(name: string): Promise<void> {
  const bytes = new Uint8Array(readFileSync(path.join(dir, name)));
  let mime = 'image/png';
  try { mime = readImageHeader(bytes, name).mime; } catch { /* the host would refuse it; the webview must cope too */ }
  await h.post({ type: 'visualize', backend: 'wasm', model: { ...model, bytes: undefined }, image: { name, uri: `file:///${name}`, bytes, mime } });
}

/** RGB of the model-input canvas at (x, y). The fixtures have a red square top-left on blue. */
async function pixel(x: number, y: number): Promise<number[]> {
  return h.page.evaluate(([px, py]) => Array.from((document.getElementById('image') as HTMLCanvasElement).getContext('2d')!.getImageData(px, py, 1, 1).data.slice(0, 3)), [x, y]);
}

test('first run sends the model bytes', async () => {
  const bytes = new Uint8Array(readFileSync(path.join(dir, 'rgb.png')));
  await h.post({ type: 'visualize', backend: 'wasm', model, image: { name: 'rgb.png', uri: 'file:///rgb.png', bytes, mime: 'image/png' } });
  await h.waitForState('done');
});

for (const name of ['rgb.png', 'cmyk.jpg', 'exif-rotated.jpg', 'animated.gif', 'image.bmp', 'image.webp', 'vector.svg']) {
  test(`${name}: decoded upright, red square top-left on blue`, async () => {
    await show(name);
    await h.waitForState('done');
    const [r1, g1, b1] = await pixel(20, 50);
    const [r2, , b2] = await pixel(200, 200);
    assert.ok(r1 > 150 && b1 < 100 && g1 < 100, `${name}: top-left is red, got ${[r1, g1, b1]}`);
    assert.ok(b2 > 150 && r2 < 80, `${name}: bottom-right is blue, got ${r2},${b2}`);
  });
}

test('alpha.png: transparent pixels are composited on white', async () => {
  await show('alpha.png');
  await h.waitForState('done');
  const [r, g, b] = await pixel(20, 50);
  assert.ok(Math.abs(r - 237) <= 3 && Math.abs(g - 143) <= 3 && Math.abs(b - 143) <= 3, `half-transparent red over white, got ${[r, g, b]}`);
});

for (const name of ['grey8.png', 'grey16.png']) {
  test(`${name}: greyscale becomes three equal channels`, async () => {
    await show(name);
    await h.waitForState('done');
    const [r, g, b] = await pixel(100, 100);
    assert.ok(r === g && g === b, `${[r, g, b]}`);
  });
}

for (const [name, message] of [['empty.png', /could not be decoded \(0 bytes/], ['not-an-image.png', /could not be decoded/], ['truncated.png', /could not be decoded/]] as const) {
  test(`${name}: a clear error, then the panel still works`, async () => {
    await show(name);
    await h.waitForState('error');
    assert.match(await h.page.locator('#error').textContent() ?? '', message);
    await show('rgb.png');
    await h.waitForState('done');
  });
}
