/**
 * The extension host's inference thread (Node worker_threads): onnxruntime-web's WASM build, the same kernels as
 * the webview's worker, with as many threads as the machine allows. Running here spares the model its trip to
 * the webview (slow in remote windows: 20 MB/s through code-server) and lets the session be created while the
 * webview is still starting.
 */
import { readFileSync } from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';
import { pathToFileURL } from 'node:url';
import type * as Ort from 'onnxruntime-web';
import { sessionRunner } from '../inference/sessionRunner';
import type { ToWorker } from '../shared/protocol';

/** Where onnxruntime-web's Node entry and its WASM binary are (dist/host and dist/webview once packaged). */
export interface InferenceThreadData { ortEntry: string; wasmBinary: string }

async function main(): Promise<void> {
  const data = workerData as InferenceThreadData;
  // A runtime import of ORT's own file: its pthreads start workers from that file, so it cannot be bundled.
  const ort = (await import(/* webpackIgnore: true */ pathToFileURL(data.ortEntry).href)) as typeof Ort;
  ort.env.wasm.wasmBinary = readFileSync(data.wasmBinary);
  const port = parentPort!;
  const handle = sessionRunner(ort, (m, transfer) => port.postMessage(m, transfer ?? []));
  port.on('message', (m: ToWorker) => handle(m));
}

void main();
