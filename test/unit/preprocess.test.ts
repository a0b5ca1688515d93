/**
 * The tensor we feed equals the one PIL + numpy compute (scripts/reference_preprocess.py wrote the references
 * with timm's, torchvision's and Hugging Face's eval transforms), and the card/config readers pick the
 * preprocessing the model was trained with and say where each setting came from.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { decodeImage } from '../../src/cli/imageFile';
import { cardFromHuggingFace, cardFromJson, cardFromTimm, configKind, defaultCard, describePreprocess, ModelCard, Preprocess } from '../../src/shared/modelCard';
import { summaryRows } from '../../src/shared/modelSummary';
import { CardFiles, chooseCard } from '../../src/shared/prepareModel';
import { compositeOnWhite, preprocessRgba, resizeCropFor } from '../../src/shared/preprocess';
import { resizeCrop, roundHalfEven } from '../../src/shared/resample';
import type { VitStructure } from '../../src/shared/vitStructure';
import { demoModel, ROOT } from '../support/fixtures';

type Json = Record<string, unknown>;
const FIXTURES = path.join(ROOT, 'test/fixtures/preprocess');
interface Index {
  photos: Record<string, { width: number; height: number; decodedSha256: string }>;
  kinds: Record<string, { file: string; semantics: string; photos: string[]; size: [number, number] }>;
}
const index = JSON.parse(readFileSync(path.join(FIXTURES, 'index.json'), 'utf8')) as Index;
const readJson = (file: string) => JSON.parse(readFileSync(file, 'utf8')) as Json;

/** Just what defaultCard reads: a fixed 224×224 input and `classes` outputs. */
function structure(classes: number | undefined, size = 224): VitStructure {
  return { input: { name: 'pixel_values', channels: 3, height: size, width: size, dynamicBatch: false }, logits: { name: 'logits', classes }, patchSize: 16 } as unknown as VitStructure;
}
const base = (classes: number | undefined = 1000) => defaultCard('model', structure(classes));

function filesFor(kind: string): CardFiles {
  const { file } = index.kinds[kind];
  const json = readJson(path.join(FIXTURES, kind, file));
  return file === 'config.json' ? { config: json } : file === 'preprocessor_config.json' ? { preprocessor: json } : { own: json };
}

const isJpeg = (name: string) => /\.jpe?g$/i.test(name);

/** The photo as PIL decoded it: PNGs decode identically with pngjs (checked by hash); JPEGs come from PIL's own decode. */
function pilPixels(name: string) {
  const file = isJpeg(name) ? path.join(FIXTURES, 'decoded', `${name}.png`) : path.join(ROOT, 'samples', name);
  const img = decodeImage(new Uint8Array(readFileSync(file)), name);
  return img;
}

function rgbOf(rgba: Uint8Array | Uint8ClampedArray): Uint8Array {
  const out = new Uint8Array((rgba.length / 4) * 3);
  for (let i = 0, j = 0; i < rgba.length; i += 4, j += 3) { out[j] = rgba[i]; out[j + 1] = rgba[i + 1]; out[j + 2] = rgba[i + 2]; }
  return out;
}

function maxDiff(a: Uint8Array | Uint8ClampedArray, rgb: Uint8Array): number {
  let m = 0;
  for (let i = 0, j = 0; j < rgb.length; i += 4, j += 3) for (let c = 0; c < 3; c++) m = Math.max(m, Math.abs(a[i + c] - rgb[j + c]));
  return m;
}

test('PNG samples decode with pngjs to exactly the RGB PIL decodes', () => {
  for (const [name, info] of Object.entries(index.photos)) {
    const img = pilPixels(name);
    assert.equal(img.width, info.width);
    assert.equal(img.height, info.height);
    if (!isJpeg(name)) assert.equal(createHash('sha256').update(rgbOf(img.rgba)).digest('hex'), info.decodedSha256, name);
  }
});

