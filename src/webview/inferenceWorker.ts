/**
 * Runs onnxruntime-web off the UI thread so the panel keeps painting during inference, with the session runner the
 * extension host's model thread also uses (src/shared/sessionRunner.ts). The same source is bundled twice: with the
 * WASM-only build (strict CSP) and with the WebGPU build (chosen only when an adapter exists, see webviewHtml.ts).
 */
import * as ort from 'onnxruntime-web/wasm';
import type { FromWorker, ToWorker } from '../shared/protocol';
import { createSessionRunner } from '../shared/sessionRunner';

interface WorkerScope {
  onmessage: ((e: MessageEvent<ToWorker>) => void) | null;
  postMessage(message: FromWorker, transfer?: Transferable[]): void;
}
const scope = self as unknown as WorkerScope;
const runner = createSessionRunner(ort, (wasmUrl) => ({ wasm: wasmUrl }));

scope.onmessage = (e) => runner.handle(e.data, (reply, transfer) => scope.postMessage(reply, transfer));
