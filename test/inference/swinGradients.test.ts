/**
 * Swin gradients (issue 14, point 3): d logit[c] / d window attention for every block and d logit[c] / d (last
 * stage's final norm output), computed by onnxruntime-web from the backward graph (src/shared/onnx/backward.ts:
 * strided Slice, Pad, GlobalAveragePool on the Swin path), against PyTorch autograd in float64; then the per-block
 * (∇A ⊙ A)⁺ maps mapped back through the window partition and the cyclic shift, and Grad-CAM on the last stage
 * (src/shared/swinRelevance.ts), against maps computed in PyTorch by independent code
 * (scripts/make_swin_gradient_refs.py → test/fixtures/swin-gradients/).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { gunzipSync } from 'node:zlib';
import * as ort from 'onnxruntime-web';
import { createGradientSession, GradientResult } from '../../src/cli/gradientRun';
import { attachExternalData } from '../../src/cli/runModel';
import { gradientTargets } from '../../src/shared/gradients';
import { buildBackward, planBackward, probePatch } from '../../src/shared/onnx/backward';
import { readOnnxModel } from '../../src/shared/onnx/onnxModel';
import { encodeGraphPatch, instrumentedBytes } from '../../src/shared/instrumentAttention';
import { prepareModel, PreparedModel } from '../../src/shared/prepareModel';
import { swinBlockRelevance, swinClassMap, swinGradCam, swinQueryMap, upsampleToStage1 } from '../../src/shared/swinRelevance';
import { maxAbsDiff, readFloat32, ROOT } from '../support/fixtures';

const DIR = path.join(ROOT, 'test/fixtures/swin-gradients');

interface Blocks { file: string; encoding: 'f32' | 'i16-gz'; offsets: number[]; scales?: number[]; quantizationMaxAbs?: number[] }
interface RefBlock { stage: number; window: number; shift: number; grid: number; heads: number; windows: number }
interface RefClass {
  index: number;
  attentionGrad: Blocks;
  attentionGradMaxAbs: number[];
  featuresGrad: string;
  featuresGradMaxAbs: number;
  classMaps: Blocks;
  classMapsNormalized: Blocks;
  queryMaps: Blocks;
  classMapsStage1: string;
  queryMapsStage1: string;
  gradCam: string;
  gradCamNormalized: string;
}
interface Reference {
  name: string;
  model: string;
  input: string;
  logits: string;
  blocks: RefBlock[];
  stageGrids: number[];
  query: [number, number];
  featuresShape: [number, number];
  classes: RefClass[];
}
interface OpZoo { model: string; input: string; inputShape: number[]; logits: string; targets: string[]; classes: { index: number; grads: string[] }[] }
const expected = JSON.parse(readFileSync(path.join(DIR, 'expected.json'), 'utf8')) as { references: Reference[]; opZoo: OpZoo };

/** Per block: its values (float32) and the error storage adds (0 for float32). */
function readBlocks(s: Blocks): { blocks: Float32Array[]; quantization: number[] } {
  let all: Float32Array;
  if (s.encoding === 'f32') {
    all = readFloat32(path.join(DIR, s.file));
  } else {
    const raw = gunzipSync(readFileSync(path.join(DIR, s.file)));
    const q = new Int16Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength));
    all = new Float32Array(q.length);
    s.offsets.forEach((o, b) => {
      const end = s.offsets[b + 1] ?? q.length;
      for (let i = o; i < end; i++) all[i] = q[i] * s.scales![b];
    });
  }
  const blocks = s.offsets.map((o, b) => all.subarray(o, s.offsets[b + 1] ?? all.length));
  return { blocks, quantization: s.quantizationMaxAbs ?? s.offsets.map(() => 0) };
}

const REL = 1e-4;
/** float32 round-off (ε ≈ 1.2e-7) of the largest gradient, carried by the backward sums into every block (as in gradients.test.ts). */
const FLOOR_EPS = 2.4e-7;
/** Maps: absolute, on the normalized maps ([0, 1]: min-max for relevance, scale_cam_image for Grad-CAM). */
const MAP_ABS = 1e-5;

function load(r: Reference): { model: PreparedModel; input: Float32Array } {
  const file = path.join(ROOT, r.model);
  const model = attachExternalData(prepareModel(new Uint8Array(readFileSync(file)), path.basename(r.model), r.name), file);
  return { model, input: readFloat32(path.join(ROOT, r.input)) };
}

const f32 = (name: string) => readFloat32(path.join(DIR, name));
const maxAbs = (a: ArrayLike<number>) => Math.max(...Array.from(a, Math.abs));

