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

/**
 * onnxruntime's WASM, fetched by the page and handed to its workers as a blob: URL. VS Code's webview service worker
 * sends a worker's requests to the webview whose frame registered with it last (microsoft/vscode#244143): once another
 * webview had opened (an image preview), a worker this panel started later was refused its WASM (401, that webview's
 * resource roots). The page's own requests carry its webview's id.
 */
const wasmBlobs = new Map<string, Promise<string>>();
function wasmFromPage(url: string): Promise<string> {
  let blobUrl = wasmBlobs.get(url);
  if (!blobUrl) {
    blobUrl = fetch(url).then(async (r) => {
      if (!r.ok) throw new Error(`${r.status} ${r.statusText}: ${url}`);
      return URL.createObjectURL(new Blob([await r.arrayBuffer()], { type: 'application/wasm' }));
    });
    blobUrl.catch(() => wasmBlobs.delete(url)); // a later worker tries again
    wasmBlobs.set(url, blobUrl);
  }
  return blobUrl;
}

export class InferenceClient extends RunnerClient {
  constructor(private readonly config: WebviewConfig) {
    const binaryUri = (backend: Backend) => (backend === 'webgpu' ? config.webgpuBinaryUri : config.wasmBinaryUri);
    /** Each backend's WASM as a blob: URL, once a worker for it has started. */
    const wasmUrls = new Map<Backend, string>();
    super({
      start: async (backend, onMessage, onCrash) => {
        const url = backend === 'webgpu' ? config.webgpuWorkerUri : config.wasmWorkerUri;
        const [code, wasm] = await Promise.all([fetch(url).then((r) => r.blob()), wasmFromPage(binaryUri(backend))]);
        wasmUrls.set(backend, wasm);
        const worker = new Worker(URL.createObjectURL(code));
        worker.onmessage = (e) => onMessage(e.data);
        worker.onerror = (e) => onCrash(e.message);
        const bundle = l10nBundle();
        if (bundle) worker.postMessage({ type: 'l10n', bundle } satisfies ToWorker);
        return { post: (m, transfer) => worker.postMessage(m, transfer), terminate: () => worker.terminate() };
      },
      wasmUrl: (backend) => wasmUrls.get(backend) ?? binaryUri(backend),
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
