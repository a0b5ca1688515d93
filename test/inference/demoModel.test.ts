/** onnxruntime-web in Node on the committed demo model, against the PyTorch reference outputs. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as ort from 'onnxruntime-web';
import { maxRowSumError } from '../../src/shared/attentionMaps';
import { createSession, runModel } from '../../src/cli/runModel';
import { demoModel, maxAbsDiff, reference, referenceFixtures } from '../support/fixtures';
import { readFileSync } from 'node:fs';
import { DEMO_MODEL } from '../support/fixtures';

const TOL = 1e-4;

test('demo model: logits and every layer\'s attention match PyTorch within 1e-4; rows sum to 1', async () => {
  const model = demoModel();
  const session = await createSession(model);
  const fixtures = referenceFixtures();
  assert.ok(fixtures.length >= 2, 'at least two reference fixtures');
  for (const f of fixtures) {
    const ref = reference(f);
    const run = await runModel(session, model, ref.input);
    const dLogits = maxAbsDiff(run.logits, ref.logits);
    assert.ok(dLogits <= TOL, `${f.name}: logits differ by ${dLogits}`);
    const [L, H, T] = f.attentionShape;
    assert.equal(run.layers.length, L);
    for (let l = 0; l < L; l++) {
      const a = run.layers[l];
      assert.equal(a.heads, H);
      assert.equal(a.tokens, T);
      const refLayer = ref.attention.subarray(l * H * T * T, (l + 1) * H * T * T);
      const d = maxAbsDiff(a.data, refLayer);
      assert.ok(d <= TOL, `${f.name} layer ${l}: attention differs by ${d}`);
      const rowErr = maxRowSumError(a);
      assert.ok(rowErr <= 1e-4, `${f.name} layer ${l}: a row sums to 1 ± ${rowErr}`);
    }
    console.log(`${f.name}: max |Δlogits| ${dLogits.toExponential(2)}`);
  }
});

test('instrumenting leaves the logits unchanged', async () => {
  const model = demoModel();
  const plain = await ort.InferenceSession.create(new Uint8Array(readFileSync(DEMO_MODEL)));
  const inst = await createSession(model);
  assert.equal(inst.outputNames.length, plain.outputNames.length + model.attentionOutputs.length + 1 + 2 * (model.tokenNormOutputs?.length ?? 0), `instrumented outputs: ${inst.outputNames.join(', ')}`);
  for (const f of referenceFixtures()) {
    const { input } = reference(f);
    const x = new ort.Tensor('float32', input, f.inputShape);
    const a = (await plain.run({ [model.structure.input.name]: x }))[model.logitsOutput].data as Float32Array;
    const b = (await runModel(inst, model, input)).logits;
    assert.ok(maxAbsDiff(a, b) <= 1e-6, `${f.name}: instrumented logits differ by ${maxAbsDiff(a, b)}`);
  }
});
