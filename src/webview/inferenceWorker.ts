/**
 * The webview's inference worker: onnxruntime-web off the UI thread so the panel keeps painting. Bundled twice:
 * with the WASM-only build (strict CSP) and with the WebGPU build (chosen only when an adapter exists).
 */
import * as ort from 'onnxruntime-web/wasm';
import { sessionRunner } from '../inference/sessionRunner';
import type { FromWorker, ToWorker } from '../shared/protocol';

interface WorkerScope {
  onmessage: ((e: MessageEvent<ToWorker>) => void) | null;
  postMessage(message: FromWorker, transfer?: Transferable[]): void;
}
const scope = self as unknown as WorkerScope;
const handle = sessionRunner(ort, (m, transfer) => scope.postMessage(m, transfer ?? []));
scope.onmessage = (e) => handle(e.data);
