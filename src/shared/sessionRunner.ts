/**
 * The one session runner behind both places a model can run: the webview's inference worker (onnxruntime-web's
 * WASM or WebGPU build) and the extension host's model thread (its WASM build in a Node worker thread). It keeps one
 * session per model key, plus at most one companion beside it (the model's gradient session), reused across images
 * and panels; it speaks the worker protocol (ToWorker → FromWorker), so the two places differ only in transport.
 */
import type * as Ort from 'onnxruntime-web';
import { toErrorInfo } from './errors';
import { nextTask } from './inSteps';
import { t, useL10nBundle } from './l10n';
import { imageFeed, outputAsFloat32 } from './ortData';
import type { Backend, FromWorker, ToWorker, WorkerTensor } from './protocol';

type OrtModule = Pick<typeof Ort, 'InferenceSession' | 'Tensor' | 'env'>;
type ExternalData = { path: string; data: Uint8Array }[];
interface Held { backend: Backend; session: Ort.InferenceSession; sessionMs: number; warmUpMs?: number; bytes: { model: Uint8Array; externalData?: ExternalData }; companionOf?: string }

/**
 * A 76-byte ONNX model (one Relu, opset 17). Creating a session from it makes onnxruntime fetch, compile and
 * instantiate its WASM binary while the host is still reading and instrumenting the user's model.
 */
const WARMUP_MODEL = [8, 8, 18, 8, 118, 105, 116, 45, 108, 101, 110, 115, 58, 56, 10, 12, 10, 1, 120, 18, 1, 121, 34, 4, 82, 101, 108, 117, 18, 6, 119, 97, 114, 109, 117, 112, 90, 15, 10, 1, 120, 18, 10, 10, 8, 8, 1, 18, 4, 10, 2, 8, 1, 98, 15, 10, 1, 121, 18, 10, 10, 8, 8, 1, 18, 4, 10, 2, 8, 1, 66, 4, 10, 0, 16, 17];

/** int64 outputs (the gradient probe's shapes) as float32: exact for every shape and index a ViT has. */
function asFloat32(x: Ort.Tensor): Float32Array {
  return x.data instanceof BigInt64Array ? Float32Array.from(x.data, Number) : outputAsFloat32(x);
}

export interface SessionRunner {
  /** Handles one message; `post` receives the reply (with the buffers it may transfer). */
  handle(msg: ToWorker, post: (reply: FromWorker, transfer: ArrayBuffer[]) => void): void;
  /** Releases every session (the host's thread on dispose). */
  releaseAll(): Promise<void>;
  /** Model keys with a session now (tests). */
  keys(): string[];
}

