/**
 * In-graph gradients (issue 14): d logit[c] / d attention for every layer and d logit[c] / d (tokens entering the
 * last block's attention), computed by onnxruntime-web from the backward graph of src/shared/onnx/backward.ts,
 * against PyTorch autograd in float64 (scripts/make_gradient_refs.py -> test/fixtures/gradients/).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { gunzipSync } from 'node:zlib';
import * as ort from 'onnxruntime-web';
import { createGradientSession, GradientSession } from '../../src/cli/gradientRun';
import { attachExternalData, createSession, runModel } from '../../src/cli/runModel';
import { planGradients } from '../../src/shared/gradients';
import { buildBackward, NoGradientError, planBackward, probePatch } from '../../src/shared/onnx/backward';
import { readOnnxModel } from '../../src/shared/onnx/onnxModel';
import { encodeGraphPatch, instrumentedBytes } from '../../src/shared/instrumentAttention';
import { prepareModel, PreparedModel } from '../../src/shared/prepareModel';
import { maxAbsDiff, readFloat32, ROOT } from '../support/fixtures';

const DIR = path.join(ROOT, 'test/fixtures/gradients');

interface Stored { file: string; encoding: 'f32' | 'i16-gz'; scales?: number[]; quantizationMaxAbs?: number[] }
interface Reference {
  name: string;
  model: string;
  input: string;
  logits: string;
  attentionShape: number[];
  featuresShape: number[];
  classes: { index: number; attentionGrad: Stored; featuresGrad: Stored; attentionGradMaxAbs: number[] }[];
}
interface OpZoo { model: string; input: string; logits: string; targets: string[]; classes: { index: number; grads: string[] }[] }
const expected = JSON.parse(readFileSync(path.join(DIR, 'expected.json'), 'utf8')) as { references: Reference[]; opZoo: OpZoo };
// The same weights with every initializer in external-data.onnx.data: timm-fused-qkv's gradients.
const references = [...expected.references, { ...expected.references.find((r) => r.name === 'timm-fused-qkv')!, name: 'external-data', model: 'test/fixtures/coverage/external-data.onnx' }];

/** The stored gradient as float32, and per layer the error its storage adds (0 for float32). */
function readStored(s: Stored, layers: number): { data: Float32Array; quantization: number[] } {
  if (s.encoding === 'f32') return { data: readFloat32(path.join(DIR, s.file)), quantization: new Array<number>(layers).fill(0) };
  const raw = gunzipSync(readFileSync(path.join(DIR, s.file)));
  const q = new Int16Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength));
  const per = q.length / layers;
  const data = Float32Array.from(q, (v, i) => v * s.scales![Math.floor(i / per)]);
  return { data, quantization: s.quantizationMaxAbs! };
}

const REL = 1e-4;
/**
 * Absolute floor: float32 round-off (ε ≈ 1.2e-7) of the largest gradient of the model, which the backward sums
 * carry into every layer; it matters only for a layer whose own gradients are far smaller than the others'.
 */
const FLOOR_EPS = 2.4e-7;

function load(r: Reference): { model: PreparedModel; input: Float32Array } {
  const file = path.join(ROOT, r.model);
  const model = attachExternalData(prepareModel(new Uint8Array(readFileSync(file)), path.basename(r.model), r.name), file);
  return { model, input: readFloat32(path.join(ROOT, r.input)) };
}

const median = (a: number[]) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];

