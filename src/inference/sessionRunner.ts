/**
 * onnxruntime-web sessions for one thread: the webview's worker and the extension host's inference thread run
 * this same code (the WASM kernels are the same, so are the numbers). One session per model key, reused across
 * images; the ORT module is passed in because each side loads its own build.
 */
import type * as Ort from 'onnxruntime-web';
import { toErrorInfo } from '../shared/errors';
import { halfToFloat } from '../shared/half';
import type { Backend, FromWorker, ToWorker, WorkerTensor } from '../shared/protocol';

type ExternalData = { path: string; data: Uint8Array }[];
type OrtModule = typeof Ort;

/** float16 outputs arrive as raw halves (Uint16Array) or a Float16Array: the views work in float32. */
function toFloat32(t: Ort.Tensor): Float32Array {
  if (t.data instanceof Float32Array) return t.data;
  if (t.type === 'float16' && t.data instanceof Uint16Array) return Float32Array.from(t.data, halfToFloat);
  return Float32Array.from(t.data as ArrayLike<number>);
}

/**
 * A 76-byte ONNX model (one Relu, opset 17). Creating a session from it makes onnxruntime fetch, compile and
 * instantiate its WASM binary while the host is still reading and instrumenting the user's model.
 */
const WARMUP_MODEL = new Uint8Array([8, 8, 18, 8, 118, 105, 116, 45, 108, 101, 110, 115, 58, 56, 10, 12, 10, 1, 120, 18, 1, 121, 34, 4, 82, 101, 108, 117, 18, 6, 119, 97, 114, 109, 117, 112, 90, 15, 10, 1, 120, 18, 10, 10, 8, 8, 1, 18, 4, 10, 2, 8, 1, 98, 15, 10, 1, 121, 18, 10, 10, 8, 8, 1, 18, 4, 10, 2, 8, 1, 66, 4, 10, 0, 16, 17]);

/** Handles one thread's ToWorker messages; replies through `post`. */
export function sessionRunner(ort: OrtModule, post: (message: FromWorker, transfer?: ArrayBuffer[]) => void): (msg: ToWorker) => void {
  let current: { key: string; backend: Backend; session: Ort.InferenceSession; sessionMs: number } | undefined;
  let lastBytes: { model: Uint8Array; externalData?: ExternalData } | undefined;
  let warm: Promise<void> | undefined;

  function createSession(bytes: Uint8Array, backend: Backend, wasmUrl: string, threads: number, externalData?: ExternalData): Promise<Ort.InferenceSession> {
    // An empty URL: the caller has set env.wasm.wasmBinary (the extension host reads the binary from disk).
    if (wasmUrl) ort.env.wasm.wasmPaths = { wasm: wasmUrl };
    ort.env.wasm.numThreads = threads;
    ort.env.wasm.proxy = false;
    return ort.InferenceSession.create(bytes, { executionProviders: [backend], graphOptimizationLevel: 'all', externalData });
  }

  function warmUp(msg: { backend: Backend; wasmUrl: string; threads: number }): Promise<void> {
    warm ??= createSession(WARMUP_MODEL.slice(), msg.backend, msg.wasmUrl, msg.threads).then((s) => s.release(), () => undefined);
    return warm;
  }

  /** The session for `msg.modelKey`, created from the bytes sent now or kept from before. */
  async function sessionFor(msg: Extract<ToWorker, { type: 'run' | 'load' }>): Promise<{ fellBack?: string }> {
    // A model that arrives during the warm-up waits for it: onnxruntime initializes its WASM once.
    await warmUp(msg);
    let backend = msg.backend;
    if (current && current.key === msg.modelKey && current.backend === backend) return {};
    let fellBack: string | undefined;
    const sent = msg.modelBytes ? { model: msg.modelBytes, externalData: msg.externalData } : current?.key === msg.modelKey ? lastBytes : undefined;
    if (!sent) throw new Error('The model bytes were not sent to the inference thread.');
    await current?.session.release();
    current = undefined;
    const t0 = performance.now();
    let session: Ort.InferenceSession;
    try {
      session = await createSession(sent.model, backend, msg.wasmUrl, msg.threads, sent.externalData);
    } catch (e) {
      if (backend !== 'webgpu') throw e;
      fellBack = `WebGPU failed (${(e as Error).message}); ran on WASM instead.`;
      backend = 'wasm';
      session = await createSession(sent.model, backend, msg.wasmUrl, msg.threads, sent.externalData);
    }
    lastBytes = sent;
    current = { key: msg.modelKey, backend, session, sessionMs: performance.now() - t0 };
    return { fellBack };
  }

  async function run(msg: Extract<ToWorker, { type: 'run' }>): Promise<void> {
    const { fellBack } = await sessionFor(msg);
    const c = current!;
    const input = new ort.Tensor('float32', msg.input, msg.dims);
    const t1 = performance.now();
    const out = await c.session.run({ [msg.inputName]: input }, msg.outputs);
    const inferenceMs = performance.now() - t1;
    const tensors: WorkerTensor[] = msg.outputs.map((name) => {
      const t = out[name];
      return { name, dims: [...t.dims], data: toFloat32(t) };
    });
    post({ type: 'result', id: msg.id, tensors, backend: c.backend, threads: msg.threads, inferenceMs, sessionMs: c.sessionMs, fellBack }, tensors.map((t) => t.data.buffer as ArrayBuffer));
    c.sessionMs = 0; // reported once, for the run that created it
  }

  return (msg) => {
    if (msg.type === 'warmup') {
      void warmUp(msg);
      return;
    }
    const work = msg.type === 'run' ? run(msg) : sessionFor(msg).then(() => post({ type: 'loaded', id: msg.id }));
    work.catch((err) => post({ type: 'error', id: msg.id, error: toErrorInfo(err) }));
  };
}
