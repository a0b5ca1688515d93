/**
 * The session runner's warm-up decision, with a stand-in onnxruntime whose session creation blocks the thread as the
 * real WASM build's does (ViT-B/16: seconds): a run posted meanwhile is still queued when the session is ready.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import type { FromWorker, ToWorker } from '../../src/shared/protocol';
import { createSessionRunner } from '../../src/shared/sessionRunner';

function busy(ms: number): void {
  const end = Date.now() + ms;
  while (Date.now() < end) { /* the thread is inside onnxruntime's synchronous session creation */ }
}

/** A fake onnxruntime: `runs` counts session runs (warm-ups included); `createMs` of the thread blocked per session. */
function fakeOrt(createMs: number) {
  const counts = { runs: 0 };
  class Tensor { constructor(readonly type: string, readonly data: Float32Array, readonly dims: number[]) {} }
  const ort = {
    env: { wasm: {} },
    Tensor,
    InferenceSession: {
      create: async (bytes: Uint8Array) => {
        if (bytes.length > 100) busy(createMs); // the tiny WASM warm-up model is quick
        return {
          inputMetadata: [{ name: 'pixels', isTensor: true, type: 'float32', shape: [1, 3, 4, 4] }],
          run: async () => { counts.runs++; return { logits: new Tensor('float32', new Float32Array([1, 2]), [1, 2]) }; },
          release: async () => undefined,
        };
      },
    },
  };
  // A stand-in for the parts of onnxruntime-web the runner uses.
  return { ort: ort as unknown as Parameters<typeof createSessionRunner>[0], counts };
}

const common = { backend: 'wasm' as const, wasmUrl: '', threads: 1 };
const prepare = (): ToWorker => ({ type: 'prepare', modelKey: 'm', modelBytes: new Uint8Array(1000), ...common, warmUp: { inputName: 'pixels', dims: [1, 3, 4, 4] } });
const run = (): ToWorker => ({ type: 'run', id: 1, modelKey: 'm', input: new Float32Array(48), inputName: 'pixels', dims: [1, 3, 4, 4], outputs: ['logits'], ...common });

function replyOf(runner: ReturnType<typeof createSessionRunner>, msg: ToWorker): Promise<FromWorker> {
  return new Promise((resolve) => runner.handle(msg, (reply) => resolve(reply)));
}

test('a run posted while the session is being created (the thread blocked) skips the warm-up: it runs once, at once', async () => {
  const { ort, counts } = fakeOrt(400);
  const runner = createSessionRunner(ort, (u) => u);
  runner.handle(prepare(), () => undefined);
  // Posted 50 ms later: the runner's thread is then inside the 400 ms creation, so this waits in the queue.
  const reply = await new Promise<FromWorker>((resolve) => setTimeout(() => void replyOf(runner, run()).then(resolve), 50));
  assert.equal(reply.type, 'result');
  assert.equal(reply.type === 'result' && reply.warmUpMs, undefined, 'no warm-up before a run that was waiting');
  assert.equal(reply.type === 'result' && reply.sessionMs > 350, true, 'the run reports the session it waited for');
  assert.equal(counts.runs, 1, 'only the real run ran');
});

test('with no run waiting once the session is ready, the warm-up runs and the first run reports it', async () => {
  const { ort, counts } = fakeOrt(100);
  const runner = createSessionRunner(ort, (u) => u);
  runner.handle(prepare(), () => undefined);
  await new Promise((r) => setTimeout(r, 300));
  assert.equal(counts.runs, 1, 'the warm-up ran while nothing waited');
  const reply = await replyOf(runner, run());
  assert.equal(reply.type === 'result' && typeof reply.warmUpMs, 'number');
  assert.equal(counts.runs, 2);
});
