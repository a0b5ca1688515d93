/**
 * Another resolution and no position embedding, on the demo ViT: the interpolated embedding equals PyTorch's
 * bicubic resize, and the rewritten graph's logits equal the PyTorch model run at that size
 * (scripts/reference_resolution.py).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { maxRowSumError } from '../../src/shared/attentionMaps';
import { VitLensError } from '../../src/shared/errors';
import { prepareModel } from '../../src/shared/prepareModel';
import { interpolatePositionEmbedding, modelAtResolution, modelWithoutPositionEmbedding, prepareVariant, ResolutionError } from '../../src/shared/resolution';
import { createSession, runModel } from '../../src/cli/runModel';
import { DEMO_MODEL, maxAbsDiff, readFloat32, ROOT, SWIN_MODEL } from '../support/fixtures';

const REF = path.join(ROOT, 'models/reference/vit-demo/resolution');
const demo = () => {
  const bytes = new Uint8Array(readFileSync(DEMO_MODEL));
  const own = JSON.parse(readFileSync(path.join(ROOT, 'models/vit-demo.json'), 'utf8')) as Record<string, unknown>;
  return { bytes, m: prepareModel(bytes, 'vit-demo.onnx', 'demo', { own }) };
};

/** scripts/reference_resolution.py's test_image. */
function testImage(size: number): Float32Array {
  const x = new Float32Array(3 * size * size);
  for (let c = 0; c < 3; c++) for (let i = 0; i < size; i++) for (let j = 0; j < size; j++) x[(c * size + i) * size + j] = 2 * Math.sin(0.37 * i + 0.11 * (c + 1) * j + 0.5 * c);
  return x;
}

test('position embedding interpolation equals torch.nn.functional.interpolate(bicubic, align_corners=False)', () => {
  const { m } = demo();
  const pos = m.parameters!.positionEmbedding!;
  for (const size of [160, 224, 288, 384]) {
    const g = size / 16;
    const mine = interpolatePositionEmbedding(pos.data, pos.width, 1, { rows: 14, cols: 14 }, { rows: g, cols: g });
    const want = readFloat32(path.join(REF, `pos-${size}.bin`));
    assert.equal(mine.length, want.length);
    const d = maxAbsDiff(mine, want);
    assert.ok(d <= 1e-6, `${size}: differs by ${d}`);
  }
});

for (const size of [160, 288, 384]) {
  test(`the demo ViT rewritten for ${size}×${size}: ${(size / 16) ** 2 + 1} tokens, logits equal PyTorch's at that size`, async () => {
    const { bytes, m } = demo();
    const v = modelAtResolution(bytes, m.structure, size);
    assert.equal(v.tokens, (size / 16) ** 2 + 1);
    const p = prepareVariant(v, m, String(size));
    assert.equal(p.structure.tokens, v.tokens);
    assert.deepEqual(p.structure.grid, { rows: size / 16, cols: size / 16 });
    const run = await runModel(await createSession(p), p, testImage(size));
    const d = maxAbsDiff(run.logits, readFloat32(path.join(REF, `logits-${size}.bin`)));
    assert.ok(d <= 1e-4, `logits differ from PyTorch's by ${d}`);
    assert.equal(run.layers[0].tokens, v.tokens);
    assert.ok(maxRowSumError(run.layers[5]) <= 1e-4);
    console.log(`${size}: ${v.changes.join('; ')}; max |Δlogits| ${d.toExponential(2)}`);
  });
}

test('without position embeddings the demo ViT computes what PyTorch computes with pos_embed = 0', async () => {
  const { bytes, m } = demo();
  const v = modelWithoutPositionEmbedding(bytes, m.structure);
  const p = prepareVariant(v, m, 'nopos');
  const run = await runModel(await createSession(p), p, testImage(224));
  const d = maxAbsDiff(run.logits, readFloat32(path.join(REF, 'logits-nopos.bin')));
  assert.ok(d <= 1e-4, `logits differ by ${d}`);
  const native = await runModel(await createSession(m), m, testImage(224));
  assert.ok(maxAbsDiff(native.logits, readFloat32(path.join(REF, 'logits-224.bin'))) <= 1e-4, 'the native logits match too');
  assert.ok(maxAbsDiff(native.logits, run.logits) > 1e-2, 'removing position embeddings changes the prediction scores');
});

test('static-shape exports: shape constants holding the token count are rewritten too (Hugging Face style, [1, 17, 2, 16])', async () => {
  for (const file of ['hf-separate-qkv.onnx', 'fp16.onnx', 'registers.onnx', 'deit-distilled.onnx', 'gap-no-cls.onnx']) {
    const bytes = new Uint8Array(readFileSync(path.join(ROOT, 'test/fixtures/coverage', file)));
    const m = prepareModel(bytes, file, file);
    const v = modelAtResolution(bytes, m.structure, 48);
    const p = prepareVariant(v, m, '48');
    assert.deepEqual(p.structure.grid, { rows: 6, cols: 6 }, file);
    assert.equal(p.structure.tokens, 36 + m.structure.prefixTokens, file);
    const run = await runModel(await createSession(p), p, testImage(48));
    assert.equal(run.layers[0].tokens, 36 + m.structure.prefixTokens, file);
    assert.ok(run.logits.every(Number.isFinite), file);
  }
});

test('what cannot be rewritten says why', () => {
  const swinBytes = new Uint8Array(readFileSync(SWIN_MODEL));
  const swin = prepareModel(swinBytes, 'swin-demo.onnx', 's');
  assert.throws(() => modelAtResolution(swinBytes, swin.structure, 288), (e: Error) => e instanceof ResolutionError && /Swin has no absolute position embedding/.test(e.message));
  const { bytes, m } = demo();
  assert.throws(() => modelAtResolution(bytes, m.structure, 250), (e: Error) => e instanceof VitLensError && /not a multiple of the 16-pixel patch/.test(e.message));
});

test('a variant is instrumented under the original\'s memory budget (384 px has 8.6× the attention of 224 px)', () => {
  const bytes = new Uint8Array(readFileSync(DEMO_MODEL));
  // 2.8 MB of attention at 224 fits a 10 MB budget; 24 MB at 384 does not.
  const m = prepareModel(bytes, 'vit-demo.onnx', 'budget', {}, 10e6);
  assert.equal(m.attentionMode, 'full');
  assert.equal(prepareVariant(modelAtResolution(bytes, m.structure, 384), m, '384').attentionMode, 'cls-rows');
  assert.equal(prepareVariant(modelAtResolution(bytes, m.structure, 160), m, '160').attentionMode, 'full');
});
