/** Runs an instrumented ViT with onnxruntime-web in Node: the same kernels the webview's WASM backend uses. */
import * as ort from 'onnxruntime-web';
import type { AttentionLayer } from '../shared/attentionMaps';
import type { PreparedModel } from '../shared/prepareModel';

export interface ModelRun {
  logits: Float32Array;
  layers: AttentionLayer[];
  ms: number;
}

export async function createSession(model: PreparedModel, threads = 1): Promise<ort.InferenceSession> {
  ort.env.wasm.numThreads = threads;
  return ort.InferenceSession.create(model.bytes, { executionProviders: ['wasm'] });
}

export async function runModel(session: ort.InferenceSession, model: PreparedModel, input: Float32Array, outputs = [model.logitsOutput, ...model.attentionOutputs]): Promise<ModelRun> {
  const size = model.card.preprocess.size;
  const t0 = performance.now();
  const out = await session.run({ [model.structure.input.name]: new ort.Tensor('float32', input, [1, model.structure.input.channels, size, size]) }, outputs);
  const ms = performance.now() - t0;
  const layers = model.attentionOutputs.filter((n) => out[n]).map((n) => {
    const t = out[n];
    return { heads: t.dims[1], tokens: t.dims[3], queries: t.dims[2], data: t.data as Float32Array };
  });
  return { logits: out[model.logitsOutput].data as Float32Array, layers, ms };
}
