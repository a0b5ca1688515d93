/**
 * The extension host's model thread (a Node worker thread, dist/modelThread.js): onnxruntime-web's WASM build with
 * the session runner the webview's worker uses. No native binaries, so it runs in every kind of remote window.
 */
import { parentPort } from 'node:worker_threads';
import * as ort from 'onnxruntime-web';
import type { ToWorker } from '../shared/protocol';
import { createSessionRunner } from '../shared/sessionRunner';

// `wasmUrl` is the folder (a file: URL ending in /) holding ort-wasm-simd-threaded.{mjs,wasm}.
const runner = createSessionRunner(ort, (folder) => folder);
const port = parentPort!;
port.on('message', (msg: ToWorker) => runner.handle(msg, (reply, transfer) => port.postMessage(reply, transfer)));