for (const r of references) {
  test(`${r.name}: every layer's d logit / d attention and the features gradient equal PyTorch within 1e-4 relative, for two classes`, async () => {
    const { model, input } = load(r);
    const session: GradientSession = await createGradientSession(model);
    const [L, H, T] = r.attentionShape;
    const refLogits = readFloat32(path.join(DIR, r.logits));
    // The logits of the gradient session equal a plain run of the unmodified model.
    const plain = await ort.InferenceSession.create(model.bytes, { externalData: model.externalData });
    const x = new ort.Tensor('float32', input, [1, model.structure.input.channels, Math.sqrt(input.length / 3), Math.sqrt(input.length / 3)]);
    const plainLogits = (await plain.run({ [model.structure.input.name]: x }))[model.logitsOutput].data as Float32Array;
    await plain.release();
    const grads: Float32Array[][] = [];
    const summary: string[] = [];
    for (const c of r.classes) {
      const run = await session.run(input, c.index);
      // [1, H, T, T], or [H, T, T] where the export folds heads into the batch (torchvision's MHA).
      assert.deepEqual(run.attentionDims.slice(-2), [T, T]);
      assert.equal(run.attentionDims.reduce((p, d) => p * d, 1), H * T * T);
      const dPlain = maxAbsDiff(run.logits, plainLogits);
      assert.ok(dPlain <= 1e-5 * Math.max(1, ...Array.from(plainLogits, Math.abs)), `logits differ from the plain run's by ${dPlain}`);
      assert.ok(maxAbsDiff(run.logits, refLogits) <= 1e-4 * Math.max(...Array.from(refLogits, Math.abs)), `logits differ from PyTorch's by ${maxAbsDiff(run.logits, refLogits)}`);
      const ref = readStored(c.attentionGrad, L);
      const floor = FLOOR_EPS * Math.max(...c.attentionGradMaxAbs);
      let worst = 0;
      let worstNet = 0;
      run.attentionGrad.forEach((g, l) => {
        assert.equal(g.length, H * T * T, `layer ${l}`);
        const want = ref.data.subarray(l * H * T * T, (l + 1) * H * T * T);
        const d = maxAbsDiff(g, want);
        const scale = c.attentionGradMaxAbs[l];
        assert.ok(d <= REL * scale + ref.quantization[l] + floor, `class ${c.index} layer ${l}: |Δ| ${d} > 1e-4 × ${scale} + storage ${ref.quantization[l]}`);
        worst = Math.max(worst, d / scale);
        worstNet = Math.max(worstNet, (d - ref.quantization[l]) / scale);
      });
      const feat = readStored(c.featuresGrad, 1).data;
      assert.ok(run.featuresGrad, 'features gradient');
      const fScale = Math.max(...Array.from(feat, Math.abs));
      const dF = maxAbsDiff(run.featuresGrad, feat);
      assert.ok(dF <= REL * fScale + FLOOR_EPS * fScale, `class ${c.index} features: |Δ| ${dF} > 1e-4 × ${fScale}`);
      grads.push(run.attentionGrad);
      summary.push(`class ${c.index}: attention ${worst.toExponential(1)} (${Math.max(0, worstNet).toExponential(1)} beyond storage), features ${(dF / fScale).toExponential(1)}`);
    }
    // The seed picks the class: the two classes' gradients differ far beyond the tolerance.
    const apart = Math.max(...grads[0].map((g, l) => maxAbsDiff(g, grads[1][l]) / r.classes[0].attentionGradMaxAbs[l]));
    assert.ok(apart > 100 * REL, `two classes give gradients only ${apart} apart`);
    console.log(`${r.name}: max relative error ${summary.join('; ')}`);
    await session.session.release();
  });
}

