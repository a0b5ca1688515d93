/**
 * The extension host's run ahead (src/host/runAhead.ts): its JPEG decoder gives the same pixels as PIL's libjpeg-turbo
 * (and so as Chromium: test/browser/hostRun.test.ts compares them in the page), it runs ahead only on images it
 * decodes as the page does, and the page's request gets that run only with the same model-input pixels.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { PNG } from 'pngjs';
import { decodeJpeg } from '../../src/host/decodeJpeg';
import { decodePng } from '../../src/host/decodePng';
import { canRunAhead, pixelsSha256, RunAhead, type AheadInput } from '../../src/host/runAhead';
import { readImageHeader } from '../../src/shared/imageHeader';
import { preprocessRgba, toInputTensor } from '../../src/shared/preprocess';
import { runOutputs, type HostRun } from '../../src/shared/protocol';
import { ROOT } from '../support/fixtures';
import { realModel } from '../support/realModel';

const WASM = path.join(ROOT, 'node_modules/@jsquash/jpeg/codec/dec/mozjpeg_dec.wasm');
const file = (...p: string[]) => new Uint8Array(readFileSync(path.join(ROOT, ...p)));
/** PIL's decode of a sample (scripts/reference_preprocess.py), as RGBA. */
const pilDecoded = (name: string) => PNG.sync.read(Buffer.from(file('test/fixtures/preprocess/decoded', `${name}.png`)));
const model = realModel();
const fakeRun: HostRun = { tensors: [], backend: 'wasm', threads: 1, inferenceMs: 1, sessionMs: 0 };

/** A sample JPEG whose first Huffman table is bogus (its code counts all 255): its header reads, its data cannot. */
function corruptJpeg(): Uint8Array {
  const b = file('samples', 'pizza.jpg');
  const dht = b.findIndex((v, i) => v === 0xff && b[i + 1] === 0xc4);
  b.fill(0xff, dht + 5, dht + 21);
  return b;
}

test('the host decodes the sample JPEGs to the same pixels as PIL, bit for bit', async () => {
  for (const name of ['cat_tabby.jpg', 'dog_beagle.jpg', 'pizza.jpg', 'shuttle.jpg']) {
    const d = await decodeJpeg(file('samples', name), WASM);
    const pil = pilDecoded(name);
    assert.deepEqual([d.width, d.height], [pil.width, pil.height], name);
    let differ = 0;
    for (let i = 0; i < d.rgba.length; i++) if (d.rgba[i] !== pil.data[i]) differ++;
    assert.equal(differ, 0, `${name}: ${differ} of ${d.rgba.length} values differ from PIL's decode`);
  }
  // The extension host is shared: the module's global ImageData exists only while it decodes.
  assert.equal('ImageData' in globalThis, false);
});

test('a corrupt JPEG is refused with libjpeg\'s reason, and the next one decodes', async () => {
  const good = file('samples', 'pizza.jpg');
  await assert.rejects(decodeJpeg(corruptJpeg(), WASM), (e: Error) => /huffman/i.test(e.message));
  const d = await decodeJpeg(good, WASM);
  assert.deepEqual([d.width, d.height], [640, 426]);
});

test('the host runs ahead only on JPEGs it decodes as the page does: grey or YCbCr, not CMYK, not other formats, not huge', () => {
  assert.equal(canRunAhead(readImageHeader(file('samples', 'cat_tabby.jpg'), 'cat')), true);
  const cmyk = readImageHeader(file('test/fixtures/bad-images', 'cmyk.jpg'), 'cmyk');
  assert.equal(cmyk.components, 4);
  assert.equal(canRunAhead(cmyk), false);
  assert.equal(canRunAhead({ format: 'jpeg', mime: 'image/jpeg', width: 5000, height: 4000, components: 3 }), false);
  // PNG: 8 bits or fewer, no alpha channel, up to 4 MP.
  assert.deepEqual(readImageHeader(file('samples', 'chelsea.png'), 'chelsea').png, { bitDepth: 8, colorType: 2, transparency: false });
  const clear = readImageHeader(file('test/fixtures/png', 'palette-transparent.png'), 'palette-transparent');
  assert.deepEqual(clear.png, { bitDepth: 8, colorType: 3, transparency: true });
  assert.equal(canRunAhead(clear), false);
  assert.equal(canRunAhead(readImageHeader(file('samples', 'chelsea.png'), 'chelsea')), true);
  assert.equal(canRunAhead(readImageHeader(file('test/fixtures/png', 'palette-64.png'), 'palette')), true);
  assert.equal(canRunAhead(readImageHeader(file('test/fixtures/bad-images', 'alpha.png'), 'alpha')), false);
  assert.equal(canRunAhead(readImageHeader(file('test/fixtures/bad-images', 'grey16.png'), 'grey16')), false);
  assert.equal(canRunAhead(readImageHeader(file('test/fixtures/bad-images', 'huge-20000x20000.png'), 'huge')), false);
  assert.equal(canRunAhead(readImageHeader(file('test/fixtures/bad-images', 'image.webp'), 'webp')), false);
});

