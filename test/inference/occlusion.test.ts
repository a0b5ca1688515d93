/**
 * Occlusion maps and deletion/insertion curves from src/shared (onnxruntime-web in Node) against PyTorch
 * (scripts/make_faithfulness_refs.py → test/fixtures/faithfulness/vit-demo.json), plus cancel, progress, tie order
 * and AUC on hand-made inputs.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { createSession, logitsBatchRunner, runModel } from '../../src/cli/runModel';
import { inputSize } from '../../src/shared/modelCard';
import type { PreparedModel } from '../../src/shared/prepareModel';
import { BLANK_VALUE, blankPatches, type InputDims, OcclusionCancelled, occlusionInputs, occlusionMap, type PatchGrid, type RunBatch, runOcclusion } from '../../src/shared/occlusion';
import { patchCount, rankMaps, rankPatches, runFaithfulness, trapezoidAuc } from '../../src/shared/faithfulness';
import { demoModel, maxAbsDiff, reference, referenceFixtures, ROOT } from '../support/fixtures';

const TOL = 1e-4;

interface RefCurve { order: number[]; counts: number[]; deletion: number[]; insertion: number[]; deletionAuc: number; insertionAuc: number }
interface RefFixture {
  name: string; classIndex: number; label: string; baseProb: number; occlusionProbs: number[];
  maps: Record<'occlusion' | 'attention', number[]>; curves: Record<'occlusion' | 'attention', RefCurve>;
}
interface RefFile { grid: PatchGrid; patch: number; fixtures: RefFixture[] }

const refs = JSON.parse(readFileSync(path.join(ROOT, 'test/fixtures/faithfulness/vit-demo.json'), 'utf8')) as RefFile;

/** Logits only, [B, C, H, W] in one session.run: the instrumented graph's other outputs are not fetched. */
const batchRunner = logitsBatchRunner;

function setup(model: PreparedModel) {
  const { height, width } = inputSize(model.card.preprocess);
  const dims: InputDims = [1, model.structure.input.channels, height, width];
  const grid = model.structure.grid ?? { rows: Math.ceil(height / model.structure.patchSize), cols: Math.ceil(width / model.structure.patchSize) };
  // Batches only where the graph's batch axis is dynamic; a fixed-batch export takes one image per run.
  const batchSize = model.structure.input.dynamicBatch ? 28 : 1;
  return { dims, grid, patch: model.structure.patchSize, batchSize };
}