test('op zoo (Tanh, Sigmoid, Relu, Split, Squeeze, Unsqueeze, Expand, Where, Slice, Gather with repeats, Flatten, broadcast MatMul, ReduceSum, Pow, Sqrt, Div, LogSoftmax, Softmax axis 0, Cast, Identity, Neg, Exp, Gemm transA/transB/alpha/beta): gradients equal PyTorch', async () => {
  const z = expected.opZoo;
  const bytes = new Uint8Array(readFileSync(path.join(ROOT, z.model)));
  const model = readOnnxModel(bytes);
  const spec = { logits: 'logits', targets: z.targets };
  const plan = planBackward(model, spec);
  const probe = probePatch(plan);
  const input = readFloat32(path.join(ROOT, z.input));
  const feed = { x: new ort.Tensor('float32', input, [2, 3, 4]) };
  const probeSession = await ort.InferenceSession.create(instrumentedBytes({ bytes, graphPatch: encodeGraphPatch(probe.patch) }));
  const probed = await probeSession.run(feed);
  const nums = (o: string) => Array.from(probed[o].data as ArrayLike<number | bigint>, Number);
  const shapes = new Map([...probe.shapeOutputs].map(([t, o]) => [t, nums(o)]));
  const values = new Map([...probe.valueOutputs].map(([t, o]) => [t, nums(o)]));
  const built = buildBackward(model, spec, plan, { shapes, values });
  const session = await ort.InferenceSession.create(instrumentedBytes({ bytes, graphPatch: built.graphPatch }));
  const refLogits = readFloat32(path.join(DIR, z.logits));
  const errors: string[] = [];
  for (const c of z.classes) {
    const seed = new Float32Array(5);
    seed[c.index] = 1;
    const out = await session.run({ ...feed, [built.seedInput]: new ort.Tensor('float32', seed, built.seedDims) });
    assert.ok(maxAbsDiff(out.logits.data as Float32Array, refLogits) <= 1e-5, 'logits');
    z.targets.forEach((t, k) => {
      const ref = readFloat32(path.join(DIR, c.grads[k]));
      const got = out[built.gradOutputs[k]].data as Float32Array;
      const scale = Math.max(...Array.from(ref, Math.abs));
      const d = maxAbsDiff(got, ref);
      assert.ok(scale > 0, `class ${c.index} d/d${t} is not identically zero`);
      assert.ok(d <= REL * scale + FLOOR_EPS * scale, `class ${c.index} d/d${t}: |Δ| ${d} > 1e-4 × ${scale}`);
      errors.push((d / scale).toExponential(1));
    });
  }
  console.log(`op zoo: max relative error ${errors.join(' ')}`);
});

test('a model whose attention reaches the logits through MatMulInteger is refused with NoGradientError naming it', () => {
  const file = path.join(ROOT, 'test/fixtures/coverage/int8-dynamic-matmul.onnx');
  const m = prepareModel(new Uint8Array(readFileSync(file)), 'int8-dynamic-matmul.onnx', 'k');
  assert.throws(() => planGradients(m.bytes, m.structure), (e: Error) => {
    assert.ok(e instanceof NoGradientError, `${e.name}: ${e.message}`);
    assert.ok(e.ops.some((o) => o.opType === 'MatMulInteger'), e.message);
    assert.match(e.message, /MatMulInteger \(node "[^"]+"\)/);
    assert.equal(e.kind, 'inference');
    assert.match(e.hint ?? '', /[Oo]cclusion/);
    return true;
  });
});

test('fused attention (com.microsoft.MultiHeadAttention) is refused with NoGradientError', () => {
  const file = path.join(ROOT, 'test/fixtures/coverage/fused-ms-mha.onnx');
  const m = prepareModel(new Uint8Array(readFileSync(file)), 'fused-ms-mha.onnx', 'k');
  assert.throws(() => planGradients(m.bytes, m.structure), (e: Error) => e instanceof NoGradientError && /com\.microsoft\.MultiHeadAttention \(node "b0_attention_MultiHeadAttention"\)/.test(e.message));
});

test('real ViT-Ti in Node: forward + backward vs forward alone (median of 5)', async () => {
  const r = references.find((x) => x.name === 'vit-tiny-imagenet')!;
  const { model, input } = load(r);
  const grad = await createGradientSession(model);
  const fwd = await createSession(model);
  const tg: number[] = [];
  const tf: number[] = [];
  await grad.run(input, r.classes[0].index); // warm-up
  await runModel(fwd, model, input);
  for (let i = 0; i < 5; i++) {
    tg.push((await grad.run(input, r.classes[0].index)).ms);
    tf.push((await runModel(fwd, model, input)).ms);
  }
  console.log(`vit-tiny-imagenet: forward ${median(tf).toFixed(0)} ms, forward + backward ${median(tg).toFixed(0)} ms (×${(median(tg) / median(tf)).toFixed(2)})`);
  assert.ok(median(tg) < 10 * median(tf), 'the backward costs a few forwards, not more');
  await grad.session.release();
  await fwd.release();
});
