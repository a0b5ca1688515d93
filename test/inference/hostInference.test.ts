/**
 * The extension host's inference thread (worker_threads + onnxruntime-web's Node build, several threads): the
 * same numbers as PyTorch, one session per model reused, bad models and timeouts reported, the thread usable after.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { HostInference } from '../../src/host/hostInference';
import { prepareModel } from '../../src/shared/prepareModel';
import { runDataOf } from '../../src/shared/viewData';
import { demoModel, maxAbsDiff, reference, referenceFixtures, ROOT } from '../support/fixtures';

const ort = path.join(ROOT, 'node_modules/onnxruntime-web/dist');
// The thread's TypeScript source, loaded through tsx (the extension loads the bundled dist/inferenceThread.js).
const script = `require(${JSON.stringify(require.resolve('tsx/cjs'))}); require(${JSON.stringify(path.join(ROOT, 'src/host/inferenceThread.ts'))});`;
const host = new HostInference({ script, eval: true, ortEntry: path.join(ort, 'ort.node.min.mjs'), wasmBinary: path.join(ort, 'ort-wasm-simd-threaded.wasm') });
after(() => host.dispose());

test('host thread: logits and every layer\'s attention equal PyTorch; the session is created once', async () => {
  const model = demoModel();
  await host.load(model);
  for (const [i, f] of referenceFixtures().entries()) {
    const ref = reference(f);
    const r = await host.run(model, ref.input.slice(), 60_000);
    assert.equal(r.where, 'extensionHost');
    assert.equal(r.threads, host.threads);
    // Created by load() before the first input existed; reported with the first run, reused after.
    if (i === 0) assert.ok(r.sessionMs > 0);
    else assert.equal(r.sessionMs, 0, 'session reused');
    const tensors = new Map(r.tensors.map((t) => [t.name, t]));
    const run = runDataOf(model, (n) => tensors.get(n));
    const dLogits = maxAbsDiff(tensors.get(model.logitsOutput)!.data, ref.logits);
    assert.ok(dLogits <= 1e-4, `${f.name}: logits differ by ${dLogits}`);
    const [L, H, T] = f.attentionShape;
    for (let l = 0; l < L; l++) {
      const d = maxAbsDiff(run.layers[l].data, ref.attention.subarray(l * H * T * T, (l + 1) * H * T * T));
      assert.ok(d <= 1e-4, `${f.name} layer ${l}: attention differs by ${d}`);
    }
    if (i === 0) console.log(`host thread (${r.threads} threads): ${f.name} max |Δlogits| ${dLogits.toExponential(2)}, inference ${r.inferenceMs.toFixed(0)} ms`);
  }
});

test('host thread: a model onnxruntime rejects is a clear error, a timeout stops the thread, and the next run works', async () => {
  const good = demoModel();
  const bad = { ...good, key: 'broken', bytes: good.bytes.slice(0, 4000), graphPatch: undefined };
  await assert.rejects(host.run(bad, new Float32Array(3 * 224 * 224), 60_000), (e: { kind: string; message: string }) => e.kind !== undefined && e.message.length > 0);
  await assert.rejects(host.run(good, new Float32Array(3 * 224 * 224), 1), (e: { message: string }) => /did not finish within 0 s/.test(e.message));
  const ref = reference(referenceFixtures()[0]);
  const r = await host.run(good, ref.input.slice(), 60_000);
  const logits = r.tensors.find((t) => t.name === good.logitsOutput)!.data;
  assert.ok(maxAbsDiff(logits, ref.logits) <= 1e-4);
  assert.ok(r.sessionMs > 0, 'a new thread created a new session');
});

test('host thread: an fp16 export runs there too', async () => {
  const file = path.join(ROOT, 'test/fixtures/coverage/fp16.onnx');
  const { readFileSync } = await import('node:fs');
  const m = prepareModel(new Uint8Array(readFileSync(file)), 'fp16.onnx', 'fp16', {});
  const size = m.card.preprocess.size;
  const r = await host.run(m, new Float32Array(3 * size * size).fill(0.5), 60_000);
  assert.ok(r.tensors.every((t) => t.data instanceof Float32Array && t.data.every(Number.isFinite)));
});
