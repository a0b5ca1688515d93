/**
 * Export styles that once went silently wrong (scripts/make_export_styles.py): int8 weights with per-channel
 * scales (DequantizeLinear(axis)) and whole-graph float16. Each must be read as the float32 export is: same
 * structure, PyTorch's logits and attention, PyTorch's hottest patch in the default view.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { maxRowSumError } from '../../src/shared/attentionMaps';
import { meanAttentionDistance } from '../../src/shared/locality';
import { prepareModel } from '../../src/shared/prepareModel';
import { DEFAULT_VIEW } from '../../src/shared/protocol';
import { rolloutRow } from '../../src/shared/rollout';
import { computeView } from '../../src/shared/viewData';
import { createSession, runModel } from '../../src/cli/runModel';
import { maxAbsDiff, readFloat32, ROOT } from '../support/fixtures';

const DIR = path.join(ROOT, 'test/fixtures/styles');
interface Case {
  file: string;
  case: string;
  expect: { family: string; patchSize: number; grid: number[]; embedDim: number; layers: number; heads: number; prefixTokens: number; norm: string; classifier: string; inputName: string; dynamicBatch: boolean };
  reference: { input: string; logits: string; attention: string; attentionShape: number[] };
  tolerance: number;
  rowSumTolerance: number;
  hottestPatch: number;
  inputType: string;
}
const cases = (JSON.parse(readFileSync(path.join(DIR, 'expected.json'), 'utf8')) as { cases: Case[] }).cases;

function argmax(v: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < v.length; i++) if (v[i] > v[best]) best = i;
  return best;
}

for (const c of cases) {
  test(`${c.file}: structure, logits, attention and default view as PyTorch`, async () => {
    const m = prepareModel(new Uint8Array(readFileSync(path.join(DIR, c.file))), c.file, c.file);
    const s = m.structure;
    const got = { family: s.family, patchSize: s.patchSize, grid: s.grid && [s.grid.rows, s.grid.cols], embedDim: s.embedDim, layers: s.layers, heads: s.heads, prefixTokens: s.prefixTokens, norm: s.norm, classifier: s.classifier, inputName: s.input.name, dynamicBatch: s.input.dynamicBatch };
    assert.deepEqual(got, c.expect);
    const session = await createSession(m);
    assert.equal(session.inputMetadata[0].isTensor && session.inputMetadata[0].type, c.inputType);
    const run = await runModel(session, m, readFloat32(path.join(DIR, c.reference.input)));
    const refLogits = readFloat32(path.join(DIR, c.reference.logits));
    assert.ok(run.logits instanceof Float32Array);
    assert.ok(maxAbsDiff(run.logits, refLogits) <= c.tolerance, `logits differ by ${maxAbsDiff(run.logits, refLogits)}`);
    const [L, H, T] = c.reference.attentionShape;
    const ref = readFloat32(path.join(DIR, c.reference.attention));
    assert.equal(run.layers.length, L);
    run.layers.forEach((a, l) => {
      assert.equal(a.data.length, H * T * T);
      const rows = maxRowSumError({ heads: H, tokens: T, data: a.data });
      assert.ok(rows <= c.rowSumTolerance, `layer ${l}: a row sums to 1 ± ${rows}`);
      const d = maxAbsDiff(a.data, ref.subarray(l * H * T * T, (l + 1) * H * T * T));
      assert.ok(d <= c.tolerance, `layer ${l}: attention differs by ${d}`);
    });
    const view = computeView(s, { layers: run.layers }, { ...DEFAULT_VIEW, layer: L - 1 });
    assert.ok(view.values && !view.refused, view.caption);
    assert.equal(argmax(view.values), c.hottestPatch, 'hottest patch of the default view');
  });
}

test('int8-qdq-per-channel.onnx: the patch filters are dequantized per output channel', () => {
  // Same seed and weights as the float32 coverage model: each filter within half a quantization step of it.
  const q = prepareModel(new Uint8Array(readFileSync(path.join(DIR, 'int8-qdq-per-channel.onnx'))), 'q.onnx', 'q');
  const f = prepareModel(new Uint8Array(readFileSync(path.join(ROOT, 'test/fixtures/coverage/timm-fused-qkv.onnx'))), 'f.onnx', 'f');
  const a = q.parameters?.patchFilters, b = f.parameters?.patchFilters;
  assert.ok(a && b);
  assert.deepEqual(a.shape, b.shape);
  const per = a.data.length / a.shape[0];
  for (let c = 0; c < a.shape[0]; c++) {
    const want = b.data.subarray(c * per, (c + 1) * per);
    const step = Math.max(...Array.from(want, Math.abs)) / 127;
    assert.ok(maxAbsDiff(a.data.subarray(c * per, (c + 1) * per), want) <= step / 2 + 1e-7, `filter ${c}`);
  }
  assert.deepEqual(q.parameters?.positionEmbedding?.data, f.parameters?.positionEmbedding?.data);
});

test('fp16-graph.onnx over the memory budget: CLS rows, in-graph rollout and distances, token norms', async () => {
  const bytes = new Uint8Array(readFileSync(path.join(DIR, 'fp16-graph.onnx')));
  const full = prepareModel(bytes, 'fp16-graph.onnx', 'full');
  const small = prepareModel(bytes, 'fp16-graph.onnx', 'small', {}, 1);
  assert.equal(small.attentionMode, 'cls-rows');
  assert.equal(small.rolloutOutputs?.length, full.structure.layers, 'rollout is computed in the graph (in float32)');
  const input = readFloat32(path.join(DIR, 'fp16-graph.input.bin'));
  const a = await runModel(await createSession(full), full, input);
  const b = await runModel(await createSession(small), small, input);
  const s = full.structure;
  assert.ok(maxAbsDiff(a.logits, b.logits) === 0, 'instrumenting does not change the logits');
  assert.ok(b.rollout && b.headDistance);
  for (let l = 0; l < s.layers; l++) {
    const { heads: H, tokens: T } = a.layers[l];
    assert.equal(b.layers[l].queries, 1);
    for (let h = 0; h < H; h++) assert.equal(maxAbsDiff(b.layers[l].data.subarray(h * T, (h + 1) * T), a.layers[l].data.subarray(h * T * T, h * T * T + T)), 0);
    const want = rolloutRow(a.layers, 0, { fusion: 'mean', discardRatio: 0, upToLayer: l });
    assert.ok(maxAbsDiff(b.rollout[l], want) <= 1e-5, `layer ${l}: rollout differs by ${maxAbsDiff(b.rollout[l], want)}`);
    const dist = meanAttentionDistance(a.layers[l], s.grid!, s.prefixTokens, s.patchSize);
    assert.ok(maxAbsDiff(b.headDistance[l], dist) <= 1e-3, `layer ${l}: distances ${b.headDistance[l]} vs ${dist}`);
  }
  assert.equal(a.tokenNorms?.length, s.layers, 'token norms (cast to float in the graph)');
  for (const t of a.tokenNorms!) assert.ok(t.data.every((x) => Number.isFinite(x) && x > 0));
});
