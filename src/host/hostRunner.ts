/**
 * The extension host's model thread, one per window (vitLens.runModelIn = "extensionHost"): started on the first
 * run, kept across panels and images so its sessions are reused, ended when the extension deactivates.
 */
import * as vscode from 'vscode';
import * as os from 'node:os';
import type { HostRun } from '../shared/protocol';
import type { PreparedModel } from '../shared/prepareModel';
import { ModelThreadClient } from './modelThreadClient';

let thread: ModelThreadClient | undefined;

function modelThread(extensionUri: vscode.Uri): ModelThreadClient {
  // Unlike the webview (not cross-origin isolated: one thread), the host's onnxruntime can use WASM threads: up to 4.
  thread ??= new ModelThreadClient(vscode.Uri.joinPath(extensionUri, 'dist', 'modelThread.js').fsPath, vscode.Uri.joinPath(extensionUri, 'dist', 'webview').fsPath, Math.max(1, Math.min(4, os.cpus().length)));
  return thread;
}

type HostModel = Pick<PreparedModel, 'key' | 'bytes' | 'graphPatch' | 'externalData'>;

const partsOf = (model: HostModel) => () => ({ parts: model.graphPatch ? [model.bytes, model.graphPatch] : [model.bytes], externalData: model.externalData });

/** Creates the model's session in the thread now, while the panel starts, so its first run finds it ready. */
export function prepareInHost(extensionUri: vscode.Uri, model: HostModel): Promise<void> {
  return modelThread(extensionUri).prepare(model.key, partsOf(model), 'wasm');
}

/** Runs the panel's instrumented model (its bytes cross to the thread once per model) on an input from the webview. */
export async function runInHost(extensionUri: vscode.Uri, model: HostModel, r: { input: Float32Array; inputName: string; dims: number[]; outputs: string[]; timeoutMs?: number }): Promise<HostRun> {
  const res = await modelThread(extensionUri).run(model.key, partsOf(model), r.input, r.inputName, r.dims, r.outputs, 'wasm', r.timeoutMs);
  return { tensors: [...res.tensors.values()], backend: res.backend, threads: res.threads, inferenceMs: res.inferenceMs, sessionMs: res.sessionMs };
}

export function stopHostRunner(): void {
  thread?.stop();
  thread = undefined;
}
