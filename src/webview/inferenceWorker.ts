/**
 * Runs onnxruntime-web off the UI thread so the panel keeps painting during inference.
 * One session per model key (and its gradient companion), reused across images. The same source is bundled twice: with the WASM-only
 * build (strict CSP) and with the WebGPU build (chosen only when an adapter exists, see webviewHtml.ts).
 */
import * as ort from 'onnxruntime-web/wasm';
import { toErrorInfo } from '../shared/errors';
import { t, useL10nBundle } from '../shared/l10n';
import type { Backend, FromWorker, ToWorker, WorkerTensor } from '../shared/protocol';
import { imageFeed, outputAsFloat32 } from '../shared/ortData';

interface WorkerScope {
  onmessage: ((e: MessageEvent<ToWorker>) => void) | null;
  postMessage(message: FromWorker, transfer?: Transferable[]): void;
}
const scope = self as unknown as WorkerScope;

interface Held { backend: Backend; session: ort.InferenceSession; sessionMs: number; bytes: { model: Uint8Array; externalData?: ExternalData }; companionOf?: string }
/**
 * Sessions by model key: one model's, plus at most one companion kept beside it (its gradient session), so the
 * card can switch between plain runs and class gradients without rebuilding either.
 */
const sessions = new Map<string, Held>();

type ExternalData = { path: string; data: Uint8Array }[];

async function createSession(bytes: Uint8Array, backend: Backend, wasmUrl: string, threads: number, externalData?: ExternalData): Promise<ort.InferenceSession> {
  ort.env.wasm.wasmPaths = { wasm: wasmUrl };
  ort.env.wasm.numThreads = threads;
  ort.env.wasm.proxy = false;
  return ort.InferenceSession.create(bytes, {
    executionProviders: [backend],
    graphOptimizationLevel: 'all',
    externalData,
  });
}



/**
 * A 76-byte ONNX model (one Relu, opset 17). Creating a session from it makes onnxruntime fetch, compile and
 * instantiate its WASM binary while the host is still reading and instrumenting the user's model.
 */
const WARMUP_MODEL = new Uint8Array([8, 8, 18, 8, 118, 105, 116, 45, 108, 101, 110, 115, 58, 56, 10, 12, 10, 1, 120, 18, 1, 121, 34, 4, 82, 101, 108, 117, 18, 6, 119, 97, 114, 109, 117, 112, 90, 15, 10, 1, 120, 18, 10, 10, 8, 8, 1, 18, 4, 10, 2, 8, 1, 98, 15, 10, 1, 121, 18, 10, 10, 8, 8, 1, 18, 4, 10, 2, 8, 1, 66, 4, 10, 0, 16, 17]);
let warm: Promise<void> | undefined;

function warmUp(msg: Extract<ToWorker, { type: 'warmup' }>): Promise<void> {
  warm ??= createSession(WARMUP_MODEL.slice(), msg.backend, msg.wasmUrl, msg.threads).then((s) => s.release(), () => undefined);
  return warm;
}

/** Releases every session but `key`'s companions: the model it accompanies, or the one accompanying it (inferenceClient.ts mirrors this). */
async function releaseOthers(key: string, companionOf: string | undefined): Promise<void> {
  for (const [k, h] of [...sessions]) {
    if (k === companionOf || h.companionOf === key) continue;
    sessions.delete(k);
    await h.session.release();
  }
}

/** int64 outputs (the gradient probe's shapes) as float32: exact for every shape and index a ViT has. */
function asFloat32(x: ort.Tensor): Float32Array {
  return x.data instanceof BigInt64Array ? Float32Array.from(x.data, Number) : outputAsFloat32(x);
}

async function run(msg: Extract<ToWorker, { type: 'run' }>): Promise<void> {
  // A run that arrives during the warm-up waits for it: onnxruntime initializes its WASM once.
  await warm;
  let fellBack: string | undefined;
  let backend = msg.backend;
  let held = sessions.get(msg.modelKey);
  if (!held || held.backend !== backend) {
    const sent = msg.modelBytes ? { model: msg.modelBytes, externalData: msg.externalData } : held?.bytes;
    if (!sent) throw new Error(t('The model bytes were not sent to the worker.'));
    await releaseOthers(msg.modelKey, msg.companionOf);
    held = undefined;
    const t0 = performance.now();
    let session: ort.InferenceSession;
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
  }
  const session = held.session;
  // Whole-graph float16 exports take float16 pixels.
  const feed = imageFeed(session.inputMetadata, msg.inputName, msg.input);
  const input = feed.type === 'float16' ? new ort.Tensor('float16', feed.data, msg.dims) : new ort.Tensor('float32', feed.data, msg.dims);
  const feeds: Record<string, ort.Tensor> = { [msg.inputName]: input };
  for (const f of msg.extraFeeds ?? []) feeds[f.name] = new ort.Tensor('float32', f.data, f.dims);
  const t1 = performance.now();
  const out = await session.run(feeds, msg.outputs);
  const inferenceMs = performance.now() - t1;
  const tensors: WorkerTensor[] = msg.outputs.map((name) => {
    const o = out[name];
    return { name, dims: [...o.dims], data: asFloat32(o) };
  });
  const reply: FromWorker = { type: 'result', id: msg.id, tensors, backend: held.backend, threads: msg.threads, inferenceMs, sessionMs: held.sessionMs, fellBack };
  scope.postMessage(reply, tensors.map((x) => x.data.buffer));
  held.sessionMs = 0; // reported once, for the run that created it
}

scope.onmessage = (e) => {
  const msg = e.data;
  if (msg.type === 'l10n') {
    useL10nBundle(msg.bundle);
    return;
  }
  if (msg.type === 'warmup') {
    void warmUp(msg);
    return;
  }
  if (msg.type !== 'run') return;
  run(msg).catch((err) => scope.postMessage({ type: 'error', id: msg.id, error: toErrorInfo(err) }));
};
