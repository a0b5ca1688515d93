/**
 * The extension host's model thread, one per window (vitLens.runModelIn = "extensionHost"): started on the first
 * run, kept across panels and images so its sessions are reused, ended when the extension deactivates.
 */
import * as vscode from 'vscode';
import * as os from 'node:os';
import type { HostRun } from '../shared/protocol';
import type { PreparedModel } from '../shared/prepareModel';
import { inputSize } from '../shared/modelCard';
import { ModelThreadClient } from './modelThreadClient';
import { modelParts } from '../shared/runnerClient';

let thread: ModelThreadClient | undefined;

function modelThread(extensionUri: vscode.Uri): ModelThreadClient {
  // Unlike the webview (not cross-origin isolated: one thread), the host's onnxruntime can use WASM threads: up to 4.
  if (!thread) {
    thread = new ModelThreadClient(vscode.Uri.joinPath(extensionUri, 'dist', 'modelThread.js').fsPath, vscode.Uri.joinPath(extensionUri, 'dist', 'webview').fsPath, Math.max(1, Math.min(4, os.cpus().length)));
    // onnxruntime compiles its WASM now, while the host reads and instruments the model.
    void thread.warmUp('wasm').catch(() => undefined);
  }
  return thread;
}

type HostModel = Pick<PreparedModel, 'key' | 'bytes' | 'graphPatch' | 'externalData'>;

const partsOf = (model: HostModel) => () => modelParts(model);

/**
 * Creates the model's session in the thread now, while the panel starts, and runs it once on zeros of its card's
 * input size, so the first run finds it ready and warm.
 */
export function prepareInHost(extensionUri: vscode.Uri, model: HostModel & Pick<PreparedModel, 'card' | 'structure'>): Promise<void> {
  const size = inputSize(model.card.preprocess);
  const warmUp = { inputName: model.structure.input.name, dims: [1, model.structure.input.channels, size.height, size.width] };
  return modelThread(extensionUri).prepare(model.key, partsOf(model), 'wasm', warmUp);
}

/** Runs the panel's instrumented model (its bytes cross to the thread once per model) on an input from the webview. */
export async function runInHost(extensionUri: vscode.Uri, model: HostModel, r: { input: Float32Array; inputName: string; dims: number[]; outputs: string[]; timeoutMs?: number }): Promise<HostRun> {
  const res = await modelThread(extensionUri).run(model.key, partsOf(model), r.input, r.inputName, r.dims, r.outputs, 'wasm', r.timeoutMs);
  return { tensors: [...res.tensors.values()], backend: res.backend, threads: res.threads, inferenceMs: res.inferenceMs, sessionMs: res.sessionMs, warmUpMs: res.warmUpMs };
}

/** Starts the model thread (and its WASM compile) before the model is read. */
export function startHostRunner(extensionUri: vscode.Uri): void {
  modelThread(extensionUri);
}

export function stopHostRunner(): void {
  thread?.stop();
  thread = undefined;
}
