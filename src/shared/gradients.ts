/**
 * Gradients of a class score with respect to every layer's attention probabilities (and the tokens entering the
 * last block's attention, for Grad-CAM), computed by onnxruntime from a backward graph appended to the model
 * (onnx/backward.ts). Two steps, both pure: planGradients gives a probe patch whose one forward run reads every
 * shape the backward graph needs; buildGradientModel turns those shapes into the gradient patch.
 */
import { queryProjection, scoresMatMul } from './attentionGraph';
import { encodeGraphPatch } from './instrumentAttention';
import { BackwardPlan, buildBackward, DEFAULT_SEED, NoGradientError, planBackward, probePatch, ProbeResult } from './onnx/backward';
import { GraphIndex } from './onnx/graphIndex';
import { OnnxModel, readOnnxModel } from './onnx/onnxModel';
import type { VitStructure } from './vitStructure';

export interface GradientTargets {
  logits: string;
  /** Each layer's attention probabilities (the Softmax outputs), in layer order. */
  attention: string[];
  /** The tokens entering the last block's attention (its qkv projection's input: norm1's output in a pre-norm ViT). */
  features?: string;
}

export interface GradientPlan {
  targets: GradientTargets;
  /** Bytes to append to the model for the probing run. */
  probePatch: Uint8Array;
  /** Probe output per tensor: its shape (int64 [rank]). */
  shapeOutputs: [string, string][];
  /** Probe output per steering tensor: its values (int64). */
  valueOutputs: [string, string][];
}

export interface GradientModel {
  /** Bytes to append to the model: the backward graph, the seed input, the outputs. */
  graphPatch: Uint8Array;
  /** Float32 input dL/dlogits, shape `seedDims` ([1, classes]): a one-hot selects the class. */
  seedInput: string;
  seedDims: number[];
  logitsOutput: string;
  attentionOutputs: string[];
  /** d logit / d attention per layer, [1, H, T, T] each. */
  attentionGradOutputs: string[];
  featuresOutput?: string;
  featuresGradOutput?: string;
}

export function gradientTargets(model: OnnxModel, structure: VitStructure): GradientTargets {
  const g = new GraphIndex(model.graph);
  const fused = structure.attention.find((t) => t.fused)?.fused;
  if (fused) {
    // The fused operator itself is on the path (its tapped copy is ours): name the model's node.
    const op = fused.kind === 'onnx-attention' ? 'Attention' : 'MultiHeadAttention';
    const node = model.graph.nodes.find((n) => n.opType === op && fused.inputs.every((t, i) => n.inputs[i] === t));
    throw new NoGradientError([{ opType: fused.kind === 'onnx-attention' ? op : `com.microsoft.${op}`, node: node?.name ?? op }]);
  }
  const attention = structure.attention.map((t) => t.tensor);
  const last = g.producer.get(attention[attention.length - 1]);
  const scores = last && scoresMatMul(g, last.inputs[0]);
  const projection = scores && queryProjection(g, scores);
  return { logits: structure.logits.name, attention, features: projection?.inputs[0] };
}

function plan(model: OnnxModel, targets: GradientTargets): BackwardPlan {
  return planBackward(model, { logits: targets.logits, targets: [...targets.attention, ...(targets.features ? [targets.features] : [])] });
}

/** What the probing run must output. Throws NoGradientError when an op on the path has no gradient rule. */
export function planGradients(bytes: Uint8Array, structure: VitStructure): GradientPlan {
  const model = readOnnxModel(bytes);
  const targets = gradientTargets(model, structure);
  const probe = probePatch(plan(model, targets));
  return { targets, probePatch: new Uint8Array(encodeGraphPatch(probe.patch)), shapeOutputs: [...probe.shapeOutputs], valueOutputs: [...probe.valueOutputs] };
}

/** The probe's outputs (by output name) read into shapes and values. */
export function readProbe(p: GradientPlan, get: (output: string) => ArrayLike<number | bigint>): ProbeResult {
  const nums = (o: string) => Array.from(get(o), (v) => Number(v));
  return { shapes: new Map(p.shapeOutputs.map(([t, o]) => [t, nums(o)])), values: new Map(p.valueOutputs.map(([t, o]) => [t, nums(o)])) };
}

/** The gradient patch for the probed shapes: one session then gives logits, attention and their gradients. */
export function buildGradientModel(bytes: Uint8Array, structure: VitStructure, probe: ProbeResult): GradientModel {
  const model = readOnnxModel(bytes);
  const targets = gradientTargets(model, structure);
  const existing = new Set(model.graph.outputs.map((o) => o.name));
  const forward = [targets.logits, ...targets.attention, ...(targets.features ? [targets.features] : [])];
  const spec = { logits: targets.logits, targets: forward.slice(1), seedInput: DEFAULT_SEED };
  const built = buildBackward(model, spec, plan(model, targets), probe, [...new Set(forward)].filter((t) => !existing.has(t)));
  const L = targets.attention.length;
  return {
    graphPatch: built.graphPatch, seedInput: built.seedInput, seedDims: built.seedDims, logitsOutput: targets.logits,
    attentionOutputs: targets.attention, attentionGradOutputs: built.gradOutputs.slice(0, L),
    featuresOutput: targets.features, featuresGradOutput: targets.features ? built.gradOutputs[L] : undefined,
  };
}