test('a PNG with transparent pixels is left to the page, which composites them on white', async () => {
  await assert.rejects(decodePng(file('test/fixtures/bad-images', 'alpha.png')), /transparent pixels/);
  const d = await decodePng(file('samples', 'coffee.png'));
  assert.deepEqual([d.width, d.height, d.rgba.length], [600, 400, 600 * 400 * 4]);
});

/** The page's model-input pixels for a sample, computed from PIL's decode as the page computes them from its own. */
function pagePixels(name: string): Uint8ClampedArray {
  const pil = pilDecoded(name);
  return preprocessRgba(new Uint8Array(pil.data), pil.width, pil.height, model.card.preprocess);
}

test('the page gets the run ahead when its pixels are the same, once; else it is told why', async () => {
  const bytes = file('samples', 'cat_tabby.jpg');
  const header = readImageHeader(bytes, 'cat');
  const ahead = new RunAhead();
  const asked: AheadInput[] = [];
  const run = async (r: AheadInput) => {
    asked.push(r);
    return fakeRun;
  };
  assert.equal(ahead.start(7, model, bytes, header, WASM, run), true);
  assert.equal(ahead.has(7), true);
  const pixels = pagePixels('cat_tabby.jpg');
  const got = await ahead.take(7, model.key, pixelsSha256(pixels), runOutputs(model));
  assert.deepEqual(got, { run: fakeRun });
  assert.equal(asked.length, 1);
  // The thread was asked for the page's own input: the same tensor, shape and outputs.
  assert.deepEqual(asked[0].dims, [1, 3, 224, 224]);
  assert.deepEqual(asked[0].outputs, runOutputs(model));
  assert.deepEqual(asked[0].input, toInputTensor(pixels, model.card.preprocess));
  // Served once.
  assert.deepEqual(await ahead.take(7, model.key, pixelsSha256(pixels), runOutputs(model)), { differs: 'none' });

  ahead.start(8, model, bytes, header, WASM, run);
  assert.deepEqual(await ahead.take(8, model.key, pixelsSha256(pagePixels('pizza.jpg')), runOutputs(model)), { differs: 'pixels' });
  ahead.start(9, model, bytes, header, WASM, run);
  assert.deepEqual(await ahead.take(10, model.key, pixelsSha256(pixels), runOutputs(model)), { differs: 'none' });
  ahead.start(11, model, bytes, header, WASM, run);
  assert.deepEqual(await ahead.take(11, 'another model', pixelsSha256(pixels), runOutputs(model)), { differs: 'none' });
  ahead.start(12, model, bytes, header, WASM, run);
  assert.deepEqual(await ahead.take(12, model.key, pixelsSha256(pixels), [...runOutputs(model), 'other']), { differs: 'outputs' });
});

test('a PNG runs ahead on the host\'s decode, with the input the model card asks for', async () => {
  const bytes = file('samples', 'coffee.png');
  const ahead = new RunAhead();
  const asked: AheadInput[] = [];
  assert.equal(ahead.start(3, model, bytes, readImageHeader(bytes, 'coffee'), WASM, async (r) => (asked.push(r), fakeRun)), true);
  const d = await decodePng(bytes);
  const pixels = preprocessRgba(d.rgba, d.width, d.height, model.card.preprocess);
  assert.deepEqual(await ahead.take(3, model.key, pixelsSha256(pixels), runOutputs(model)), { run: fakeRun });
  assert.deepEqual(asked[0].dims, [1, 3, 224, 224]);
  assert.deepEqual(asked[0].input, toInputTensor(pixels, model.card.preprocess));
});

test('no run ahead for a CMYK JPEG; a JPEG the host cannot decode is reported as such', async () => {
  const ahead = new RunAhead();
  let runs = 0;
  const run = async () => {
    runs++;
    return fakeRun;
  };
  const cmyk = file('test/fixtures/bad-images', 'cmyk.jpg');
  assert.equal(ahead.start(1, model, cmyk, readImageHeader(cmyk, 'cmyk'), WASM, run), false);
  assert.equal(ahead.has(1), false);
  const bad = corruptJpeg();
  assert.equal(ahead.start(2, model, bad, readImageHeader(bad, 'bad'), WASM, run), true);
  const got = await ahead.take(2, model.key, 'any', runOutputs(model));
  assert.equal('differs' in got && got.differs, 'decode');
  assert.equal(runs, 0);
});