for (const [kind, k] of Object.entries(index.kinds)) {
  test(`${kind} (${k.file}, ${k.semantics} semantics): our resize + crop of PIL's pixels is within 2/255 of PIL's on every photo`, (t) => {
    const card = chooseCard(base(), filesFor(kind), 'model.onnx');
    const worst: string[] = [];
    for (const name of k.photos) {
      const img = pilPixels(name);
      compositeOnWhite(img.rgba);
      const ours = preprocessRgba(img.rgba, img.width, img.height, card.preprocess);
      const ref = new Uint8Array(readFileSync(path.join(FIXTURES, kind, `${name}.rgb`)));
      assert.equal(ref.length, k.size[0] * k.size[1] * 3);
      assert.equal(ours.length, k.size[0] * k.size[1] * 4);
      const d = maxDiff(ours, ref);
      worst.push(`${name} ${d}`);
      assert.ok(d <= 2, `${kind} ${name}: max |ours − PIL| = ${d}/255`);
    }
    t.diagnostic(`max |ours − PIL| per photo: ${worst.join(', ')}`);
  });
}

test('JPEG decoder cost: jpeg-js (the CLI) instead of libjpeg-turbo (PIL) moves the model input by this much', (t) => {
  const card = chooseCard(base(), filesFor('card'), 'model.onnx');
  const rows: string[] = [];
  for (const name of index.kinds.card.photos.filter(isJpeg)) {
    const img = decodeImage(new Uint8Array(readFileSync(path.join(ROOT, 'samples', name))), name);
    const d = maxDiff(preprocessRgba(img.rgba, img.width, img.height, card.preprocess), new Uint8Array(readFileSync(path.join(FIXTURES, 'card', `${name}.rgb`))));
    rows.push(`${name} ${d}`);
    // Measured 8..19/255 (jpeg-js upsamples chroma without libjpeg's smoothing); a bound only to notice regressions.
    assert.ok(d <= 32, `${name}: ${d}`);
  }
  t.diagnostic(`jpeg-js → max |ours − PIL| (card config): ${rows.join(', ')}`);
});

test('resizeCrop matches Pillow on small hand-checked cases', () => {
  // 4 → 2 bilinear: support 2, weights (1,3,3,1)/8 around each centre; 8-bit rounding as Pillow.
  const src = new Uint8Array([0, 0, 0, 255, 100, 0, 0, 255, 200, 0, 0, 255, 255, 0, 0, 255]);
  const out = resizeCrop(src, 4, 1, { resizeWidth: 2, resizeHeight: 1, left: 0, top: 0, width: 2, height: 1 }, 'bilinear');
  // (0·3 + 100·3 + 200·1)/7 = 71.4 → 71; (100·1 + 200·3 + 255·3)/7 = 209.3 → 209 (edge taps clipped, renormalized)
  assert.deepEqual([out[0], out[4]], [71, 209]);
  // Same size: the identity, and alpha comes out opaque.
  const same = resizeCrop(src, 4, 1, { resizeWidth: 4, resizeHeight: 1, left: 0, top: 0, width: 4, height: 1 }, 'bicubic');
  assert.deepEqual(Array.from(same), Array.from(src));
  // A window past the edge is filled.
  const padded = resizeCrop(src, 4, 1, { resizeWidth: 4, resizeHeight: 1, left: -1, top: 0, width: 2, height: 1, fill: [9, 8, 7] }, 'nearest');
  assert.deepEqual(Array.from(padded), [9, 8, 7, 255, 0, 0, 0, 255]);
});

test('geometry: torchvision/timm shorter side + round() crop, Hugging Face (h − crop)//2, timm border', () => {
  const card = chooseCard(base(), filesFor('timm'), 'model.onnx').preprocess;
  // 640×426, crop_pct 0.875 → shorter side 256, longer int(256·640/426) = 384; crop at round(80), round(16).
  assert.deepEqual(resizeCropFor(640, 426, card), { resizeWidth: 384, resizeHeight: 256, left: 80, top: 16, width: 224, height: 224, fill: [0, 0, 0] });
  // 451×300 with crop_pct 0.9 → 248: 372.85 → 372 wide; (372 − 224)/2 = 74, (248 − 224)/2 = 12.
  const ours = readJson(path.join(FIXTURES, 'card/model.json'));
  assert.deepEqual(resizeCropFor(451, 300, cardFromJson(ours, base()).preprocess), { resizeWidth: 372, resizeHeight: 248, left: 74, top: 12, width: 224, height: 224, fill: [0, 0, 0] });
  // Odd margins: torchvision rounds half to even (0.5 → 0, 1.5 → 2), Hugging Face floors.
  const p: Preprocess = { size: 224, resize: 'shorter-side', crop: 'center', mean: [0, 0, 0], std: [1, 1, 1], scale: 255, resizeSize: 225 };
  assert.equal(resizeCropFor(300, 300, p).left, 0);
  assert.equal(resizeCropFor(300, 300, { ...p, resizeSize: 227 }).left, 2);
  assert.equal(resizeCropFor(300, 300, { ...p, resizeSize: 227, cropRounding: 'floor' }).left, 1);
  // Border: the longer side to 235 (crop_pct 0.95), the shorter side round()ed, padded with round(255·mean).
  const border = chooseCard(base(), filesFor('timm-border-bilinear'), 'model.onnx').preprocess;
  assert.deepEqual(resizeCropFor(451, 300, border), { resizeWidth: 235, resizeHeight: 156, left: 6, top: -34, width: 224, height: 224, fill: [124, 116, 104] });
  assert.deepEqual([0.5, 1.5, 2.5, -0.5, -1.5, 3.2].map(roundHalfEven), [0, 2, 2, -0, -2, 3]);
});

