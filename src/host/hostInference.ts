/**
 * Runs models in the extension host's inference thread (inferenceThread.ts): one thread, one session per model
 * key, kept across images and panels. The panel asks it to create the session as soon as the model is read, so
 * the session is ready about when the webview has started.
 */
import * as os from 'node:os';
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import type { ErrorInfo } from '../shared/errors';
import { instrumentedBytes } from '../shared/instrumentAttention';
import type { PreparedModel } from '../shared/prepareModel';
import { type FromWorker, type RunReply, runOutputs, type ToWorker } from '../shared/protocol';
import type { InferenceThreadData } from './inferenceThread';

let shared: HostInference | undefined;

/** The extension's one inference thread, started on first use and stopped with the extension. */
export function hostInference(context: { extensionUri: { fsPath: string }; subscriptions: { dispose(): unknown }[] }): HostInference {
  if (!shared) {
    const dist = path.join(context.extensionUri.fsPath, 'dist');
    const h = new HostInference({ script: path.join(dist, 'inferenceThread.js'), ortEntry: path.join(dist, 'host', 'ort.node.mjs'), wasmBinary: path.join(dist, 'webview', 'ort-wasm-simd-threaded.wasm') });
    shared = h;
    context.subscriptions.push({ dispose: () => { h.dispose(); if (shared === h) shared = undefined; } });
  }
  return shared;
}

export interface HostInferenceOptions extends InferenceThreadData {
  /** The thread's script (dist/inferenceThread.js); with `eval`, code that loads it (tests load the .ts through tsx). */
  script: string;
  eval?: boolean;
}

export class HostInference {
  private worker?: Worker;
  private next = 1;
  private readonly pending = new Map<number, { resolve: (m: FromWorker) => void; reject: (e: ErrorInfo) => void }>();
  /** The model key whose bytes the thread holds, and the session's creation (shared by every run that waits on it). */
  private loaded?: { key: string; done: Promise<void> };
  readonly threads = Math.max(1, Math.min(4, os.availableParallelism?.() ?? os.cpus().length));

  constructor(private readonly options: HostInferenceOptions) {}

  private thread(): Worker {
    if (this.worker) return this.worker;
    const data: InferenceThreadData = { ortEntry: this.options.ortEntry, wasmBinary: this.options.wasmBinary };
    const w = new Worker(this.options.script, { workerData: data, eval: this.options.eval });
    w.on('message', (m: FromWorker) => {
      const p = this.pending.get(m.id);
      if (!p || m.type === 'progress') return;
      this.pending.delete(m.id);
      if (m.type === 'error') p.reject(m.error);
      else p.resolve(m);
    });
    w.on('error', (e) => { if (this.worker === w) this.stop({ kind: 'inference', message: `The inference thread crashed: ${e.message}` }); });
    w.on('exit', (code) => { if (this.worker === w) this.stop({ kind: 'inference', message: `The inference thread stopped (exit code ${code}).` }); });
    // Compile onnxruntime's WASM now, while the model is read.
    w.postMessage({ type: 'warmup', backend: 'wasm', wasmUrl: '', threads: this.threads } satisfies ToWorker);
    this.worker = w;
    return w;
  }

  /** Starts the thread (and onnxruntime's WASM compile) ahead of the first model. */
  warmUp(): void {
    this.thread();
  }

  private send(msg: Exclude<ToWorker, { type: 'warmup' }>, transfer: ArrayBuffer[] = []): Promise<FromWorker> {
    const w = this.thread();
    return new Promise((resolve, reject) => {
      this.pending.set(msg.id, { resolve, reject });
      w.postMessage(msg, transfer);
    });
  }

  /** Creates `model`'s session (once per model key); later calls wait on the same creation. */
  load(model: PreparedModel): Promise<void> {
    if (this.loaded?.key === model.key && this.worker) return this.loaded.done;
    const bytes = instrumentedBytes(model);
    const done = this.send({ type: 'load', id: this.next++, modelKey: model.key, modelBytes: bytes, externalData: model.externalData, backend: 'wasm', wasmUrl: '', threads: this.threads }, [bytes.buffer as ArrayBuffer]).then(() => undefined);
    const loaded = { key: model.key, done };
    this.loaded = loaded;
    done.catch(() => { if (this.loaded === loaded) this.loaded = undefined; });
    return done;
  }

  /** Runs `model` on `input` ([1, C, size, size]); stops the thread when it takes longer than `timeoutMs`. */
  async run(model: PreparedModel, input: Float32Array, timeoutMs: number): Promise<RunReply> {
    const size = model.card.preprocess.size;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        const error: ErrorInfo = { kind: 'inference', message: `The model did not finish within ${Math.round(timeoutMs / 1000)} s, so ViT Lens stopped it.`, hint: 'Raise vitLens.inferenceTimeoutSeconds for very large models, or pick a smaller model.' };
        reject(error);
        this.stop(error);
      }, timeoutMs);
    });
    try {
      return await Promise.race([timeout, (async () => {
        await this.load(model);
        const r = await this.send({ type: 'run', id: this.next++, modelKey: model.key, input, inputName: model.structure.input.name, dims: [1, model.structure.input.channels, size, size], outputs: runOutputs(model), backend: 'wasm', wasmUrl: '', threads: this.threads }, [input.buffer as ArrayBuffer]);
        if (r.type !== 'result') throw new Error(`unexpected reply ${r.type}`);
        return { tensors: r.tensors, backend: r.backend, threads: r.threads, inferenceMs: r.inferenceMs, sessionMs: r.sessionMs, where: 'extensionHost' as const };
      })()]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Stops the thread (the next request starts a new one) and fails what was waiting on it. */
  private stop(error: ErrorInfo): void {
    const w = this.worker;
    this.worker = undefined;
    this.loaded = undefined;
    for (const p of this.pending.values()) p.reject(error);
    this.pending.clear();
    void w?.terminate();
  }

  dispose(): void {
    this.stop({ kind: 'inference', message: 'ViT Lens was stopped.' });
  }
}
