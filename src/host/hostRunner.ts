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

/** Runs the panel's instrumented model (its bytes cross to the thread once per model) on an input from the webview. */
export async function runInHost(extensionUri: vscode.Uri, model: Pick<PreparedModel, 'key' | 'bytes' | 'graphPatch' | 'externalData'>, r: { input: Float32Array; inputName: string; dims: number[]; outputs: string[]; timeoutMs?: number }): Promise<HostRun> {
  const res = await modelThread(extensionUri).run(model.key, () => ({ parts: model.graphPatch ? [model.bytes, model.graphPatch] : [model.bytes], externalData: model.externalData }), r.input, r.inputName, r.dims, r.outputs, 'wasm', r.timeoutMs);
  return { tensors: [...res.tensors.values()], backend: res.backend, threads: res.threads, inferenceMs: res.inferenceMs, sessionMs: res.sessionMs };
}

export function stopHostRunner(): void {
  thread?.stop();
  thread = undefined;
}