test('config readers: every field kept, with where it came from', () => {
  const timm = cardFromTimm(readJson(path.join(FIXTURES, 'timm/config.json')), base());
  assert.equal(timm.source, 'timm');
  assert.deepEqual({ ...timm.preprocess, sources: undefined }, {
    size: 224, resize: 'shorter-side', crop: 'center', mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225], scale: 255,
    interpolation: 'bicubic', cropPct: 0.875, resizeSize: undefined, resizeWidth: undefined, cropRounding: 'round', sources: undefined,
  });
  assert.equal(describePreprocess(timm.preprocess),
    '224×224 (config.json, timm: input_size); bicubic (config.json, timm); shorter side to 256 (crop_pct 0.875), center crop 224 (config.json, timm); ' +
    'mean 0.485, 0.456, 0.406, std 0.229, 0.224, 0.225 (config.json, timm); pixels ÷ 255 (timm ToTensor)');
  // Keys at the top level (older timm exports) read the same.
  const flat = cardFromTimm({ architecture: 'vit_small_patch16_224', input_size: [3, 384, 384], interpolation: 'bilinear', crop_pct: 1, crop_mode: 'squash', mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5] }, base());
  assert.deepEqual([flat.preprocess.size, flat.preprocess.interpolation, flat.preprocess.resize, flat.preprocess.cropPct], [384, 'bilinear', 'squash', 1]);

  const vit = cardFromHuggingFace(undefined, readJson(path.join(FIXTURES, 'hf-vit/preprocessor_config.json')), base());
  assert.deepEqual([vit.preprocess.size, vit.preprocess.resize, vit.preprocess.crop, vit.preprocess.interpolation, vit.preprocess.scale, vit.preprocess.mean], [224, 'squash', 'none', 'bilinear', 255, [0.5, 0.5, 0.5]]);
  assert.equal(vit.preprocess.sources?.interpolation, 'preprocessor_config.json: resample 2');
  const clip = cardFromHuggingFace(undefined, readJson(path.join(FIXTURES, 'hf-shortest-edge/preprocessor_config.json')), base());
  assert.deepEqual([clip.preprocess.size, clip.preprocess.resize, clip.preprocess.resizeSize, clip.preprocess.crop, clip.preprocess.cropRounding, clip.preprocess.interpolation], [224, 'shorter-side', 256, 'center', 'floor', 'bicubic']);
  // A bare int: shortest edge with a crop, the old ViTFeatureExtractor's square without one.
  assert.equal(cardFromHuggingFace(undefined, { size: 256, do_center_crop: true, crop_size: 224 }, base()).preprocess.resizeSize, 256);
  assert.deepEqual(pick(cardFromHuggingFace(undefined, { size: 224, resample: 2 }, base()).preprocess), ['squash', 'none', 224]);
  // do_rescale / do_normalize off.
  const raw = cardFromHuggingFace(undefined, { size: { height: 224, width: 224 }, do_rescale: false, do_normalize: false }, base()).preprocess;
  assert.deepEqual([raw.scale, raw.mean, raw.std], [1, [0, 0, 0], [1, 1, 1]]);
});

