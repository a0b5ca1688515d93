/**
 * Attention gradients in Node with onnxruntime-web: one probing forward reads the shapes the backward graph needs,
 * then one session (model + backward patch) gives logits, attention and d logit[c] / d attention for any class c.
 */
import * as ort from 'onnxruntime-web';
import { buildGradientModel, classSeed, gradientOutputs, GradientModel, GradientOutputs, planGradients, probeOutputs, readGradientOutputs, readProbe } from '../shared/gradients';
import { instrumentedBytes } from '../shared/instrumentAttention';
import { inputSize } from '../shared/modelCard';
import { imageFeed, outputAsFloat32 } from '../shared/ortData';
import type { PreparedModel } from '../shared/prepareModel';

export interface GradientResult extends GradientOutputs {
  ms: number;
}

export interface GradientSession {
  model: GradientModel;
  session: ort.InferenceSession;
  run(input: Float32Array, classIndex: number): Promise<GradientResult>;
}

function imageTensor(session: ort.InferenceSession, model: PreparedModel, input: Float32Array): ort.Tensor {
  const { height, width } = inputSize(model.card.preprocess);
  const dims = [1, model.structure.input.channels, height, width];
  const feed = imageFeed(session.inputMetadata, model.structure.input.name, input);
  return feed.type === 'float16' ? new ort.Tensor('float16', feed.data, dims) : new ort.Tensor('float32', feed.data, dims);
}

/** Throws NoGradientError (src/shared/onnx/backward.ts) when an op between the attention and the logits has no gradient rule. */
export async function createGradientSession(model: PreparedModel, threads = 1): Promise<GradientSession> {
  ort.env.wasm.numThreads = threads;
  const options: ort.InferenceSession.SessionOptions = { executionProviders: ['wasm'], externalData: model.externalData };
  const plan = planGradients(model.bytes, model.structure);
  // Shapes do not depend on the pixels: a zero image is probed.
  const probeSession = await ort.InferenceSession.create(instrumentedBytes({ bytes: model.bytes, graphPatch: plan.probePatch }), options);
  const { height, width } = inputSize(model.card.preprocess);
  const zeros = new Float32Array(model.structure.input.channels * height * width);
  const probed = await probeSession.run({ [model.structure.input.name]: imageTensor(probeSession, model, zeros) }, probeOutputs(plan));
  await probeSession.release();
  const grad = buildGradientModel(model.bytes, model.structure, readProbe(plan, (o) => probed[o].data as ArrayLike<number | bigint>));
  const session = await ort.InferenceSession.create(instrumentedBytes({ bytes: model.bytes, graphPatch: grad.graphPatch }), options);
  const outputs = gradientOutputs(grad);
  return {
    model: grad,
    session,
    async run(input, classIndex) {
      const seed = classSeed(grad, classIndex);
      const t0 = performance.now();
      const out = await session.run({ [model.structure.input.name]: imageTensor(session, model, input), [grad.seedInput]: new ort.Tensor('float32', seed, grad.seedDims) }, outputs);
      const ms = performance.now() - t0;
      return { ...readGradientOutputs(grad, (n) => ({ data: outputAsFloat32(out[n]), dims: out[n].dims })), ms };
    },
  };
}
