/**
 * The real webview path (createImageBitmap at native size, canvas on white, getImageData, our PIL-exact
 * resize) in headless Chromium gives the model the pixels PIL gives it (test/fixtures/preprocess, written by
 * scripts/reference_preprocess.py), for every sample photo and config kind.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { PNG } from 'pngjs';
import { CardFiles, chooseCard } from '../../src/shared/prepareModel';
import { preprocessRgba } from '../../src/shared/preprocess';
import { demoModel, ROOT } from '../support/fixtures';
import { Harness, startHarness } from './harness';

const FIXTURES = path.join(ROOT, 'test/fixtures/preprocess');
const index = JSON.parse(readFileSync(path.join(FIXTURES, 'index.json'), 'utf8')) as { kinds: Record<string, { file: string; photos: string[] }> };
const model = demoModel();
const isJpeg = (name: string) => /\.jpe?g$/i.test(name);
let h: Harness;
let sentBytes = false;

before(async () => { h = await startHarness({ serve: ['/samples/', '/test/fixtures/preprocess/'] }); });
after(async () => h?.close());

function filesFor(kind: string): CardFiles {
  const { file } = index.kinds[kind];
  const json = JSON.parse(readFileSync(path.join(FIXTURES, kind, file), 'utf8')) as Record<string, unknown>;
  return file === 'config.json' ? { config: json } : file === 'preprocessor_config.json' ? { preprocessor: json } : { own: json };
}

/** Shows `name` with the demo model under `kind`'s preprocessing; returns the model-input canvas's RGB max difference from PIL's. */
async function webviewDiff(kind: string, name: string): Promise<number> {
  const card = chooseCard(model.card, filesFor(kind), 'vit-demo.onnx');
  const bytes = new Uint8Array(readFileSync(path.join(ROOT, 'samples', name)));
  await h.post({ type: 'visualize', backend: 'wasm', model: { ...model, card, bytes: sentBytes ? undefined : model.bytes }, image: { name, uri: `file:///${name}`, bytes, mime: isJpeg(name) ? 'image/jpeg' : 'image/png' } });
  sentBytes = true;
  await h.waitForState('done');
  // The 'image' canvas holds the size×size RGBA the model was fed (putImageData of loadImageInput's pixels).
  const got = await h.page.evaluate(() => {
    const c = document.getElementById('image') as HTMLCanvasElement;
    return { w: c.width, h: c.height, data: Array.from(c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data) };
  });
  assert.deepEqual([got.w, got.h], [224, 224]);
  const ref = readFileSync(path.join(FIXTURES, kind, `${name}.rgb`));
  let max = 0;
  for (let i = 0, j = 0; j < ref.length; i += 4, j += 3) for (let c = 0; c < 3; c++) max = Math.max(max, Math.abs(got.data[i + c] - ref[j + c]));
  return max;
}

// The non-square kinds' geometry is checked in Node (test/unit/preprocess.test.ts); the page runs the 224×224 demo.
for (const [kind, k] of Object.entries(index.kinds).filter(([name]) => !name.endsWith('nonsquare'))) {
  test(`webview, ${kind}: every photo within 2/255 of PIL`, async (t) => {
    const rows: string[] = [];
    for (const name of k.photos) {
      const d = await webviewDiff(kind, name);
      rows.push(`${name} ${d}`);
      assert.ok(d <= 2, `${kind} ${name}: max |webview − PIL| = ${d}/255`);
    }
    t.diagnostic(`max |webview − PIL|: ${rows.join(', ')}`);
  });
}

test('measured: how far Chromium decodes the sample JPEGs from PIL (libjpeg-turbo in both)', async (t) => {
  const rows: string[] = [];
  for (const name of index.kinds.card.photos.filter(isJpeg)) {
    // Both decoded in the page the way loadImageInput decodes; PIL's decode is a lossless PNG of its pixels.
    const d = await h.page.evaluate(async ([jpg, png]) => {
      // No named functions in here: tsx would wrap them in a helper the page does not have.
      const decoded: Uint8ClampedArray[] = [];
      for (const url of [jpg, png]) {
        const bm = await createImageBitmap(await (await fetch(url)).blob(), { imageOrientation: 'from-image', colorSpaceConversion: 'none', premultiplyAlpha: 'none' });
        const c = new OffscreenCanvas(bm.width, bm.height).getContext('2d')!;
        c.drawImage(bm, 0, 0);
        decoded.push(c.getImageData(0, 0, bm.width, bm.height).data);
      }
      const [a, b] = decoded;
      if (a.length !== b.length) return -1;
      let max = 0, n = 0;
      for (let i = 0; i < a.length; i++) { const e = Math.abs(a[i] - b[i]); if (e) n++; if (e > max) max = e; }
      return max * 1e9 + n;
    }, [`${h.url}/samples/${name}`, `${h.url}/test/fixtures/preprocess/decoded/${name}.png`]);
    assert.notEqual(d, -1, `${name}: sizes differ`);
    rows.push(`${name} max ${Math.floor(d / 1e9)}, ${d % 1e9} values differ`);
  }
  t.diagnostic(`Chromium vs PIL JPEG decode at native size: ${rows.join('; ')}`);
});

test('a 4100×4100 image, resized from strips of about 1 000 rows, gives exactly the pixels of a one-buffer resize', async () => {
  const [W, H] = [4100, 4100];
  const png = new PNG({ width: W, height: H });
  for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) {
    const i = (y * W + x) * 4;
    // Fine stripes and checks, so every strip's rows change the result.
    png.data[i] = (x * 7 + y * 3) & 255;
    png.data[i + 1] = ((x >> 3) ^ (y >> 2)) & 255;
    png.data[i + 2] = (x * y) >> 12 & 255;
    png.data[i + 3] = 255;
  }
  const bytes = new Uint8Array(PNG.sync.write(png, { deflateLevel: 1 }));
  const card = chooseCard(model.card, filesFor('timm'), 'vit-demo.onnx');
  await h.post({ type: 'visualize', backend: 'wasm', model: { ...model, card, bytes: sentBytes ? undefined : model.bytes }, image: { name: 'big.png', uri: 'file:///big.png', bytes, mime: 'image/png' } });
  sentBytes = true;
  await h.waitForState('done');
  const got = await h.page.evaluate(() => {
    const c = document.getElementById('image') as HTMLCanvasElement;
    return Array.from(c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data);
  });
  const want = preprocessRgba(png.data, W, H, card.preprocess);
  let max = 0;
  for (let i = 0; i < want.length; i++) if (i % 4 !== 3) max = Math.max(max, Math.abs(got[i] - want[i]));
  assert.equal(max, 0, `max |webview − one-buffer resize| = ${max}`);
});