test('non-square inputs: timm input_size, Hugging Face {height, width}, our card and the graph set height and width', () => {
  // timm [3, 192, 256], crop_pct 0.9: ResizeKeepRatio to cover 284×213 (w×h), round()ed, then the center crop.
  const timm = chooseCard(base(), filesFor('timm-nonsquare'), 'model.onnx').preprocess;
  assert.deepEqual([timm.size, timm.width, timm.resize], [192, 256, 'shorter-side']);
  // 451×300: ratio min(300/213, 451/284) = 1.4085 → 320×213, crop at round(32), round(10.5) = 10.
  assert.deepEqual(resizeCropFor(451, 300, timm), { resizeWidth: 320, resizeHeight: 213, left: 32, top: 10, width: 256, height: 192, fill: [0, 0, 0] });
  assert.match(describePreprocess(timm), /^256×192 \(width×height\) \(config\.json, timm: input_size\);.*scaled to cover 284×213, aspect kept \(crop_pct 0\.9\), center crop 256×192/);
  const hf = chooseCard(base(), filesFor('hf-vit-nonsquare'), 'model.onnx').preprocess;
  assert.deepEqual([hf.size, hf.width, hf.resize, hf.crop], [160, 224, 'squash', 'none']);
  assert.deepEqual(resizeCropFor(640, 426, hf), { resizeWidth: 224, resizeHeight: 160, left: 0, top: 0, width: 224, height: 160, fill: [0, 0, 0] });
  // Our card: [height, width] or { height, width }; a square size drops the width again.
  const ours = cardFromJson({ preprocess: { size: [288, 384] } }, base()).preprocess;
  assert.deepEqual([ours.size, ours.width, ours.sources?.size], [288, 384, 'model card']);
  assert.deepEqual([cardFromJson({ preprocess: { size: { height: 100, width: 50 } } }, base()).preprocess.width], [50]);
  assert.equal(cardFromJson({ preprocess: { size: 224 } }, cardFromJson({ preprocess: { size: [288, 384] } }, base())).preprocess.width, undefined);
  // A graph fixed at 288×384 (height×width) with nothing beside it: that size, the image scaled to cover it.
  const graph = defaultCard('m', { ...structure(5), input: { name: 'x', channels: 3, height: 288, width: 384, dynamicBatch: false } } as VitStructure).preprocess;
  assert.deepEqual([graph.size, graph.width, graph.resize, graph.crop], [288, 384, 'shorter-side', 'center']);
  assert.deepEqual(resizeCropFor(1000, 1000, graph), { resizeWidth: 384, resizeHeight: 384, left: 0, top: 48, width: 384, height: 288, fill: [0, 0, 0] });
});

function pick(p: Preprocess): [string, string, number] {
  return [p.resize, p.crop, p.size];
}

test('config.json: timm and Hugging Face told apart by content', () => {
  assert.equal(configKind(readJson(path.join(FIXTURES, 'timm/config.json'))), 'timm');
  assert.equal(configKind({ num_classes: 10, label_names: ['a'] }), 'timm');
  assert.equal(configKind({ model_type: 'vit', id2label: { 0: 'a' } }), 'huggingface');
  assert.equal(configKind({ architectures: ['ViTForImageClassification'] }), 'huggingface');
  assert.equal(configKind({ editor: 'unrelated settings' }), undefined);
});

test('precedence: our card, then timm config.json, then Hugging Face preprocessor_config.json, then defaults', () => {
  const timm = readJson(path.join(FIXTURES, 'timm/config.json'));
  const hf = readJson(path.join(FIXTURES, 'hf-shortest-edge/preprocessor_config.json'));
  const own = { preprocess: { interpolation: 'nearest' } };
  const all = chooseCard(base(), { own, config: timm, preprocessor: hf }, 'net.onnx');
  assert.equal(all.source, 'card');
  assert.equal(all.preprocess.interpolation, 'nearest');
  assert.equal(all.preprocess.sources?.interpolation, 'net.json');
  // What the card leaves out comes from timm's config, not the Hugging Face one.
  assert.equal(all.preprocess.cropPct, 0.875);
  assert.equal(all.preprocess.sources?.geometry, 'config.json, timm');
  assert.equal(all.preprocess.sources?.normalize, 'config.json, timm');
  // Without timm: Hugging Face's; labels from its config.json's id2label.
  const hfConfig = { model_type: 'vit', id2label: { 0: 'cat', 1: 'dog' } };
  const h = chooseCard(base(2), { config: hfConfig, preprocessor: hf }, 'net.onnx');
  assert.equal(h.source, 'huggingface');
  assert.deepEqual(h.labels, ['cat', 'dog']);
  assert.equal(h.preprocess.resizeSize, 256);
  assert.equal(h.preprocess.sources?.geometry, 'preprocessor_config.json');
  // Nothing beside the model: defaults, said so.
  const d = chooseCard(base(), {}, 'net.onnx');
  assert.equal(d.source, 'default');
  assert.match(describePreprocess(d.preprocess), /bilinear \(default\).*mean 0\.485, 0\.456, 0\.406, std 0\.229, 0\.224, 0\.225 \(default, ImageNet\)/);
});

