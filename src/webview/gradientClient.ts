/**
 * Class gradients in the page, as src/cli/gradientRun.ts computes them in Node: one probing run of the model (in the
 * worker, under `${key}#probe`) reads the shapes the backward graph needs, the gradient patch is built here
 * (src/shared/gradients.ts), then each class is one run of `${key}#grad` with the image and a one-hot class seed.
 * The worker keeps that session beside the model's own, so switching classes or maps reuses it.
 */
import { NoGradientError } from '../shared/onnx/backward';
import { buildGradientModel, classSeed, gradientOutputs, planGradients, probeOutputs, readGradientOutputs, readProbe, type GradientModel, type GradientOutputs } from '../shared/gradients';
import { inputSize } from '../shared/modelCard';
import type { Backend, ModelPayload } from '../shared/protocol';
import type { InferenceClient } from './inferenceClient';

/** The panel's model as the gradient runs need it: its file's bytes (not ViT Lens's output patch) and external weights. */
export interface GradientSource {
  model: ModelPayload;
  bytes: Uint8Array;
  externalData?: { path: string; data: Uint8Array }[];
  backend: Backend;
  timeoutMs?: number;
}

export interface PageGradientResult extends GradientOutputs {
  /** Planning, the probing run (its session included) and building the patch; 0 when the patch was already built. */
  setupMs: number;
  /** Creating the gradient session in the worker; 0 when it was reused. */
  sessionMs: number;
  /** The gradient run itself. */
  ms: number;
}

export class GradientClient {
  /** The gradient patch of one model (the panel's), or the reason it has none. */
  private built?: { key: string; grad: Promise<{ model: GradientModel; setupMs: number }> };

  constructor(private readonly client: Pick<InferenceClient, 'run'>) {}

  private dims(m: ModelPayload): number[] {
    const { height, width } = inputSize(m.card.preprocess);
    return [1, m.structure.input.channels, height, width];
  }

  private async build(src: GradientSource): Promise<{ model: GradientModel; setupMs: number }> {
    const t0 = performance.now();
    const { model: m } = src;
    const plan = planGradients(src.bytes, m.structure);
    const dims = this.dims(m);
    // Shapes do not depend on the pixels: a zero image is probed.
    const zeros = new Float32Array(dims.reduce((p, d) => p * d, 1));
    const probed = await this.client.run(`${m.key}#probe`, () => ({ parts: [src.bytes, plan.probePatch], externalData: src.externalData }), zeros, m.structure.input.name, dims, probeOutputs(plan), src.backend, src.timeoutMs, { companionOf: m.key });
    const model = buildGradientModel(src.bytes, m.structure, readProbe(plan, (o) => probed.tensors.get(o)!.data));
    return { model, setupMs: performance.now() - t0 };
  }

  /** d logit[classIndex] / d attention (and the last block's tokens) for `input`. Throws NoGradientError where an op has no rule. */
  async run(src: GradientSource, input: Float32Array, classIndex: number): Promise<PageGradientResult> {
    const key = src.model.key;
    let entry = this.built;
    if (entry?.key !== key) {
      const grad = this.build(src);
      const made = { key, grad };
      entry = this.built = made;
      // A missing rule is a fact of the model; anything else (a timeout, a worker crash) is tried again next time.
      grad.catch((e: unknown) => {
        if (!(e instanceof NoGradientError) && this.built === made) this.built = undefined;
      });
    }
    const { model: grad, setupMs } = await entry.grad;
    // The setup time is reported once, by the run that paid for it.
    if (setupMs && this.built === entry) this.built = { key, grad: Promise.resolve({ model: grad, setupMs: 0 }) };
    const m = src.model;
    const seed = classSeed(grad, classIndex);
    // The input is transferred to the worker: send a copy so the caller's tensor stays usable.
    const r = await this.client.run(`${key}#grad`, () => ({ parts: [src.bytes, grad.graphPatch], externalData: src.externalData }), input.slice(), m.structure.input.name, this.dims(m), gradientOutputs(grad), src.backend, src.timeoutMs, {
      feeds: [{ name: grad.seedInput, data: seed, dims: grad.seedDims }],
      companionOf: key,
    });
    return { ...readGradientOutputs(grad, (n) => r.tensors.get(n)!), setupMs, sessionMs: r.sessionMs, ms: r.inferenceMs };
  }
}