for (const r of expected.references) {
  test(`${r.name}: every block's d logit / d window attention and the last stage's norm-output gradient equal PyTorch within 1e-4 relative; per-block (∇A ⊙ A)⁺ maps and Grad-CAM equal the PyTorch maps within 1e-5; two classes differ`, async () => {
    const { model, input } = load(r);
    const swin = model.structure.swin;
    assert.ok(swin, 'Swin structure');
    assert.equal(swin.blocks.length, r.blocks.length);
    r.blocks.forEach((b, i) => {
      const mine = swin.blocks[i];
      assert.deepEqual([mine.stage, mine.window, mine.shift, mine.grid, mine.windows], [b.stage, b.window, b.shift, b.grid, b.windows], `block ${i}`);
    });
    // Grad-CAM's target is the final norm output before the pooling, not the last block's (windowed) qkv input.
    const targets = gradientTargets(readOnnxModel(model.bytes), model.structure);
    assert.match(targets.features ?? '', /norm/);
    const session = await createGradientSession(model);
    const refLogits = f32(r.logits);
    const G1 = r.stageGrids[0];
    const GL = r.stageGrids[r.stageGrids.length - 1];
    const runs: GradientResult[] = [];
    const normalizedClassMaps: Float32Array[][] = [];
    const cams: Float32Array[] = [];
    const lines: string[] = [];
    for (const c of r.classes) {
      const run = await session.run(input, c.index);
      runs.push(run);
      assert.ok(maxAbsDiff(run.logits, refLogits) <= 1e-4 * maxAbs(refLogits), `logits differ from PyTorch's by ${maxAbsDiff(run.logits, refLogits)}`);
      // Gradients.
      const ref = readBlocks(c.attentionGrad);
      const floor = FLOOR_EPS * Math.max(...c.attentionGradMaxAbs);
      let worst = 0;
      run.attentionGrad.forEach((g, b) => {
        const want = ref.blocks[b];
        assert.equal(g.length, want.length, `block ${b}: [${r.blocks[b].windows}, ${r.blocks[b].heads}, M², M²]`);
        const d = maxAbsDiff(g, want);
        const scale = c.attentionGradMaxAbs[b];
        assert.ok(d <= REL * scale + ref.quantization[b] + floor, `class ${c.index} block ${b}: |Δ| ${d} > 1e-4 × ${scale} + storage ${ref.quantization[b]}`);
        worst = Math.max(worst, d / scale);
      });
      const fRef = f32(c.featuresGrad);
      assert.ok(run.features && run.featuresGrad, 'features and their gradient');
      assert.equal(run.featuresGrad.length, r.featuresShape[0] * r.featuresShape[1]);
      const dF = maxAbsDiff(run.featuresGrad, fRef);
      assert.ok(dF <= REL * c.featuresGradMaxAbs + FLOOR_EPS * c.featuresGradMaxAbs, `class ${c.index} features: |Δ| ${dF} > 1e-4 × ${c.featuresGradMaxAbs}`);
      // Maps from onnxruntime's A and ∇A against PyTorch's from its own (float64) A and ∇A.
      const cls = readBlocks(c.classMaps).blocks;
      const clsN = readBlocks(c.classMapsNormalized).blocks;
      const qry = readBlocks(c.queryMaps).blocks;
      const cls1 = f32(c.classMapsStage1);
      const qry1 = f32(c.queryMapsStage1);
      let worstMap = 0;
      let worstRaw = 0;
      const mine: Float32Array[] = [];
      let nonZeroQueries = 0;
      swin.blocks.forEach((blk, b) => {
        const rel = swinBlockRelevance(blk, run.attention[b], run.attentionGrad[b]);
        const cm = swinClassMap(rel);
        const qm = swinQueryMap(rel, r.query[0], r.query[1]);
        const n1 = G1 * G1;
        const cm1 = upsampleToStage1(cm.normalized, blk.stage, blk.grid, blk.grid, { rows: G1, cols: G1 });
        const qm1 = upsampleToStage1(qm.normalized, blk.stage, blk.grid, blk.grid, { rows: G1, cols: G1 });
        const dn = Math.max(maxAbsDiff(cm.normalized, clsN[b]), maxAbsDiff(cm1, cls1.subarray(b * n1, (b + 1) * n1)), maxAbsDiff(qm1, qry1.subarray(b * n1, (b + 1) * n1)));
        assert.ok(dn <= MAP_ABS, `class ${c.index} block ${b}: normalized maps differ by ${dn}`);
        // Raw maps: relative to their largest value (their scale follows the logit).
        const rel1 = (x: Float32Array, y: Float32Array) => maxAbsDiff(x, y) / Math.max(maxAbs(y), Number.MIN_VALUE);
        const dr = Math.max(rel1(cm.raw, cls[b]), rel1(qm.raw, qry[b]));
        assert.ok(dr <= REL, `class ${c.index} block ${b}: raw maps differ by ${dr} of their maximum`);
        // A query whose every (∇A ⊙ A) is ≤ 0 has an all-zero row: possible, but not in every block.
        if (maxAbs(qry[b]) > 0) nonZeroQueries++;
        worstMap = Math.max(worstMap, dn);
        worstRaw = Math.max(worstRaw, dr);
        mine.push(cm.normalized);
        if (blk.shift > 0) {
          // Negative control: the same maps without undoing the cyclic shift are far from PyTorch's.
          const unshifted = swinClassMap({ ...rel, layout: { ...rel.layout, shift: 0 } }).normalized;
          assert.ok(maxAbsDiff(unshifted, clsN[b]) > 0.05, `class ${c.index} block ${b}: the shift makes no visible difference`);
        }
      });
      assert.ok(nonZeroQueries >= swin.blocks.length / 2, `class ${c.index}: only ${nonZeroQueries} blocks give the query any relevance`);
      normalizedClassMaps.push(mine);
      const cam = swinGradCam(run.features, run.featuresGrad, { rows: GL, cols: GL });
      const camRef = f32(c.gradCam);
      const dCam = maxAbsDiff(cam.normalized, f32(c.gradCamNormalized));
      assert.ok(dCam <= MAP_ABS, `class ${c.index} Grad-CAM (normalized) differs by ${dCam}`);
      const dCamRaw = maxAbsDiff(cam.raw, camRef) / maxAbs(camRef);
      assert.ok(dCamRaw <= REL, `class ${c.index} Grad-CAM (raw) differs by ${dCamRaw} of its maximum`);
      cams.push(cam.normalized);
      lines.push(`class ${c.index}: ∇A ${worst.toExponential(1)} rel, ∇F ${(dF / c.featuresGradMaxAbs).toExponential(1)} rel, maps ${worstMap.toExponential(1)} abs normalized (${worstRaw.toExponential(1)} raw rel), Grad-CAM ${dCam.toExponential(1)} abs normalized (${dCamRaw.toExponential(1)} raw rel)`);
    }
    // The seed picks the class: gradients, maps and Grad-CAM differ far beyond the tolerances.
    const apart = Math.max(...runs[0].attentionGrad.map((g, b) => maxAbsDiff(g, runs[1].attentionGrad[b]) / r.classes[0].attentionGradMaxAbs[b]));
    assert.ok(apart > 100 * REL, `two classes give gradients only ${apart} apart`);
    const mapsApart = Math.max(...normalizedClassMaps[0].map((m, b) => maxAbsDiff(m, normalizedClassMaps[1][b])));
    assert.ok(mapsApart > 100 * MAP_ABS, `two classes give class maps only ${mapsApart} apart`);
    const camApart = maxAbsDiff(cams[0], cams[1]);
    assert.ok(camApart > 100 * MAP_ABS, `two classes give Grad-CAMs only ${camApart} apart`);
    console.log(`${r.name}: ${lines.join('; ')}; classes apart: ∇A ${apart.toExponential(1)}, maps ${mapsApart.toFixed(2)}, Grad-CAM ${camApart.toFixed(2)}`);
    await session.session.release();
  });
}