/** `wasmPaths(msg)`: where this place's onnxruntime finds its WASM (a URL in the webview, a file prefix in Node). */
export function createSessionRunner(ort: OrtModule, wasmPaths: (wasmUrl: string) => string | { wasm: string }): SessionRunner {
  const sessions = new Map<string, Held>();
  let warm: Promise<void> | undefined;
  let preparing: Promise<void> | undefined;
  /** Runs waiting for a preparation: its warm-up is skipped then, as it would only delay them. */
  let waitingRuns = 0;
  /** Bytes from a 'prepare' whose session failed: kept for the run, which then reports the reason. */
  const unprepared = new Map<string, { model: Uint8Array; externalData?: ExternalData }>();

  function createSession(bytes: Uint8Array, backend: Backend, wasmUrl: string, threads: number, externalData?: ExternalData): Promise<Ort.InferenceSession> {
    ort.env.wasm.wasmPaths = wasmPaths(wasmUrl);
    ort.env.wasm.numThreads = threads;
    ort.env.wasm.proxy = false;
    return ort.InferenceSession.create(bytes, { executionProviders: [backend], graphOptimizationLevel: 'all', externalData });
  }

  function feedTensor(feed: ReturnType<typeof imageFeed>, dims: number[]): Ort.Tensor {
    return feed.type === 'float16' ? new ort.Tensor('float16', feed.data, dims) : new ort.Tensor('float32', feed.data, dims);
  }

  /** Releases every session but `key`'s companions: the model it accompanies, or the one accompanying it (inferenceClient.ts mirrors this). */
  async function releaseOthers(key: string, companionOf: string | undefined): Promise<void> {
    for (const [k, h] of [...sessions]) {
      if (k === companionOf || h.companionOf === key) continue;
      sessions.delete(k);
      await h.session.release();
    }
  }

  /** The session for `msg.modelKey` on its backend: held, or created from the bytes sent now or earlier. */
  async function sessionFor(msg: Pick<Extract<ToWorker, { type: 'run' }>, 'modelKey' | 'modelBytes' | 'externalData' | 'backend' | 'wasmUrl' | 'threads' | 'companionOf'>): Promise<{ held: Held; fellBack?: string }> {
    let fellBack: string | undefined;
    let backend = msg.backend;
    let held = sessions.get(msg.modelKey);
    if (!held || held.backend !== backend) {
      // Bytes a 'prepare' brought whose session could not be created: the run tries again and reports why.
      const sent = msg.modelBytes ? { model: msg.modelBytes, externalData: msg.externalData } : held?.bytes ?? unprepared.get(msg.modelKey);
      if (!sent) throw new Error(t('The model bytes were not sent to the worker.'));
      await releaseOthers(msg.modelKey, msg.companionOf);
      held = undefined;
      const t0 = performance.now();
      let session: Ort.InferenceSession;
      try {
        session = await createSession(sent.model, backend, msg.wasmUrl, msg.threads, sent.externalData);
      } catch (e) {
        if (backend !== 'webgpu') throw e;
        fellBack = t`WebGPU failed (${String((e as Error).message)}); ran on WASM instead.`;
        backend = 'wasm';
        session = await createSession(sent.model, backend, msg.wasmUrl, msg.threads, sent.externalData);
      }
      held = { backend, session, sessionMs: performance.now() - t0, bytes: sent, companionOf: msg.companionOf };
      sessions.set(msg.modelKey, held);
      unprepared.delete(msg.modelKey);
    }
    return { held, fellBack };
  }

  async function run(msg: Extract<ToWorker, { type: 'run' }>): Promise<{ reply: FromWorker; transfer: ArrayBuffer[] }> {
    // A run that arrives during the warm-up or a preparation waits for it: onnxruntime initializes its WASM once.
    waitingRuns++;
    try {
      await warm;
      await preparing;
    } finally {
      waitingRuns--;
    }
    const { held, fellBack } = await sessionFor(msg);
    const session = held.session;
    // Whole-graph float16 exports take float16 pixels.
    const feeds: Record<string, Ort.Tensor> = { [msg.inputName]: feedTensor(imageFeed(session.inputMetadata, msg.inputName, msg.input), msg.dims) };
    for (const f of msg.extraFeeds ?? []) feeds[f.name] = new ort.Tensor('float32', f.data, f.dims);
    const t1 = performance.now();
    const out = await session.run(feeds, msg.outputs);
    const inferenceMs = performance.now() - t1;
    const tensors: WorkerTensor[] = msg.outputs.map((name) => ({ name, dims: [...out[name].dims], data: asFloat32(out[name]) }));
    const reply: FromWorker = { type: 'result', id: msg.id, tensors, backend: held.backend, threads: msg.threads, inferenceMs, sessionMs: held.sessionMs, warmUpMs: held.sessionMs ? held.warmUpMs : undefined, fellBack };
    held.sessionMs = 0; // reported once, for the run that created it
    return { reply, transfer: tensors.map((x) => x.data.buffer as ArrayBuffer) };
  }

  return {
    handle(msg, post) {
      if (msg.type === 'l10n') useL10nBundle(msg.bundle);
      else if (msg.type === 'warmup') warm ??= createSession(new Uint8Array(WARMUP_MODEL), msg.backend, msg.wasmUrl, msg.threads).then((s) => s.release(), () => undefined);
      else if (msg.type === 'prepare') {
        const before = preparing;
        preparing = (async () => {
          await warm;
          await before;
          unprepared.clear();
          unprepared.set(msg.modelKey, { model: msg.modelBytes, externalData: msg.externalData });
          const { held } = await sessionFor(msg);
          unprepared.delete(msg.modelKey);
          // Creating a session blocks this thread (ViT-B/16: seconds), so a run posted meanwhile is still queued and
          // not yet counted below: let the queue deliver it first (a timer comes after the next poll for messages).
          await nextTask();
          // The first run of a session allocates and initializes what later runs reuse (ViT-Ti in Node: 0.6 s, then
          // 0.16 s): done now, while the panel starts, the user's first run takes the later time. Not when a run is
          // already waiting (a large model's session outlasts the page's start): the warm-up would cost it a whole run.
          const w = msg.warmUp;
          if (w && held.sessionMs && !waitingRuns) {
            const t0 = performance.now();
            await (async () => {
              const zeros = new Float32Array(w.dims.reduce((a, b) => a * b, 1));
              await held.session.run({ [w.inputName]: feedTensor(imageFeed(held.session.inputMetadata, w.inputName, zeros), w.dims) });
              held.warmUpMs = performance.now() - t0;
            })().catch(() => undefined); // a real run reports whatever this hit
          }
        })().catch(() => undefined);
      } else if (msg.type === 'run') run(msg).then((r) => post(r.reply, r.transfer), (err: unknown) => post({ type: 'error', id: msg.id, error: toErrorInfo(err) }, []));
    },
    async releaseAll() {
      for (const h of sessions.values()) await h.session.release();
      sessions.clear();
    },
    keys: () => [...sessions.keys()],
  };
}
