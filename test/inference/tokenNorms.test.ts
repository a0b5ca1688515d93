/**
 * High-norm tokens: the per-token norms computed inside the graph equal the norms of the residual stream fetched
 * as plain outputs (an independent path: the tensors themselves, normed here in float64), on every export style
 * the card must handle; on the real ImageNet ViT they equal PyTorch's and flag the same tokens.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import * as ort from 'onnxruntime-web';
import { createSession, runModel } from '../../src/cli/runModel';
import { halfToFloat } from '../../src/shared/half';
import { encodeOutputPatch, instrumentedBytes } from '../../src/shared/instrumentAttention';
import { readOnnxModel, TensorDataType } from '../../src/shared/onnx/onnxModel';
import { prepareModel } from '../../src/shared/prepareModel';
import { checkResidualShapes, highOutliers, prefixTokenLabels, tokenNormSummary, tokenNormsText } from '../../src/shared/tokenNorms';
import { attentionRow } from '../../src/shared/attentionMaps';
import { readFloat32, ROOT } from '../support/fixtures';

const COVERAGE = path.join(ROOT, 'test/fixtures/coverage');
const CASES = [
  'models/vit-demo.onnx',
  'models/deit-demo.onnx',
  ...['registers', 'post-norm', 'opset11', 'fp16', 'timm-fused-qkv', 'hf-separate-qkv', 'torchvision-mha', 'deit-distilled', 'gap-no-cls', 'batchnorm', 'int8-qdq', 'int8-dynamic-matmul', 'fused-ms-mha', 'onnx-attention-op23'].map((c) => `test/fixtures/coverage/${c}.onnx`),
];

function toFloat(t: ort.Tensor): Float32Array {
  if (t.type === 'float16') return Float32Array.from(t.data as Uint16Array, halfToFloat);
  return t.data as Float32Array;
}

function maxRelDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]) / Math.max(Math.abs(b[i]), 1e-6));
  return m;
}

for (const file of CASES) {
  for (const budget of [Infinity, 1]) {
    test(`in-graph token norms equal the residual stream's norms: ${path.basename(file)}${budget === 1 ? ' (CLS rows only)' : ''}`, async () => {
      const bytes = new Uint8Array(readFileSync(path.join(ROOT, file)));
      const m = prepareModel(bytes, path.basename(file), file, {}, budget);
      const s = m.structure;
      assert.ok(s.residual, s.residualMissing);
      assert.equal(s.residual.length, s.layers);
      assert.equal(m.tokenNormOutputs?.length, s.layers);
      const size = m.card.preprocess.size;
      const fixtureInput = path.join(COVERAGE, path.basename(file, '.onnx') + '.input.bin');
      const input = existsSync(fixtureInput) ? readFloat32(fixtureInput) : new Float32Array(3 * size * size).map((_, i) => ((i * 7919) % 251) / 251);
      const run = await runModel(await createSession(m), m, input);
      const T = s.tokens!;
      assert.ok(run.tokenNorms);
      assert.equal(checkResidualShapes(run.tokenNorms.map((t) => t.shape), run.tokenNorms.map((t) => t.dims), T, s.embedDim), undefined);

      // Independent path: the residual tensors as plain outputs of the unmodified graph.
      const elemType = readOnnxModel(bytes).graph.valueInfo.get(s.residual[0])?.elemType ?? TensorDataType.FLOAT;
      const plain = await ort.InferenceSession.create(instrumentedBytes({ bytes, graphPatch: encodeOutputPatch(s.residual, elemType) }));
      const out = await plain.run({ [s.input.name]: new ort.Tensor('float32', input, [1, 3, size, size]) }, s.residual);
      s.residual.forEach((name, l) => {
        const x = toFloat(out[name]);
        assert.deepEqual([...out[name].dims], [1, T, s.embedDim], `layer ${l + 1}`);
        const ref = Array.from({ length: T }, (_, t) => {
          let q = 0;
          for (let c = 0; c < s.embedDim; c++) q += x[t * s.embedDim + c] ** 2;
          return Math.sqrt(q);
        });
        const d = maxRelDiff(run.tokenNorms![l].data, ref);
        assert.ok(d <= 1e-4, `layer ${l + 1}: relative difference ${d}`);
      });
    });
  }
}

test('a wrong token count or width is reported with the layer, what was expected and what was found', () => {
  assert.equal(checkResidualShapes([[1, 17, 32], [1, 17, 32]], [[1, 17], [1, 17]], 17, 32), undefined);
  assert.match(checkResidualShapes([[1, 17, 32], [1, 17, 64]], [[1, 17], [1, 17]], 17, 32) ?? '', /^layer 2's output should be \[1, 17, 32\] .* but is \[1, 17, 64\]/);
});

test('Swin has no single token stream: the view says why and no norms are computed', () => {
  const m = prepareModel(new Uint8Array(readFileSync(path.join(ROOT, 'models/swin-demo.onnx'))), 'swin-demo.onnx', 'swin');
  assert.equal(m.structure.residual, undefined);
  assert.match(m.structure.residualMissing ?? '', /Swin/);
  assert.equal(m.tokenNormOutputs, undefined);
});

// ---- the real ImageNet ViT-Ti/16 (fp16-stored weights) against PyTorch ----
const REAL = path.join(ROOT, 'models/vit-tiny-imagenet.onnx');
const REAL_REF = path.join(ROOT, 'models/reference/vit-tiny-imagenet');
const realReady = existsSync(REAL) && existsSync(path.join(REAL_REF, 'index.json'));

test('ViT-Ti/16 ImageNet: in-graph norms equal PyTorch\'s within 1e-2 relative and flag the same tokens', { skip: !realReady && 'models/vit-tiny-imagenet.onnx or its references are missing' }, async () => {
  const own = JSON.parse(readFileSync(path.join(ROOT, 'models/vit-tiny-imagenet.json'), 'utf8')) as Record<string, unknown>;
  const m = prepareModel(new Uint8Array(readFileSync(REAL)), 'vit-tiny-imagenet.onnx', 'real', { own });
  const s = m.structure;
  assert.equal(s.residual?.length, 12, s.residualMissing);
  const index = JSON.parse(readFileSync(path.join(REAL_REF, 'index.json'), 'utf8')) as { fixtures: { name: string; tokenNormsShape: number[] }[] };
  // The reference script flags outliers by the same rule in NumPy: a third, independent implementation.
  const views = JSON.parse(readFileSync(path.join(REAL_REF, 'views.json'), 'utf8')) as { tokenNorms: { fixtures: Record<string, { outliers: number[] }[]> } };
  const session = await createSession(m);
  for (const f of index.fixtures) {
    const [L, T] = f.tokenNormsShape;
    assert.deepEqual([L, T], [12, 197]);
    const ref = readFloat32(path.join(REAL_REF, f.name, 'tokenNorms.bin'));
    const run = await runModel(session, m, readFloat32(path.join(REAL_REF, f.name, 'input.bin')));
    assert.ok(run.tokenNorms);
    assert.equal(checkResidualShapes(run.tokenNorms.map((t) => t.shape), run.tokenNorms.map((t) => t.dims), T, 192), undefined);
    const refLayers = Array.from({ length: L }, (_, l) => ref.subarray(l * T, (l + 1) * T));
    const labels = prefixTokenLabels(s.prefixTokens, s.classifier, !!s.distillation);
    const ours = tokenNormSummary(run.tokenNorms.map((t) => t.data), labels);
    let worst = 0;
    for (let l = 0; l < L; l++) {
      const d = maxRelDiff(run.tokenNorms[l].data, refLayers[l]);
      worst = Math.max(worst, d);
      assert.ok(d <= 1e-2, `${f.name} layer ${l + 1}: relative difference ${d}`);
      assert.deepEqual(ours.layers[l].outliers, highOutliers(refLayers[l].subarray(1)).outliers, `${f.name} layer ${l + 1}: flagged patches`);
      assert.deepEqual(ours.layers[l].outliers, views.tokenNorms.fixtures[f.name][l].outliers, `${f.name} layer ${l + 1}: flagged patches as NumPy flags them`);
    }
    console.log(`${f.name}: max relative difference ${worst.toExponential(2)}; outliers per layer ${ours.layers.map((x) => x.outliers.length).join(' ')}`);
    // Darcet et al.'s artifact on this model: the four corner patches are high-norm in the last layers and the
    // last layer's CLS attention sinks into them, far beyond their share of the patches.
    for (const l of [L - 2, L - 1]) for (const corner of [0, 13, 182, 195]) assert.ok(ours.layers[l].outliers.includes(corner), `${f.name} layer ${l + 1}: corner ${corner} flagged`);
    const withAttention = tokenNormSummary(run.tokenNorms.map((t) => t.data), labels, attentionRow(run.layers[L - 1], 0, 'mean', 0));
    assert.ok(withAttention.attention && withAttention.attention.onFlagged > 5 * withAttention.attention.flaggedShare, `${f.name}: ${JSON.stringify(withAttention.attention)}`);
    assert.match(tokenNormsText(withAttention), /they act as attention sinks/);
  }
});
