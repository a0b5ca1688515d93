/** Runs an instrumented ViT with onnxruntime-web in Node: the same kernels the webview's WASM backend uses. */
import { existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import * as ort from 'onnxruntime-web';
import { ModelFormatError } from '../shared/errors';
import { t } from '../shared/l10n';
import { inputSize } from '../shared/modelCard';
import { instrumentedBytes } from '../shared/instrumentAttention';
import type { PreparedModel } from '../shared/prepareModel';
import { imageFeed, outputAsFloat32 } from '../shared/ortData';
import { runOutputs } from '../shared/protocol';
import { type RunData, runDataOf } from '../shared/viewData';

export interface ModelRun extends RunData {
  logits: Float32Array;
  ms: number;
}

export async function createSession(model: PreparedModel, threads = 1): Promise<ort.InferenceSession> {
  ort.env.wasm.numThreads = threads;
  return ort.InferenceSession.create(instrumentedBytes(model), { executionProviders: ['wasm'], externalData: model.externalData });
}

export async function runModel(session: ort.InferenceSession, model: PreparedModel, input: Float32Array, outputs = runOutputs(model)): Promise<ModelRun> {
  const { height, width } = inputSize(model.card.preprocess);
  const t0 = performance.now();
  const dims = [1, model.structure.input.channels, height, width];
  const feed = imageFeed(session.inputMetadata, model.structure.input.name, input);
  const tensor = feed.type === 'float16' ? new ort.Tensor('float16', feed.data, dims) : new ort.Tensor('float32', feed.data, dims);
  const out = await session.run({ [model.structure.input.name]: tensor }, outputs);
  const ms = performance.now() - t0;
  const get = (n: string) => (out[n] ? { dims: out[n].dims, data: outputAsFloat32(out[n]) } : undefined);
  return { ...runDataOf(model, get), logits: outputAsFloat32(out[model.logitsOutput]), ms };
}

/**
 * Logits only, for `batchSize` images laid out back to back: what occlusion and the deletion/insertion curves run
 * (occlusion.ts RunBatch). Call with batchSize 1 unless the model's batch axis is dynamic.
 */
export function logitsBatchRunner(session: ort.InferenceSession, model: PreparedModel): (batch: Float32Array, batchSize: number) => Promise<Float32Array[]> {
  const { height, width } = inputSize(model.card.preprocess);
  const { channels: c, name } = model.structure.input;
  return async (batch, b) => {
    const feed = imageFeed(session.inputMetadata, name, batch);
    const dims = [b, c, height, width];
    const tensor = feed.type === 'float16' ? new ort.Tensor('float16', feed.data, dims) : new ort.Tensor('float32', feed.data, dims);
    const out = await session.run({ [name]: tensor }, [model.logitsOutput]);
    const logits = outputAsFloat32(out[model.logitsOutput]);
    const k = logits.length / b;
    return Array.from({ length: b }, (_, i) => logits.subarray(i * k, (i + 1) * k));
  };
}

/** Reads the external data files a model names (relative to the model file) into the model payload. */
export function attachExternalData(model: PreparedModel, modelPath: string): PreparedModel {
  if (!model.externalDataFiles) return model;
  model.externalData = model.externalDataFiles.map((p) => {
    const file = path.join(path.dirname(modelPath), p);
    if (!existsSync(file)) throw new ModelFormatError(t('The model keeps its weights in an external data file "{0}" next to it, and that file is missing.', p));
    return { path: p, data: new Uint8Array(readFileSync(file)) };
  });
  return model;
}
