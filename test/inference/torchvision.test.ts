/**
 * Models ViT Lens was not tuned on: torchvision's own VisionTransformer and SwinTransformer classes, exported
 * with plain torch.onnx.export (scripts/make_torchvision_models.py). Structure must match the constructor
 * arguments, logits and every tap must match torchvision's own attention weights.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import * as ort from 'onnxruntime-web';
import { maxRowSumError } from '../../src/shared/attentionMaps';
import { prepareModel } from '../../src/shared/prepareModel';
import { createSession, runModel } from '../../src/cli/runModel';
import { maxAbsDiff, readFloat32, ROOT } from '../support/fixtures';

const DIR = path.join(ROOT, 'test/fixtures/torchvision');
interface Case {
  file: string;
  input: string;
  logits: string;
  attention: string;
  attentionShape?: number[];
  attentionBlocks?: { shape: number[]; offset: number }[];
  expect: Record<string, unknown> & { shifted?: boolean[] };
}
const cases = (JSON.parse(readFileSync(path.join(DIR, 'expected.json'), 'utf8')) as { cases: Case[] }).cases;
const byFile = (f: string) => cases.find((c) => c.file === f)!;
const load = (c: Case) => {
  const bytes = new Uint8Array(readFileSync(path.join(DIR, c.file)));
  return { bytes, m: prepareModel(bytes, c.file, c.file) };
};

async function checkLogits(c: Case, bytes: Uint8Array, m: ReturnType<typeof prepareModel>) {
  const input = readFloat32(path.join(DIR, c.input));
  const run = await runModel(await createSession(m), m, input);
  const d = maxAbsDiff(run.logits, readFloat32(path.join(DIR, c.logits)));
  assert.ok(d <= 1e-4, `logits differ from torchvision's by ${d}`);
  const plain = await ort.InferenceSession.create(bytes);
  const shape = [1, 3, m.structure.input.height ?? 0, m.structure.input.width ?? 0];
  const plainLogits = (await plain.run({ [m.structure.input.name]: new ort.Tensor('float32', input, shape) }))[m.logitsOutput].data as Float32Array;
  assert.ok(maxAbsDiff(plainLogits, run.logits) <= 1e-6, 'instrumented logits equal the plain model\'s');
  return { run, d };
}

test('torchvision VisionTransformer: structure as constructed, logits and attention equal torchvision\'s', async () => {
  const c = byFile('vit.onnx');
  const { bytes, m } = load(c);
  const s = m.structure;
  assert.deepEqual(
    { family: s.family, patchSize: s.patchSize, grid: s.grid && [s.grid.rows, s.grid.cols], embedDim: s.embedDim, layers: s.layers, heads: s.heads, prefixTokens: s.prefixTokens, norm: s.norm, classifier: s.classifier, inputName: s.input.name, dynamicBatch: s.input.dynamicBatch },
    c.expect,
  );
  const { run, d } = await checkLogits(c, bytes, m);
  const [L, H, T] = c.attentionShape!;
  const ref = readFloat32(path.join(DIR, c.attention));
  assert.equal(run.layers.length, L);
  let worst = 0;
  run.layers.forEach((a, l) => {
    assert.deepEqual([a.heads, a.queries, a.tokens], [H, T, T], 'heads folded into the batch are read as heads');
    assert.equal(a.data.length, H * T * T);
    assert.ok(maxRowSumError({ heads: H, tokens: T, data: a.data }) <= 1e-4, `layer ${l}: rows sum to 1`);
    worst = Math.max(worst, maxAbsDiff(a.data, ref.subarray(l * H * T * T, (l + 1) * H * T * T)));
  });
  assert.ok(worst <= 1e-4, `attention differs from nn.MultiheadAttention's weights by ${worst}`);
  // Under a memory budget only CLS rows leave the graph: the query axis of [B·H, T, T] is sliced, not a key column.
  const small = prepareModel(bytes, c.file, c.file, {}, 1);
  assert.equal(small.attentionMode, 'cls-rows');
  const rows = await runModel(await createSession(small), small, readFloat32(path.join(DIR, c.input)));
  rows.layers.forEach((a, l) => {
    assert.deepEqual([a.heads, a.queries, a.tokens], [H, 1, T]);
    for (let h = 0; h < H; h++) {
      const want = ref.subarray(((l * H + h) * T) * T, ((l * H + h) * T + 1) * T);
      assert.ok(maxAbsDiff(a.data.subarray(h * T, (h + 1) * T), want) <= 1e-4, `layer ${l} head ${h}: CLS row`);
    }
  });
  console.log(`torchvision ViT: max |Δlogits| ${d.toExponential(2)}, max |Δattention| ${worst.toExponential(2)}`);
});

test('torchvision SwinTransformer: stages, window, run-time shift mask read from the roll; attention equals torchvision\'s', async () => {
  const c = byFile('swin.onnx');
  const { bytes, m } = load(c);
  const s = m.structure;
  const e = c.expect;
  assert.equal(s.family, 'swin');
  assert.equal(s.classifier, e.classifier);
  assert.equal(s.patchSize, e.patchSize);
  assert.equal(s.embedDim, e.embedDim);
  assert.equal(s.input.name, e.inputName);
  assert.ok(s.swin);
  assert.equal(s.swin.window, e.window);
  assert.deepEqual(s.swin.depths, e.depths);
  assert.deepEqual(s.swin.heads, e.heads);
  assert.deepEqual(s.swin.grids, e.grids);
  assert.deepEqual(s.swin.blocks.map((b) => b.shift > 0), e.shifted);
  for (const b of s.swin.blocks) if (b.shift) assert.equal(b.shift, (e.window as number) / 2, 'torchvision shifts by window // 2');
  const { run, d } = await checkLogits(c, bytes, m);
  const ref = readFloat32(path.join(DIR, c.attention));
  let worst = 0;
  c.attentionBlocks!.forEach((rb, i) => {
    const n = rb.shape.reduce((a, b) => a * b, 1);
    const a = run.layers[i].data;
    assert.equal(a.length, n, `block ${i}: ${rb.shape.join('×')}`);
    assert.ok(maxRowSumError({ heads: rb.shape[0] * rb.shape[1], tokens: rb.shape[3], data: a }) <= 1e-4, `block ${i}: rows sum to 1`);
    worst = Math.max(worst, maxAbsDiff(a, ref.subarray(rb.offset, rb.offset + n)));
  });
  assert.ok(worst <= 1e-4, `window attention differs from torchvision's by ${worst}`);
  console.log(`torchvision Swin: max |Δlogits| ${d.toExponential(2)}, max |Δattention| ${worst.toExponential(2)}`);
});
