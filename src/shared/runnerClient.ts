/**
 * The caller's side of a session runner (sessionRunner.ts), whatever carries the messages: a Web Worker in the
 * webview, a worker thread in the extension host. It numbers requests, sends a model's bytes only when the runner
 * does not hold them, stops a run that exceeds its time limit (ending the worker) and turns a crash into an error.
 */
import type { ErrorInfo } from './errors';
import { joinInSteps } from './inSteps';
import { t } from './l10n';
import type { Backend, FromWorker, ToWorker, WorkerFeed, WorkerTensor } from './protocol';

export interface RunResult {
  tensors: Map<string, WorkerTensor>;
  backend: Backend;
  threads: number;
  inferenceMs: number;
  sessionMs: number;
  /** The preparation's warm-up run, reported once with sessionMs. */
  warmUpMs?: number;
  fellBack?: string;
}

/**
 * The model as the runner needs it: the file's bytes, then ViT Lens's output patch, joined into one buffer in steps
 * (inSteps.ts) so the panel keeps painting and the extension host keeps serving.
 */
export interface ModelParts { parts: Uint8Array[]; externalData?: { path: string; data: Uint8Array }[] }

/** A model's parts as both places hold them: the file's bytes, ViT Lens's output patch if any, external weights. */
export function modelParts(m: { bytes: Uint8Array; graphPatch?: Uint8Array; externalData?: { path: string; data: Uint8Array }[] }): ModelParts {
  return { parts: m.graphPatch ? [m.bytes, m.graphPatch] : [m.bytes], externalData: m.externalData };
}

/** How many bytes the model's parts and external weights are. */
export const partsSize = (m: ModelParts): number => [...m.parts, ...(m.externalData ?? []).map((f) => f.data)].reduce((n, p) => n + p.byteLength, 0);

/** A started worker: where messages go, and how to stop it. */
export interface RunnerWorker {
  post(msg: ToWorker, transfer: ArrayBuffer[]): void;
  terminate(): void;
}

export interface RunnerPlace {
  /** Starts a worker for `backend`; it calls `onMessage` with each reply and `onCrash` if it dies. */
  start(backend: Backend, onMessage: (m: FromWorker) => void, onCrash: (why: string) => void): Promise<RunnerWorker>;
  /** Where onnxruntime's WASM is, for this backend. */
  wasmUrl(backend: Backend): string;
  threads(): number;
}

export class RunnerClient {
  private worker?: RunnerWorker;
  private workerBackend?: Backend;
  private starting?: Promise<RunnerWorker>;
  private generation = 0;
  private next = 1;
  private pending = new Map<number, { resolve: (r: RunResult) => void; reject: (e: ErrorInfo) => void }>();
  /** Model keys the current worker holds the bytes of, each with the key it is kept beside (sessionRunner's rule). */
  private sentModels = new Map<string, string | undefined>();

  constructor(private readonly place: RunnerPlace) {}

  private async ensureWorker(backend: Backend): Promise<RunnerWorker> {
    if (this.worker && this.workerBackend === backend) return this.worker;
    if (this.starting && this.workerBackend === backend) return this.starting;
    this.stop();
    this.workerBackend = backend;
    const generation = ++this.generation;
    const starting = this.place.start(backend, (m) => this.onMessage(m), (why) => {
      // A worker ended by stop() (a timeout, another backend) may report its exit after its successor started.
      if (generation !== this.generation) return;
      const error: ErrorInfo = { kind: 'inference', message: t`The inference worker crashed: ${why || t('unknown error')}` };
      for (const p of this.pending.values()) p.reject(error);
      this.pending.clear();
      this.worker = undefined;
      this.sentModels.clear();
    });
    this.starting = starting;
    try {
      this.worker = await starting;
    } finally {
      if (this.starting === starting) this.starting = undefined;
    }
    return this.worker;
  }

  /** Ends the worker (its sessions with it). */
  stop(): void {
    this.generation++;
    this.worker?.terminate();
    this.worker = undefined;
    this.sentModels.clear();
  }

  private onMessage(msg: FromWorker): void {
    const p = this.pending.get(msg.id);
    if (!p || msg.type === 'progress') return;
    this.pending.delete(msg.id);
    if (msg.type === 'error') {
      p.reject(msg.error);
      return;
    }
    p.resolve({ tensors: new Map(msg.tensors.map((x) => [x.name, x])), backend: msg.backend, threads: msg.threads, inferenceMs: msg.inferenceMs, sessionMs: msg.sessionMs, warmUpMs: msg.warmUpMs, fellBack: msg.fellBack });
  }

