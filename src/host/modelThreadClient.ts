/**
 * Runs models in a worker thread of the extension host (setting vitLens.runModelIn = "extensionHost"): the model's
 * bytes stay in the host, only the input (from the panel) and the outputs cross to the webview. One thread for the
 * whole window, so sessions are kept across panels and images. No vscode import: the Node tests drive it directly.
 */
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import * as path from 'node:path';
import { l10nBundle, t } from '../shared/l10n';
import type { FromWorker, ToWorker } from '../shared/protocol';
import { RunnerClient } from '../shared/runnerClient';

export class ModelThreadClient extends RunnerClient {
  /**
   * `threadScript`: dist/modelThread.js; `ortFolder`: the folder with ort-wasm-simd-threaded.mjs and .wasm
   * (dist/webview in the package).
   */
  constructor(threadScript: string, ortFolder: string, threads = 1) {
    const folder = pathToFileURL(path.resolve(ortFolder)).href.replace(/\/?$/, '/');
    super({
      start: async (_backend, onMessage, onCrash) => {
        const worker = new Worker(threadScript);
        worker.on('message', (m: FromWorker) => onMessage(m));
        worker.on('error', (e) => onCrash(e.message));
        worker.on('exit', (code) => code !== 0 && onCrash(t('the model thread exited with code {0}', code)));
        const bundle = l10nBundle();
        if (bundle) worker.postMessage({ type: 'l10n', bundle } satisfies ToWorker);
        // An idle thread must not keep the extension host (or a test process) alive.
        worker.unref();
        return { post: (m, transfer) => worker.postMessage(m, transfer), terminate: () => void worker.terminate() };
      },
      wasmUrl: () => folder,
      threads: () => threads,
    });
  }
}
