/**
 * Models as people export them (scripts/make_coverage_models.py): each is detected from its graph as
 * expected, its attention rows sum to 1, instrumenting leaves its logits unchanged, and its attention equals
 * PyTorch's — or it is refused with the expected kind of error.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import * as ort from 'onnxruntime-web';
import { maxRowSumError } from '../../src/shared/attentionMaps';
import { VitLensError } from '../../src/shared/errors';
import { prepareModel } from '../../src/shared/prepareModel';
import { attachExternalData, createSession, runModel } from '../../src/cli/runModel';
import { maxAbsDiff, readFloat32, ROOT } from '../support/fixtures';

const DIR = path.join(ROOT, 'test/fixtures/coverage');
interface Case {
  file: string;
  case: string;
  opset: number;
  expect: { error?: string; family?: string; patchSize?: number; grid?: number[]; embedDim?: number; layers?: number; heads?: number; prefixTokens?: number; norm?: string; classifier?: string; inputName?: string; dynamicBatch?: boolean };
  reference?: { input: string; logits: string; attention: string; attentionShape: number[] };
  tolerance?: number;
}
const cases = (JSON.parse(readFileSync(path.join(DIR, 'expected.json'), 'utf8')) as { cases: Case[] }).cases;

// The fixture script expects these two fused operators to be refused; ViT Lens opens them up (a copy of the
// operator with its probabilities/scores output declared). They carry timm-fused-qkv's weights and math with a
// static batch of 1, so they must match its structure and PyTorch reference.
const timm = cases.find((c) => c.file === 'timm-fused-qkv.onnx')!;
for (const c of cases) {
  if (c.file === 'fused-ms-mha.onnx' || c.file === 'onnx-attention-op23.onnx') {
    c.expect = { ...timm.expect, dynamicBatch: false };
    c.reference = timm.reference;
  }
}


for (const c of cases) {
  test(`${c.file} (${c.case})`, async () => {
    const file = path.join(DIR, c.file);
    const bytes = new Uint8Array(readFileSync(file));
    const prepare = () => attachExternalData(prepareModel(bytes, c.file, c.file), file);
    const e = c.expect;
    if (e.error) {
      assert.throws(prepare, (err: Error) => {
        assert.ok(err instanceof VitLensError, `${err.name}: ${err.message}`);
        assert.equal(err.kind, e.error, err.message);
        return true;
      });
      return;
    }
    const m = prepare();
    const s = m.structure;
    const got = { family: s.family, patchSize: s.patchSize, grid: s.grid && [s.grid.rows, s.grid.cols], embedDim: s.embedDim, layers: s.layers, prefixTokens: s.prefixTokens, norm: s.norm, classifier: s.classifier, inputName: s.input.name, dynamicBatch: s.input.dynamicBatch };
    const want = { family: e.family, patchSize: e.patchSize, grid: e.grid, embedDim: e.embedDim, layers: e.layers, prefixTokens: e.prefixTokens, norm: e.norm, classifier: e.classifier, inputName: e.inputName, dynamicBatch: e.dynamicBatch };
    assert.deepEqual(got, want);
    if (s.heads !== undefined) assert.equal(s.heads, e.heads, 'heads from the attention scale');
    if (!c.reference) return;
    const input = readFloat32(path.join(DIR, c.reference.input));
    const run = await runModel(await createSession(m), m, input);
    const tol = c.tolerance ?? 1e-4;
    const refLogits = readFloat32(path.join(DIR, c.reference.logits));
    assert.ok(maxAbsDiff(run.logits, refLogits) <= tol, `logits differ by ${maxAbsDiff(run.logits, refLogits)}`);
    const plain = await ort.InferenceSession.create(bytes, { externalData: m.externalData });
    const plainLogits = (await plain.run({ [s.input.name]: new ort.Tensor('float32', input, [1, 3, 32, 32]) }))[m.logitsOutput].data as Float32Array;
    assert.ok(maxAbsDiff(plainLogits, run.logits) <= 1e-6, 'instrumented logits equal the plain model\'s');
    const [L, H, T] = c.reference.attentionShape;
    const ref = readFloat32(path.join(DIR, c.reference.attention));
    assert.equal(run.layers.length, L);
    run.layers.forEach((a, l) => {
      assert.equal(a.data.length, H * T * T, `layer ${l}: ${H} heads × ${T}² values`);
      assert.ok(maxRowSumError({ heads: H, tokens: T, data: a.data }) <= 1e-3, `layer ${l}: rows sum to 1`);
      const d = maxAbsDiff(a.data, ref.subarray(l * H * T * T, (l + 1) * H * T * T));
      assert.ok(d <= tol, `layer ${l}: attention differs by ${d}`);
    });
  });
}