test('demo ViT: occlusion map and deletion/insertion curves match PyTorch within 1e-4', async () => {
  const model = demoModel();
  const session = await createSession(model);
  const { dims, grid, patch, batchSize } = setup(model);
  assert.deepEqual(grid, refs.grid);
  assert.equal(patch, refs.patch);
  assert.ok(model.structure.input.dynamicBatch, 'the demo is exported with a dynamic batch axis');
  const run = batchRunner(session, model);
  const fixtures = referenceFixtures();
  assert.equal(fixtures.length, refs.fixtures.length);
  for (const f of fixtures) {
    const ref = refs.fixtures.find((r) => r.name === f.name)!;
    const { input, attention } = reference(f);
    // Batched logits-only runs agree with the runner's own single-image run.
    const [z] = await run(Float32Array.from(input), 1);
    const single = await runModel(session, model, input);
    assert.ok(maxAbsDiff(z, single.logits) <= 1e-6, `${f.name}: batched vs runModel logits`);

    const t0 = performance.now();
    const occ = await runOcclusion(input, dims, grid, patch, run, { batchSize });
    const ms = performance.now() - t0;
    assert.equal(occ.classIndex, ref.classIndex);
    assert.ok(Math.abs(occ.baseProb - ref.baseProb) <= TOL, `${f.name}: base probability ${occ.baseProb} vs ${ref.baseProb}`);
    const dProbs = maxAbsDiff(occ.probs, ref.occlusionProbs);
    const dMap = maxAbsDiff(occ.map, ref.maps.occlusion);
    assert.ok(dProbs <= TOL && dMap <= TOL, `${f.name}: occlusion probabilities ${dProbs}, map ${dMap}`);

    // The stored attention map is the last layer's CLS row over patch keys, mean over heads, of the reference.
    const [L, H, T] = f.attentionShape;
    const attn = Float32Array.from({ length: T - 1 }, (_, j) => {
      let s = 0;
      for (let h = 0; h < H; h++) s += attention[(((L - 1) * H + h) * T + 0) * T + 1 + j];
      return s / H;
    });
    assert.ok(maxAbsDiff(attn, ref.maps.attention) <= 1e-6, `${f.name}: attention map`);

    const lines: string[] = [];
    const scores = [];
    for (const name of ['occlusion', 'attention'] as const) {
      // PyTorch's stored map, so both sides rank the identical float32 values (a 1e-7 difference could swap near-ties).
      const fr = await runFaithfulness(input, dims, grid, patch, Float32Array.from(ref.maps[name]), run, { batchSize, classIndex: ref.classIndex });
      const rc = ref.curves[name];
      assert.deepEqual(fr.order, rc.order, `${f.name} ${name}: patch ranking`);
      assert.deepEqual(fr.counts, rc.counts);
      const dd = maxAbsDiff(fr.deletion, rc.deletion), di = maxAbsDiff(fr.insertion, rc.insertion);
      const da = Math.abs(fr.deletionAuc - rc.deletionAuc), ia = Math.abs(fr.insertionAuc - rc.insertionAuc);
      assert.ok(Math.max(dd, di, da, ia) <= TOL, `${f.name} ${name}: deletion ${dd}, insertion ${di}, AUCs ${da} ${ia}`);
      // End points are the unperturbed and the fully blanked input, whichever the map.
      assert.ok(Math.abs(fr.deletion[0] - occ.baseProb) <= 1e-6 && Math.abs(fr.insertion[10] - occ.baseProb) <= 1e-6);
      assert.ok(Math.abs(fr.deletion[10] - fr.insertion[0]) <= 1e-6);
      scores.push({ name, deletionAuc: fr.deletionAuc, insertionAuc: fr.insertionAuc });
      lines.push(`${name} del ${fr.deletionAuc.toFixed(4)} (Δ${da.toExponential(1)}) ins ${fr.insertionAuc.toFixed(4)} (Δ${ia.toExponential(1)}) curves Δ${Math.max(dd, di).toExponential(1)}`);
    }
    console.log(`${f.name}: ${ref.label} p=${occ.baseProb.toFixed(4)}; occlusion (${occ.images} images, batch ${batchSize}) ${ms.toFixed(0)} ms, probs Δ${dProbs.toExponential(1)} map Δ${dMap.toExponential(1)}; ${lines.join('; ')}`);
    console.log(`  ${rankMaps(scores).explanation}`);
  }
});

test('cancel: an abort mid-run rejects with OcclusionCancelled between batches, and a later run still works', async () => {
  const model = demoModel();
  const session = await createSession(model);
  const { dims, grid, patch } = setup(model);
  const inner = batchRunner(session, model);
  const { input } = reference(referenceFixtures()[0]);
  const controller = new AbortController();
  let calls = 0;
  const run: RunBatch = async (batch, b) => {
    calls++;
    if (calls === 3) controller.abort();
    return inner(batch, b);
  };
  await assert.rejects(runOcclusion(input, dims, grid, patch, run, { batchSize: 16, signal: controller.signal }), (e: unknown) => e instanceof OcclusionCancelled && e.name === 'OcclusionCancelled');
  assert.equal(calls, 3, 'no batch starts after the abort');
  await assert.rejects(runFaithfulness(input, dims, grid, patch, new Float32Array(196), run, { signal: controller.signal }), OcclusionCancelled);
  assert.equal(calls, 3, 'an already aborted signal runs nothing');

  const progress: [number, number][] = [];
  const again = await runOcclusion(input, dims, grid, patch, inner, { batchSize: 64, onProgress: (d, t) => progress.push([d, t]) });
  assert.equal(again.map.length, 196);
  const ref = refs.fixtures.find((r) => r.name === referenceFixtures()[0].name)!;
  assert.ok(maxAbsDiff(again.map, ref.maps.occlusion) <= TOL);
  assert.deepEqual(progress, [[0, 197], [64, 197], [128, 197], [192, 197], [197, 197]]);
});