test('old cards keep working: bilinear, shorter side to size, center crop (models/*.json)', () => {
  for (const f of ['vit-demo.json', 'deit-demo.json', 'swin-demo.json']) {
    const card = cardFromJson(readJson(path.join(ROOT, 'models', f)), base(6), f);
    const p = card.preprocess;
    assert.deepEqual([p.resize, p.crop, p.interpolation ?? 'bilinear', p.cropPct ?? 1], ['shorter-side', 'center', 'bilinear', 1], f);
    assert.deepEqual(resizeCropFor(640, 480, p), { resizeWidth: Math.trunc((p.size * 640) / 480), resizeHeight: p.size, left: roundHalfEven((Math.trunc((p.size * 640) / 480) - p.size) / 2), top: 0, width: p.size, height: p.size, fill: [0, 0, 0] }, f);
    assert.ok(card.labels.length > 0 && !card.labelsAssumed, f);
  }
});

test('1000 outputs and no labels anywhere: ImageNet-1k names, marked assumed, and the summary says so', () => {
  const d = base(1000);
  assert.equal(d.labels.length, 1000);
  assert.equal(d.labels[281], 'tabby cat');
  assert.equal(d.labelsAssumed, true);
  assert.equal(base(6).labelsAssumed, undefined);
  assert.deepEqual(base(6).labels.slice(0, 2), ['class 0', 'class 1']);
  // A config without labels keeps the assumption; one with labels drops it.
  assert.equal(cardFromTimm(readJson(path.join(FIXTURES, 'timm/config.json')), d).labelsAssumed, true);
  assert.equal(cardFromHuggingFace(undefined, { size: 224 }, d).labelsAssumed, true);
  const named = cardFromHuggingFace({ model_type: 'vit', id2label: { 0: 'tench, Tinca tinca' } }, undefined, d);
  assert.equal(named.labelsAssumed, undefined);
  assert.equal(named.labels[0], 'tench, Tinca tinca');
  assert.equal(cardFromTimm({ label_names: ['x'] }, d).labelsAssumed, undefined);

  const m = demoModel();
  const assumed: ModelCard = { ...d, preprocess: cardFromTimm(readJson(path.join(FIXTURES, 'timm/config.json')), d).preprocess };
  const rows = new Map(summaryRows({ ...m, card: assumed }, []));
  assert.equal(rows.get('Labels'), 'ImageNet-1k class names assumed (1000 outputs, no labels found)');
  assert.match(rows.get('Preprocessing') ?? '', /bicubic \(config\.json, timm\)/);
  const own = new Map(summaryRows(m, []));
  assert.equal(own.get('Labels'), undefined);
  assert.match(own.get('Preprocessing') ?? '', /^224×224 \(vit-demo\.json\); bilinear \(vit-demo\.json\); shorter side to 224, center crop 224 \(vit-demo\.json\)/);
});

test('a source handed over in strips (huge images) resizes to exactly the same pixels as one buffer', () => {
  const [W, H] = [301, 203];
  const src = new Uint8ClampedArray(W * H * 4);
  for (let i = 0; i < src.length; i++) src[i] = (i * 2654435761) >>> 24; // deterministic noise: every row matters
  let calls = 0;
  const rows = (first: number, count: number) => {
    calls++;
    return src.subarray(first * W * 4, (first + count) * W * 4);
  };
  const cases = [
    { resizeWidth: 120, resizeHeight: 80, left: 10, top: 5, width: 96, height: 64 },
    { resizeWidth: W, resizeHeight: 90, left: 0, top: 0, width: W, height: 90 }, // no horizontal pass
    { resizeWidth: 500, resizeHeight: 400, left: 100, top: 100, width: 224, height: 224 }, // enlarging
  ];
  for (const g of cases) {
    for (const filter of ['bicubic', 'bilinear', 'nearest'] as const) {
      calls = 0;
      const whole = resizeCrop(src, W, H, g, filter);
      const strips = resizeCrop(rows, W, H, g, filter, W * 4 * 7);
      assert.deepEqual(strips, whole, `${filter} ${JSON.stringify(g)}`);
      assert.ok(calls > 3, `${filter}: read in ${calls} strips`);
    }
  }
});
