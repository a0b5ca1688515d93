/** Starts the inference worker (from a blob: URL, the only worker source the CSP allows) and talks to it. */
import type { Backend, FromWorker, ToWorker, WorkerFeed, WorkerTensor } from '../shared/protocol';
import type { ErrorInfo } from '../shared/errors';
import { l10nBundle, t } from '../shared/l10n';
import { piecesWithYields } from './inSteps';

export interface WebviewConfig {
  wasmWorkerUri: string;
  wasmBinaryUri: string;
  webgpuWorkerUri: string;
  webgpuBinaryUri: string;
  webgpuAllowed: boolean;
}

export interface RunResult {
  tensors: Map<string, WorkerTensor>;
  backend: Backend;
  threads: number;
  inferenceMs: number;
  sessionMs: number;
  fellBack?: string;
}

/** The model as the worker needs it: the file's bytes, then ViT Lens's output patch (joined into one buffer). */
export interface ModelParts { parts: Uint8Array[]; externalData?: { path: string; data: Uint8Array }[] }

/** One new buffer holding `parts`, copied in steps (a frame gap measured by bench/chromium.ts otherwise). */
async function joinWithoutStalling(parts: Uint8Array[]): Promise<Uint8Array> {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
  let o = 0;
  for await (const piece of piecesWithYields(parts)) {
    out.set(piece, o);
    o += piece.byteLength;
  }
  return out;
}

export class InferenceClient {
  private worker?: Worker;
  private workerBackend?: Backend;
  private next = 1;
  private pending = new Map<number, { resolve: (r: RunResult) => void; reject: (e: ErrorInfo) => void }>();
  /** Model keys the current worker holds the bytes of, each with the key it is kept beside (inferenceWorker's rule). */
  private sentModels = new Map<string, string | undefined>();

  constructor(private readonly config: WebviewConfig) {}

  private async ensureWorker(backend: Backend): Promise<Worker> {
    if (this.worker && this.workerBackend === backend) return this.worker;
    this.worker?.terminate();
    this.sentModels.clear();
    const url = backend === 'webgpu' ? this.config.webgpuWorkerUri : this.config.wasmWorkerUri;
    const code = await (await fetch(url)).blob();
    const worker = new Worker(URL.createObjectURL(code));
    worker.onmessage = (e: MessageEvent<FromWorker>) => this.onMessage(e.data);
    const bundle = l10nBundle();
    if (bundle) worker.postMessage({ type: 'l10n', bundle } satisfies ToWorker);
    worker.onerror = (e) => {
      const error: ErrorInfo = { kind: 'inference', message: t`The inference worker crashed: ${e.message || t('unknown error')}` };
      for (const p of this.pending.values()) p.reject(error);
      this.pending.clear();
      this.worker = undefined;
    };
    this.worker = worker;
    this.workerBackend = backend;
    return worker;
  }

  private onMessage(msg: FromWorker): void {
    const p = this.pending.get(msg.id);
    if (!p) return;
    if (msg.type === 'progress') return;
    this.pending.delete(msg.id);
    if (msg.type === 'error') {
      p.reject(msg.error);
      return;
    }
    p.resolve({
      tensors: new Map(msg.tensors.map((x) => [x.name, x])),
      backend: msg.backend,
      threads: msg.threads,
      inferenceMs: msg.inferenceMs,
      sessionMs: msg.sessionMs,
      fellBack: msg.fellBack,
    });
  }

  /** Chooses WebGPU when allowed and an adapter exists, else WASM (threaded only when cross-origin isolated). */
  async pickBackend(): Promise<Backend> {
    if (!this.config.webgpuAllowed) return 'wasm';
    const gpu = (navigator as Navigator & { gpu?: { requestAdapter(): Promise<unknown> } }).gpu;
    return gpu && (await gpu.requestAdapter().catch(() => null)) ? 'webgpu' : 'wasm';
  }

  /** Starts the worker and onnxruntime's WASM (fetch, compile, instantiate) before the first model arrives. */
  async warmUp(backend: Backend): Promise<void> {
    const worker = await this.ensureWorker(backend);
    const msg: ToWorker = { type: 'warmup', backend, wasmUrl: backend === 'webgpu' ? this.config.webgpuBinaryUri : this.config.wasmBinaryUri, threads: this.threads() };
    worker.postMessage(msg);
  }

  private threads(): number {
    return self.crossOriginIsolated ? Math.min(4, navigator.hardwareConcurrency || 1) : 1;
  }

  /**
   * `extra.feeds`: inputs besides the image (the gradient model's class seed); `extra.companionOf`: the worker keeps
   * this model's session beside that model's instead of replacing it.
   */
  async run(modelKey: string, modelBytes: () => ModelParts, input: Float32Array, inputName: string, dims: number[], outputs: string[], backend: Backend, timeoutMs = 120_000, extra: { feeds?: WorkerFeed[]; companionOf?: string } = {}): Promise<RunResult> {
    const worker = await this.ensureWorker(backend);
    const id = this.next++;
    const threads = this.threads();
    const needsBytes = !this.sentModels.has(modelKey);
    // `modelBytes` builds a fresh buffer (the instrumented model), which is transferred, not copied, to the
    // worker; the page keeps its own bytes to resend after a worker restart or another model.
    const sent = needsBytes ? modelBytes() : undefined;
    const bytes = sent ? await joinWithoutStalling(sent.parts) : undefined;
    const msg: ToWorker = {
      type: 'run', id, modelKey, modelBytes: bytes, externalData: sent?.externalData, input, inputName, dims, outputs, backend,
      wasmUrl: backend === 'webgpu' ? this.config.webgpuBinaryUri : this.config.wasmBinaryUri, threads, extraFeeds: extra.feeds, companionOf: extra.companionOf,
    };
    const done = new Promise<RunResult>((resolve, reject) => this.pending.set(id, { resolve, reject }));
    worker.postMessage(msg, bytes ? [bytes.buffer, input.buffer] : [input.buffer]);
    // What the worker will hold once it has this message: as it does, every other model is dropped but the companions.
    for (const [k, of] of [...this.sentModels]) if (k !== modelKey && k !== extra.companionOf && of !== modelKey) this.sentModels.delete(k);
    this.sentModels.set(modelKey, extra.companionOf);
    // A model that never finishes must not leave the panel spinning: stop the worker and say so.
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        this.worker?.terminate();
        this.worker = undefined;
        this.pending.delete(id);
        reject({ kind: 'inference', message: t`The model did not finish within ${Math.round(timeoutMs / 1000)} s, so ViT Lens stopped it.`, hint: t('Raise vitLens.inferenceTimeoutSeconds for very large models, or pick a smaller model.') } satisfies ErrorInfo);
      }, timeoutMs);
    });
    try {
      return await Promise.race([done, timeout]);
    } catch (e) {
      // The worker may have released sessions before failing: send bytes again next time.
      this.sentModels.clear();
      throw e;
    } finally {
      clearTimeout(timer);
    }
  }
}