test('op zoo (Slice steps 2, −1 on two axes, −2; Pad with positive and cropping pads; GlobalAveragePool): gradients equal PyTorch', async () => {
  const z = expected.opZoo;
  const bytes = new Uint8Array(readFileSync(path.join(DIR, z.model)));
  const model = readOnnxModel(bytes);
  const spec = { logits: 'logits', targets: z.targets };
  const plan = planBackward(model, spec);
  const probe = probePatch(plan);
  const feed = { x: new ort.Tensor('float32', f32(z.input), z.inputShape) };
  const probeSession = await ort.InferenceSession.create(instrumentedBytes({ bytes, graphPatch: encodeGraphPatch(probe.patch) }));
  const probed = await probeSession.run(feed);
  await probeSession.release();
  const nums = (o: string) => Array.from(probed[o].data as ArrayLike<number | bigint>, Number);
  const built = buildBackward(model, spec, plan, { shapes: new Map([...probe.shapeOutputs].map(([t, o]) => [t, nums(o)])), values: new Map([...probe.valueOutputs].map(([t, o]) => [t, nums(o)])) });
  const session = await ort.InferenceSession.create(instrumentedBytes({ bytes, graphPatch: built.graphPatch }));
  const errors: string[] = [];
  for (const c of z.classes) {
    const seed = new Float32Array(5);
    seed[c.index] = 1;
    const out = await session.run({ ...feed, [built.seedInput]: new ort.Tensor('float32', seed, built.seedDims) });
    assert.ok(maxAbsDiff(out.logits.data as Float32Array, f32(z.logits)) <= 1e-5, 'logits');
    z.targets.forEach((t, k) => {
      const ref = f32(c.grads[k]);
      const got = out[built.gradOutputs[k]].data as Float32Array;
      const scale = maxAbs(ref);
      const d = maxAbsDiff(got, ref);
      assert.ok(scale > 0, `class ${c.index} d/d${t} is not identically zero`);
      assert.ok(d <= REL * scale + FLOOR_EPS * scale, `class ${c.index} d/d${t}: |Δ| ${d} > 1e-4 × ${scale}`);
      errors.push((d / scale).toExponential(1));
    });
  }
  console.log(`swin op zoo: max relative error ${errors.join(' ')}`);
  await session.release();
});
