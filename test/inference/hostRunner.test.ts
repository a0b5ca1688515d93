/**
 * vitLens.runModelIn = "extensionHost": the model thread (src/host/modelThread.ts, onnxruntime-web's WASM build in a
 * Node worker thread) behind the same session runner as the webview's worker. Its outputs equal an in-process run of
 * the same kernels; sessions are kept across runs (the bytes cross once); errors, timeouts and a crash are reported as
 * the panel reports them, and the thread is usable after each.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { modelThreadFromSource } from '../support/modelThread';
import { createSession, runModel } from '../../src/cli/runModel';
import { DEFAULT_VIEW, type HostRun, runOutputs } from '../../src/shared/protocol';
import { HeldAttention } from '../../src/shared/firstRows';
import { computeView, runDataOf } from '../../src/shared/viewData';
import { attentionRow } from '../../src/shared/attentionMaps';
import { meanAttentionDistance } from '../../src/shared/locality';
import type { ErrorInfo } from '../../src/shared/errors';
import { realModel } from '../support/realModel';

// The thread runs the TypeScript source (through tsx's require hook), so this test needs no build.
const thread = modelThreadFromSource();
after(() => thread.stop());

const model = realModel();
const dims = [1, 3, 224, 224];
// A smooth synthetic image in the model's normalized range.
const input = Float32Array.from({ length: 3 * 224 * 224 }, (_, i) => Math.sin(i / 997) * 0.8);
let bytesAsked = 0;
const bytes = () => {
  bytesAsked++;
  return { parts: [model.bytes, model.graphPatch!] };
};
const run = (m = model, timeoutMs?: number, modelBytes = bytes) => thread.run(m.key, modelBytes, input.slice(), m.structure.input.name, dims, runOutputs(m), 'wasm', timeoutMs);

test('the host thread computes the same logits and attention as an in-process run; the second run reuses the session', async () => {
  const first = await run();
  assert.equal(bytesAsked, 1);
  assert.ok(first.sessionMs > 0);
  const session = await createSession(model);
  const local = await runModel(session, model, input.slice());
  await session.release();
  const logits = first.tensors.get(model.logitsOutput)!.data;
  assert.equal(logits.length, 1000);
  let worst = 0;
  for (let i = 0; i < logits.length; i++) worst = Math.max(worst, Math.abs(logits[i] - local.logits[i]));
  assert.ok(worst < 1e-4, `logits differ by ${worst}`);
  const outputs = runOutputs(model);
  assert.deepEqual([...first.tensors.keys()], outputs);
  const lastAttention = first.tensors.get(outputs.find((o) => o !== model.logitsOutput && first.tensors.get(o)!.dims.length === 4)!)!;
  assert.equal(lastAttention.dims.at(-1), 197);
  const second = await run();
  assert.equal(bytesAsked, 1, 'the thread kept the session: no bytes sent again');
  assert.equal(second.sessionMs, 0);
  assert.deepEqual(Array.from(second.tensors.get(model.logitsOutput)!.data), Array.from(logits));
});

test('a corrupt model is an error with the reason; the thread then runs the real model', async () => {
  await assert.rejects(
    thread.run('broken', () => ({ parts: [model.bytes.subarray(0, 5000)] }), input.slice(), model.structure.input.name, dims, [model.logitsOutput], 'wasm'),
    (e: ErrorInfo) => e.kind === 'inference' && e.message.length > 0,
  );
  const again = await run();
  assert.equal(again.tensors.get(model.logitsOutput)!.data.length, 1000);
});

test('prepare with a warm-up: the new session runs once on zeros before the first real run, which reports it and gives the same numbers; a run already waiting skips it', async () => {
  const reference = await run();
  thread.stop();
  // A run that arrives while the session is being created: the warm-up would only delay it.
  await thread.prepare(model.key, bytes, 'wasm', { inputName: model.structure.input.name, dims });
  const waiting = await run();
  assert.ok(waiting.sessionMs > 0);
  assert.equal(waiting.warmUpMs, undefined, 'no warm-up before a run that was waiting');
  thread.stop();
  await thread.prepare(model.key, bytes, 'wasm', { inputName: model.structure.input.name, dims });
  // The panel takes a second or more to start: session (about 1 s here) and warm-up (0.6 s) are done long before.
  await new Promise((r) => setTimeout(r, 6000));
  const r = await run();
  assert.ok(r.sessionMs > 0 && (r.warmUpMs ?? 0) > 0, `session ${r.sessionMs} ms, warm-up ${r.warmUpMs} ms`);
  const [a, b] = [r, reference].map((x) => x.tensors.get(model.logitsOutput)!.data);
  assert.ok(a.every((v, i) => Math.abs(v - b[i]) < 1e-4), 'the warm-up leaves the logits unchanged');
  for (const name of model.attentionOutputs) assert.deepEqual(Array.from(r.tensors.get(name)!.data.subarray(0, 197)), Array.from(reference.tensors.get(name)!.data.subarray(0, 197)), name);
  const next = await run();
  assert.equal(next.warmUpMs, undefined, 'reported once');
  // A session that was already there is not warmed up again.
  await thread.prepare(model.key, bytes, 'wasm', { inputName: model.structure.input.name, dims });
  assert.equal((await run()).sessionMs, 0);
});

test('a run over the time limit is stopped with the panel\'s message; the next run starts a new thread', async () => {
  thread.stop();
  await assert.rejects(run(model, 1), (e: ErrorInfo) => /did not finish within 0 s, so ViT Lens stopped it/.test(e.message) && /vitLens\.inferenceTimeoutSeconds/.test(e.hint ?? ''));
  const before = bytesAsked;
  const r = await run();
  assert.equal(bytesAsked, before + 1, 'a new thread needs the bytes again');
  assert.equal(r.tensors.get(model.logitsOutput)!.data.length, 1000);
});

test('first rows first: the CLS heatmap of every layer and head from row 0 equals the full run\'s; views that need other rows wait; the host computes the attention distance from what it holds; the rest arrives whole', async () => {
  const full = await run();
  const hostRun: HostRun = { tensors: [...full.tensors.values()].map((x) => ({ ...x, data: x.data.slice() })), backend: full.backend, threads: full.threads, inferenceMs: full.inferenceMs, sessionMs: 0 };
  const held = new HeldAttention();
  const first = held.firstRows(hostRun, model.attentionOutputs);
  assert.deepEqual(first.rest?.names, model.attentionOutputs, 'every attention output is sent as its first row');
  const sent = first.tensors.reduce((s, x) => s + x.data.byteLength, 0);
  const whole = hostRun.tensors.reduce((s, x) => s + x.data.byteLength, 0);
  assert.ok(sent * 20 < whole, `first reply ${sent} B against ${whole} B for the whole run`);
  const firstRun = runDataOf(model, (n) => first.tensors.find((x) => x.name === n));
  const fullRun = runDataOf(model, (n) => full.tensors.get(n));
  assert.equal(firstRun.layers.length, fullRun.layers.length, 'no layer dropped or renumbered');
  for (let l = 0; l < fullRun.layers.length; l++) {
    assert.equal(firstRun.layers[l].pendingQueries, 197);
    for (const head of ['mean', 'max', 'min', ...Array.from({ length: fullRun.layers[l].heads }, (_, h) => String(h))]) {
      const v = { ...DEFAULT_VIEW, layer: l, head };
      const a = computeView(model.structure, firstRun, v);
      const b = computeView(model.structure, fullRun, v);
      assert.equal(a.refused, undefined);
      assert.equal(a.caption, b.caption);
      assert.deepEqual(Array.from(a.values!), Array.from(b.values!), `layer ${l + 1}, head ${head}`);
    }
  }
  // Rollout, a patch as the query or as the key: not drawn from first rows, and never mistaken for a CLS-rows-only export.
  for (const v of [{ mode: 'rollout' as const }, { selected: { row: 3, col: 4 } }, { selected: { row: 3, col: 4 }, direction: 'key' as const }]) {
    const d = computeView(model.structure, firstRun, { ...DEFAULT_VIEW, layer: 11, ...v });
    assert.ok(d.pending && d.refused && !d.values, JSON.stringify(v));
    assert.match(d.caption, /Waiting for the full attention/);
  }
  assert.throws(() => attentionRow(firstRun.layers[0], 5, 'mean', 1), /holds 1 of 197 query rows/);
  assert.throws(() => held.rest(first.rest!.runId + 1), /no longer held/);
  // The ideas' attention distance, computed in the host: the same numbers the panel computes from the whole run.
  const s = model.structure;
  // A layer at a time: the extension host's thread serves other work in between.
  let turns = 0;
  const other = setInterval(() => turns++, 0);
  const distances = await held.distances(first.rest!.runId, model.attentionOutputs, s.grid!, s.prefixTokens, s.patchSize);
  clearInterval(other);
  assert.ok(turns >= 6, `the host's other work ran ${turns} times during 12 layers`);
  assert.deepEqual(distances, fullRun.layers.map((a) => meanAttentionDistance(a, s.grid!, s.prefixTokens, s.patchSize)));
  assert.ok(distances[11].every((d) => d > 0) && distances.length === 12 && distances[0].length === 3);
  await assert.rejects(held.distances(first.rest!.runId, model.attentionOutputs, { rows: 7, cols: 7 }, s.prefixTokens, s.patchSize), /has 197 tokens; the 7×7 grid and 1 prefix tokens make 50/);
  const rest = held.rest(first.rest!.runId);
  for (const x of rest) assert.deepEqual(Array.from(x.data), Array.from(full.tensors.get(x.name)!.data), x.name);
  // Held until the panel's next run, which replaces it.
  held.firstRows(hostRun, model.attentionOutputs);
  assert.throws(() => held.rest(first.rest!.runId), /no longer held/, 'replaced by the next run');
  held.clear();
  assert.equal(held.heldBytes(), 0);
});

test('prepare: the host creates the session while the panel starts; the first run finds it ready, and a model that cannot load is reported by its run', async () => {
  thread.stop();
  const before = bytesAsked;
  await thread.prepare(model.key, bytes, 'wasm');
  assert.equal(bytesAsked, before + 1, 'the bytes crossed with the preparation');
  // The panel takes a second or more to start: meanwhile the session is created.
  await new Promise((r) => setTimeout(r, 1500));
  const t0 = performance.now();
  const r = await run();
  const wall = performance.now() - t0;
  assert.equal(bytesAsked, before + 1, 'the run sent no bytes');
  assert.ok(r.sessionMs > 0, 'the session time is reported by the first run');
  assert.equal(r.warmUpMs, undefined, 'no warm-up was asked for');
  assert.ok(wall + 200 < r.sessionMs + r.inferenceMs, `the run took ${wall.toFixed(0)} ms: the session (${r.sessionMs.toFixed(0)} ms) was not created before it`);
  assert.equal(r.tensors.get(model.logitsOutput)!.data.length, 1000);
  // A truncated model: the preparation fails quietly, and the run says why.
  await thread.prepare('broken-prepared', () => ({ parts: [model.bytes.subarray(0, 5000)] }), 'wasm');
  await assert.rejects(
    thread.run('broken-prepared', () => assert.fail('the bytes came with the preparation'), input.slice(), model.structure.input.name, dims, [model.logitsOutput], 'wasm'),
    (e: ErrorInfo) => e.kind === 'inference' && !/were not sent/.test(e.message) && e.message.length > 0,
  );
  const again = await run();
  assert.equal(again.tensors.get(model.logitsOutput)!.data.length, 1000);
});
