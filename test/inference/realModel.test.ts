/**
 * The bundled ImageNet ViT-Ti/16 (Google AugReg, weights stored as float16) run with onnxruntime-web in Node
 * against the fp32 PyTorch references written by scripts/make_real_vit.py.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { statSync } from 'node:fs';
import { maxRowSumError } from '../../src/shared/attentionMaps';
import { createSession, runModel } from '../../src/cli/runModel';
import { maxAbsDiff } from '../support/fixtures';
import { REAL_MODEL, realIndex, realModel, realReference, softmax, topK } from '../support/realModel';

const index = realIndex();
/**
 * Tolerances from models/reference/vit-tiny-imagenet/index.json ("tolerance"): twice the max abs difference that
 * rounding the weights to float16 makes in PyTorch over the 7 sample photos (measured: logits 0.0131, softmax
 * probabilities 9.9e-4, attention 2.3e-3), so about 0.026 for logits; attention adds the reference's own float16
 * storage error (≤ 2.5e-4).
 */
const TOL = index.tolerance;
/** Against the PyTorch model with the same float16-rounded weights the ONNX stores, only float32 round-off remains. */
const TOL_SAME_WEIGHTS = 1e-4; // measured 1.8e-5 at most

test('real model: detected as a 12-layer, 3-head ViT with the card\'s 1000 ImageNet labels; weights stored as float16 (11–12 MB)', () => {
  const model = realModel();
  assert.equal(model.structure.attention.length, 12);
  assert.equal(model.structure.heads, 3);
  assert.equal(model.structure.prefixTokens, 1);
  assert.equal(model.card.labels.length, 1000);
  assert.equal(model.card.labels[281], 'tabby cat');
  assert.equal(model.card.preprocess.size, 224);
  assert.deepEqual(model.card.preprocess.mean, [0.5, 0.5, 0.5]);
  const mb = statSync(REAL_MODEL).size / 1e6;
  assert.ok(mb > 11 && mb < 12, `${mb} MB`);
  // The tolerance must be a real measurement, small next to the logits' scale.
  assert.ok(TOL.logits > 0 && TOL.logits < 0.05, `logits tolerance ${TOL.logits}`);
  assert.ok(TOL.attention > 0 && TOL.attention < 0.01, `attention tolerance ${TOL.attention}`);
});

test('real model: ONNX logits, probabilities and every layer\'s attention equal PyTorch within the fp16 tolerance; top-5 identical; rows sum to 1', async () => {
  const model = realModel();
  const session = await createSession(model);
  assert.equal(index.fixtures.length, 3);
  for (const f of index.fixtures) {
    const ref = realReference(f);
    const run = await runModel(session, model, ref.input);
    const dLogits = maxAbsDiff(run.logits, ref.logits);
    assert.ok(dLogits <= TOL.logits, `${f.name}: logits differ by ${dLogits} > ${TOL.logits}`);
    const dSame = maxAbsDiff(run.logits, ref.logitsFp16Weights);
    assert.ok(dSame <= TOL_SAME_WEIGHTS, `${f.name}: logits differ from PyTorch with the same fp16 weights by ${dSame} > ${TOL_SAME_WEIGHTS}`);
    const dProb = maxAbsDiff(softmax(run.logits), softmax(ref.logits));
    assert.ok(dProb <= TOL.probabilities, `${f.name}: probabilities differ by ${dProb} > ${TOL.probabilities}`);
    const top5 = topK(run.logits, 5);
    assert.deepEqual(top5.map((i) => model.card.labels[i]), f.top5.map((t) => t.label), `${f.name}: top-5 labels`);
    assert.deepEqual(top5, f.top5.map((t) => t.index));
    const [L, H, T] = f.attentionShape;
    assert.equal(run.layers.length, L);
    let dAtt = 0;
    for (let l = 0; l < L; l++) {
      const a = run.layers[l];
      assert.equal(a.heads, H);
      assert.equal(a.tokens, T);
      const d = maxAbsDiff(a.data, ref.attention.subarray(l * H * T * T, (l + 1) * H * T * T));
      assert.ok(d <= TOL.attention, `${f.name} layer ${l}: attention differs by ${d} > ${TOL.attention}`);
      dAtt = Math.max(dAtt, d);
      const rowErr = maxRowSumError(a);
      assert.ok(rowErr <= 1e-4, `${f.name} layer ${l}: a row sums to 1 ± ${rowErr}`);
    }
    console.log(`${f.name}: top-1 ${model.card.labels[top5[0]]} ${softmax(run.logits)[top5[0]].toFixed(4)}; max |Δlogits| ${dLogits.toExponential(2)} (same fp16 weights: ${dSame.toExponential(2)}), |Δp| ${dProb.toExponential(2)}, |Δattention| ${dAtt.toExponential(2)}`);
  }
});

test('real model: cat_tabby is a tabby cat, dog_beagle a Beagle, pizza a pizza', async () => {
  const model = realModel();
  const session = await createSession(model);
  const want: Record<string, string> = { cat_tabby: 'tabby cat', dog_beagle: 'Beagle', pizza: 'pizza' };
  for (const f of index.fixtures) {
    const run = await runModel(session, model, realReference(f).input);
    assert.equal(model.card.labels[topK(run.logits, 1)[0]], want[f.name], f.name);
  }
});

test('real model: the tolerance catches a small change (input scaled by 0.99 moves the logits beyond it)', async () => {
  // Guards against a tolerance so loose the comparison above could not fail.
  const model = realModel();
  const session = await createSession(model);
  const f = index.fixtures[0];
  const ref = realReference(f);
  const run = await runModel(session, model, ref.input.map((v) => v * 0.99));
  const d = maxAbsDiff(run.logits, ref.logits);
  assert.ok(d > TOL.logits, `a 1 % input change moved the logits by only ${d} (tolerance ${TOL.logits})`);
  console.log(`input × 0.99: max |Δlogits| ${d.toFixed(3)} against a tolerance of ${TOL.logits.toFixed(4)}`);
});
