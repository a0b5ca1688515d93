/**
 * The runner client composes messages in call order: a run asked for while a 'prepare' is still copying the model
 * (in 16 MB steps) sends no second copy, and reaches the worker after the prepare. The panel sends a small model's
 * bytes ahead and prepares its session while the image is decoded, so the two do meet.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { RunnerClient, type RunnerWorker } from '../../src/shared/runnerClient';
import type { FromWorker, ToWorker } from '../../src/shared/protocol';

test('a run during a prepare\'s copy: the model crosses once, the prepare first, and the run gets its result', async () => {
  const posted: ToWorker[] = [];
  let reply: (m: FromWorker) => void = () => {};
  const client = new RunnerClient({
    // A worker that takes a moment to start, as a Web Worker or a worker thread does.
    start: async (_backend, onMessage) => {
      reply = onMessage;
      await new Promise((r) => setTimeout(r, 20));
      const worker: RunnerWorker = {
        post: (msg) => {
          posted.push(msg);
          if (msg.type === 'run') setTimeout(() => reply({ type: 'result', id: msg.id, tensors: [], backend: 'wasm', threads: 1, inferenceMs: 1, sessionMs: 0 }), 0);
        },
        terminate: () => {},
      };
      return worker;
    },
    wasmUrl: () => 'ort.wasm',
    threads: () => 1,
  });
  const model = new Uint8Array(40 << 20).fill(7);
  const parts = () => ({ parts: [model] });
  const prepared = client.prepare('m', parts, 'wasm');
  const run = client.run('m', parts, new Float32Array(4), 'pixel_values', [1, 1, 2, 2], ['logits'], 'wasm');
  await prepared;
  const result = await run;
  assert.equal(result.backend, 'wasm');
  assert.deepEqual(posted.map((m) => `${m.type}${'modelBytes' in m && m.modelBytes ? ' with the model' : ''}`), ['prepare with the model', 'run']);
});
