/**
 * Gradients of a class score with respect to every layer's attention probabilities (and the tokens entering the
 * last block's attention, for Grad-CAM), computed by onnxruntime from a backward graph appended to the model
 * (onnx/backward.ts). Two steps, both pure: planGradients gives a probe patch whose one forward run reads every
 * shape the backward graph needs; buildGradientModel turns those shapes into the gradient patch.
 */
import { queryProjection, scoresMatMul } from './attentionGraph';
import { encodeGraphPatch } from './instrumentAttention';
import { t } from './l10n';
import { BackwardPlan, buildBackward, DEFAULT_SEED, NoGradientError, planBackward, probePatch, ProbeResult } from './onnx/backward';
import { GraphIndex } from './onnx/graphIndex';
import { OnnxModel, OnnxNode, readOnnxModel } from './onnx/onnxModel';
import type { VitStructure } from './vitStructure';

export interface GradientTargets {
  logits: string;
  /** Each layer's attention probabilities (the Softmax outputs), in layer order. */
  attention: string[];
  /**
   * The tokens entering the last block's attention (its qkv projection's input: norm1's output in a pre-norm ViT).
   * Swin: the last stage's final norm output before the pooling ([1, H·W, C] or [1, H, W, C], token-major either
   * way), the layer pytorch-grad-cam targets for Swin; the last block's qkv input is window-partitioned instead.
   */
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
    // l10n-ignore: an ONNX operator's domain-qualified name
    throw new NoGradientError([{ opType: fused.kind === 'onnx-attention' ? op : `com.microsoft.${op}`, node: node?.name ?? op }]);
  }
  const attention = structure.attention.map((t) => t.tensor);
  // No fallback to the qkv input for Swin: window-partitioned tokens would be read as a wrong grid.
  if (structure.swin) return { logits: structure.logits.name, attention, features: pooledTokens(g, structure.logits.name) };
  const last = g.producer.get(attention[attention.length - 1]);
  const scores = last && scoresMatMul(g, last.inputs[0]);
  const projection = scores && queryProjection(g, scores);
  return { logits: structure.logits.name, attention, features: projection?.inputs[0] };
}

/** Ops between the pooled tokens and the logits: the classifier (a weight product plus bias) and reshapes. */
const HEAD_OPS = new Set(['Gemm', 'MatMul', 'Add', 'Flatten', 'Reshape', 'Squeeze', 'Unsqueeze', 'Identity', 'Cast', 'Dropout']);
const POOL_OPS = new Set(['ReduceMean', 'GlobalAveragePool']);
/** Layout-only ops between the final norm and the pool (torchvision permutes [B, H, W, C] to [B, C, H, W]). */
const LAYOUT_OPS = new Set(['Transpose', 'Reshape', 'Identity', 'Cast']);

/**
 * The tokens a global-average-pooling classifier pools (Swin's final norm output): walked back from the logits
 * through the head to the pool, then through layout ops only, so the tensor is the last one that still holds
 * every token's features. The head's data input is its one non-constant input.
 */
function pooledTokens(g: GraphIndex, logits: string): string | undefined {
  const dataInput = (n: OnnxNode) => {
    if (n.opType === 'Gemm' || n.opType === 'MatMul' || n.opType === 'Add') {
      const data = n.inputs.filter((x) => x && !g.isConstant(x));
      return data.length === 1 ? data[0] : undefined;
    }
    return n.inputs[0];
  };
  let t: string | undefined = logits;
  for (let i = 0; t && i < 12; i++) {
    const p = g.producer.get(t);
    if (!p) return undefined;
    if (POOL_OPS.has(p.opType)) {
      let f = p.inputs[0];
      for (let j = 0; j < 4; j++) {
        const q = g.producer.get(f);
        if (!q || !LAYOUT_OPS.has(q.opType)) break;
        f = q.inputs[0];
      }
      return f;
    }
    if (!HEAD_OPS.has(p.opType)) return undefined;
    t = dataInput(p);
  }
  return undefined;
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

/** Every probe output, for the probing run's fetch list. */
export function probeOutputs(p: GradientPlan): string[] {
  return [...p.shapeOutputs, ...p.valueOutputs].map(([, o]) => o);
}

/** Every output a gradient run fetches: logits, attention, their gradients, then the features and theirs. */
export function gradientOutputs(g: GradientModel): string[] {
  return [g.logitsOutput, ...g.attentionOutputs, ...g.attentionGradOutputs, ...(g.featuresOutput && g.featuresGradOutput ? [g.featuresOutput, g.featuresGradOutput] : [])];
}

/** The seed input for class `classIndex`: a one-hot dL/dlogits. */
export function classSeed(g: GradientModel, classIndex: number): Float32Array {
  const classes = g.seedDims.reduce((p, d) => p * d, 1);
  if (!(Number.isInteger(classIndex) && classIndex >= 0 && classIndex < classes)) throw new RangeError(t`class ${classIndex} is outside 0…${classes - 1}`);
  const seed = new Float32Array(classes);
  seed[classIndex] = 1;
  return seed;
}

/** One gradient run's outputs, batch item 0. */
export interface GradientOutputs {
  logits: Float32Array;
  /** Per layer [H, T, T]. */
  attention: Float32Array[];
  attentionGrad: Float32Array[];
  /** Layer 0's attention dims as output ([1, H, T, T], or [H, T, T] where heads are folded into the batch). */
  attentionDims: number[];
  features?: Float32Array;
  featuresGrad?: Float32Array;
}

/** Reads a gradient run's outputs (as float32) by name. */
export function readGradientOutputs(g: GradientModel, get: (output: string) => { data: Float32Array; dims: readonly number[] }): GradientOutputs {
  const f = (n: string) => get(n).data;
  return {
    logits: f(g.logitsOutput),
    attention: g.attentionOutputs.map(f),
    attentionGrad: g.attentionGradOutputs.map(f),
    attentionDims: [...get(g.attentionOutputs[0]).dims],
    features: g.featuresOutput ? f(g.featuresOutput) : undefined,
    featuresGrad: g.featuresGradOutput ? f(g.featuresGradOutput) : undefined,
  };
}
