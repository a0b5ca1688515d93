/** Starts the inference worker (from a blob: URL, the only worker source the CSP allows) and talks to it. */
import type { Backend, ToWorker } from '../shared/protocol';
import { l10nBundle } from '../shared/l10n';
import { RunnerClient } from '../shared/runnerClient';

export type { ModelParts, RunResult } from '../shared/runnerClient';

export interface WebviewConfig {
  wasmWorkerUri: string;
  wasmBinaryUri: string;
  webgpuWorkerUri: string;
  webgpuBinaryUri: string;
  webgpuAllowed: boolean;
  /** Compile onnxruntime's WASM as the page starts (webviewHtml.ts). */
  warmUpAtStart: boolean;
}

export class InferenceClient extends RunnerClient {
  constructor(private readonly config: WebviewConfig) {
    super({
      start: async (backend, onMessage, onCrash) => {
        const url = backend === 'webgpu' ? config.webgpuWorkerUri : config.wasmWorkerUri;
        const code = await (await fetch(url)).blob();
        const worker = new Worker(URL.createObjectURL(code));
        worker.onmessage = (e) => onMessage(e.data);
        worker.onerror = (e) => onCrash(e.message);
        const bundle = l10nBundle();
        if (bundle) worker.postMessage({ type: 'l10n', bundle } satisfies ToWorker);
        return { post: (m, transfer) => worker.postMessage(m, transfer), terminate: () => worker.terminate() };
      },
      wasmUrl: (backend) => (backend === 'webgpu' ? config.webgpuBinaryUri : config.wasmBinaryUri),
      // Threaded WASM only when cross-origin isolated.
      threads: () => (self.crossOriginIsolated ? Math.min(4, navigator.hardwareConcurrency || 1) : 1),
    });
  }

  /** Chooses WebGPU when allowed and an adapter exists, else WASM. */
  async pickBackend(): Promise<Backend> {
    if (!this.config.webgpuAllowed) return 'wasm';
    const gpu = (navigator as Navigator & { gpu?: { requestAdapter(): Promise<unknown> } }).gpu;
    return gpu && (await gpu.requestAdapter().catch(() => null)) ? 'webgpu' : 'wasm';
  }
}