test('progress: monotonic counts up to the total, for batch sizes that do and do not divide it', async () => {
  const dims: InputDims = [1, 1, 4, 4];
  const grid = { rows: 2, cols: 2 };
  const input = Float32Array.from({ length: 16 }, (_, i) => i + 1);
  // A fake model: logit 0 = sum of the input, logit 1 = 0, so blanking lowers p(class 0) by the patch's sum.
  const run: RunBatch = async (batch, b) => Array.from({ length: b }, (_, i) => [batch.subarray(i * 16, (i + 1) * 16).reduce((a, v) => a + v, 0) / 100, 0]);
  for (const batchSize of [1, 2, 3, 5, 100]) {
    const seen: number[] = [];
    const occ = await runOcclusion(input, dims, grid, 2, run, { batchSize, onProgress: (d, t) => { assert.equal(t, 5); seen.push(d); } });
    assert.equal(seen[0], 0);
    assert.equal(seen.at(-1), 5);
    for (let i = 1; i < seen.length; i++) assert.ok(seen[i] > seen[i - 1], `batch ${batchSize}: ${seen}`);
    assert.equal(seen.length, 1 + Math.ceil(5 / batchSize));
    assert.equal(occ.classIndex, 0);
    // Patch 0 holds 1,2,5,6 (the smallest sum): the least drop; patch 3 the largest.
    assert.deepEqual(rankPatches(occ.map), [3, 2, 1, 0]);
    const fSeen: number[] = [];
    await runFaithfulness(input, dims, grid, 2, occ.map, run, { batchSize, steps: 4, onProgress: (d, t) => { assert.equal(t, 10); fSeen.push(d); } });
    assert.deepEqual([fSeen[0], fSeen.at(-1)], [0, 10]);
  }
});

test('blank value, tie order, patch counts and AUC on hand-made inputs', () => {
  assert.equal(BLANK_VALUE, 0);
  // Blanking: exactly the patch's pixels in every channel, border patches clipped.
  const dims: InputDims = [1, 2, 5, 5];
  const x = blankPatches(new Float32Array(50).fill(1), dims, { rows: 3, cols: 3 }, 2, [8]);
  const blanked = [...x.keys()].filter((i) => x[i] === 0);
  assert.deepEqual(blanked, [24, 49]);
  const [a, b] = occlusionInputs(new Float32Array(50).fill(1), dims, { rows: 3, cols: 3 }, 2, [0, 4]);
  assert.deepEqual([...a.keys()].filter((i) => a[i] === 0), [0, 1, 5, 6, 25, 26, 30, 31]);
  assert.deepEqual([...b.keys()].filter((i) => b[i] === 0), [12, 13, 17, 18, 37, 38, 42, 43]);
  assert.throws(() => occlusionInputs(new Float32Array(50), dims, { rows: 4, cols: 3 }, 2, [0]), RangeError);
  assert.deepEqual([...occlusionMap(0.5, [0.5, 0.25, 0.75])], [0, 0.25, -0.25]);

  // Ties: lower index first; NaN coldest.
  assert.deepEqual(rankPatches([0.2, 0.5, 0.2, 0.5, NaN, 0.1]), [1, 3, 0, 2, 5, 4]);
  assert.deepEqual(rankPatches([1, 1, 1, 1]), [0, 1, 2, 3]);

  // Steps: round half up of k·n in integers (196 patches: 19.6 → 20, 39.2 → 39, 98 at 50 %).
  assert.deepEqual(Array.from({ length: 11 }, (_, s) => patchCount(s, 10, 196)), [0, 20, 39, 59, 78, 98, 118, 137, 157, 176, 196]);
  assert.deepEqual(Array.from({ length: 11 }, (_, s) => patchCount(s, 10, 5)), [0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5]);

  // Trapezoid over k ∈ [0, 1]: a straight line from 1 to 0 has area 1/2; a step after the first point 0.95.
  assert.equal(trapezoidAuc([1, 0]), 0.5);
  assert.ok(Math.abs(trapezoidAuc(Array.from({ length: 11 }, (_, i) => 1 - i / 10)) - 0.5) < 1e-12);
  assert.ok(Math.abs(trapezoidAuc([0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1]) - 0.95) < 1e-12);
  assert.ok(Math.abs(trapezoidAuc([0.4, 0.1, 0.2]) - 0.2) < 1e-12);

  const { ranking, explanation } = rankMaps([
    { name: 'attention', deletionAuc: 0.3, insertionAuc: 0.5 },
    { name: 'occlusion', deletionAuc: 0.1, insertionAuc: 0.6 },
    { name: 'random', deletionAuc: 0.4, insertionAuc: 0.6 },
  ]);
  assert.deepEqual(ranking.map((r) => [r.name, r.rank]), [['occlusion', 1], ['attention', 2], ['random', 3]]);
  assert.ok(!explanation.includes('\n') && explanation.startsWith('Most faithful: occlusion'), explanation);
});