  /** Starts the worker and onnxruntime's WASM (fetch, compile, instantiate) before the first model arrives. */
  async warmUp(backend: Backend): Promise<void> {
    const worker = await this.ensureWorker(backend);
    worker.post({ type: 'warmup', backend, wasmUrl: this.place.wasmUrl(backend), threads: this.place.threads() }, []);
  }

  /**
   * Sends `modelKey`'s bytes and has the runner create its session now, so the first run finds it ready (the host
   * does this while the panel starts). Nothing when the runner holds them; a failure is reported by the run.
   */
  async prepare(modelKey: string, modelBytes: () => ModelParts, backend: Backend, warmUp?: { inputName: string; dims: number[] }): Promise<void> {
    await this.inOrder(async () => {
      const worker = await this.ensureWorker(backend);
      const sent = await this.unlessHeld(modelKey, modelBytes);
      if (!sent) return;
      worker.post({ type: 'prepare', modelKey, modelBytes: sent.bytes, externalData: sent.externalData, backend, wasmUrl: this.place.wasmUrl(backend), threads: this.place.threads(), warmUp }, [sent.bytes.buffer as ArrayBuffer]);
      this.holdOnly(modelKey);
    });
  }

  /**
   * The model joined into one fresh buffer (transferred, not copied, to the worker; the caller keeps its own bytes to
   * resend after a worker restart or another model), or nothing when the worker holds it.
   */
  private async unlessHeld(modelKey: string, modelBytes: () => ModelParts): Promise<{ bytes: Uint8Array; externalData: ModelParts['externalData'] } | undefined> {
    if (this.sentModels.has(modelKey)) return undefined;
    const sent = modelBytes();
    return { bytes: await joinInSteps(sent.parts), externalData: sent.externalData };
  }

  /** The tail of the messages being composed for the worker. */
  private posting: Promise<unknown> = Promise.resolve();

  /**
   * Composes and posts messages in call order. A model is copied in steps before it is posted: a run that came
   * meanwhile would otherwise find it not yet held and send (and the runner create) it a second time.
   */
  private inOrder<T>(compose: () => Promise<T>): Promise<T> {
    const next = this.posting.then(compose, compose);
    this.posting = next.catch(() => undefined);
    return next;
  }

  /** What the runner will hold once it has a message for `modelKey`: every other model is dropped but the companions. */
  private holdOnly(modelKey: string, companionOf?: string): void {
    for (const [k, of] of [...this.sentModels]) if (k !== modelKey && k !== companionOf && of !== modelKey) this.sentModels.delete(k);
    this.sentModels.set(modelKey, companionOf);
  }

  /** Whether the worker holds `modelKey`'s bytes (a run needs none sent). */
  holds(modelKey: string): boolean {
    return this.sentModels.has(modelKey);
  }

  /**
   * `extra.feeds`: inputs besides the image (the gradient model's class seed); `extra.companionOf`: the worker keeps
   * this model's session beside that model's instead of replacing it.
   */
  async run(modelKey: string, modelBytes: () => ModelParts, input: Float32Array, inputName: string, dims: number[], outputs: string[], backend: Backend, timeoutMs = 120_000, extra: { feeds?: WorkerFeed[]; companionOf?: string } = {}): Promise<RunResult> {
    const { id, done } = await this.inOrder(async () => {
      const worker = await this.ensureWorker(backend);
      const id = this.next++;
      const threads = this.place.threads();
      const sent = await this.unlessHeld(modelKey, modelBytes);
      const bytes = sent?.bytes;
      const msg: ToWorker = {
        type: 'run', id, modelKey, modelBytes: bytes, externalData: sent?.externalData, input, inputName, dims, outputs, backend,
        wasmUrl: this.place.wasmUrl(backend), threads, extraFeeds: extra.feeds, companionOf: extra.companionOf,
      };
      const done = new Promise<RunResult>((resolve, reject) => this.pending.set(id, { resolve, reject }));
      worker.post(msg, bytes ? [bytes.buffer as ArrayBuffer, input.buffer as ArrayBuffer] : [input.buffer as ArrayBuffer]);
      this.holdOnly(modelKey, extra.companionOf);
      return { id, done };
    });
    // A model that never finishes must not leave the panel spinning: stop the worker and say so.
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        this.stop();
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
