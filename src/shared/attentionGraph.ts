/** Reading the attention subgraph around a Softmax: QKᵀ, the ops between it and the Softmax, and their constants. */
import { beforeHeadMix } from './caitAttention';
import { GraphIndex } from './onnx/graphIndex';
import { OnnxNode, OnnxTensor } from './onnx/onnxModel';

/** Ops that may sit between QKᵀ and the Softmax: scale, bias/mask adds, and Swin's window reshapes. */
const SCORE_OPS = new Set(['Mul', 'Div', 'Add', 'Sub', 'Where', 'Cast', 'Identity', 'Reshape', 'Unsqueeze', 'Squeeze']);

/** The MatMul(Q, Kᵀ) feeding `tensor` through SCORE_OPS, if any: both of its inputs are computed tensors. */
export function scoresMatMul(g: GraphIndex, tensor: string, depth = 8, computedOnly = true): OnnxNode | undefined {
  const p = g.producer.get(tensor);
  if (!p || depth === 0) return undefined;
  // Talking heads (CaiT): the scores pass a Linear across heads; QKᵀ is on the other side of it.
  const mixed = p.opType === 'Transpose' ? beforeHeadMix(g, tensor) : undefined;
  if (mixed) return scoresMatMul(g, mixed, depth - 1, computedOnly);
  if (p.opType === 'MatMul') {
    return !computedOnly || (!g.isConstant(p.inputs[0]) && !g.isConstant(p.inputs[1])) ? p : undefined;
  }
  if (!SCORE_OPS.has(p.opType)) return undefined;
  for (const inp of p.inputs) {
    if (!inp || g.isConstant(inp)) continue;
    const m = scoresMatMul(g, inp, depth - 1, computedOnly);
    if (m) return m;
  }
  return undefined;
}

/** Constants added to the attention scores between QKᵀ and the Softmax (relative position bias, shift mask). */
export function addedScoreConstants(g: GraphIndex, softmax: OnnxNode): OnnxTensor[] {
  const stop = scoresMatMul(g, softmax.inputs[0]);
  const found: OnnxTensor[] = [];
  let p = g.producer.get(softmax.inputs[0]);
  for (let i = 0; p && p !== stop && i < 10; i++) {
    if (p.opType === 'Add') {
      for (const inp of p.inputs) {
        const c = g.constant(inp);
        if (c) found.push(c);
      }
    }
    const next = p.inputs.find((x) => x && !g.isConstant(x));
    p = next ? g.producer.get(next) : undefined;
  }
  return found;
}

/**
 * Tensors computed from the graph's (non-initializer) inputs. Shape/Size outputs do not count: reading a shape is not
 * data flow. What is left out is input-free: weights, and tables computed from them at run time (Swin V2's CPB MLP,
 * a qkv bias concatenated from q_bias, k_bias, v_bias).
 */
const dataFlowCache = new WeakMap<GraphIndex, Set<string>>();
export function dataFlow(g: GraphIndex): Set<string> {
  let flow = dataFlowCache.get(g);
  if (flow) return flow;
  flow = new Set(g.graph.inputs.filter((i) => !g.graph.initializers.has(i.name)).map((i) => i.name));
  for (const n of g.graph.nodes) {
    if (n.opType === 'Shape' || n.opType === 'Size') continue;
    if (n.inputs.some((x) => x && flow!.has(x))) for (const o of n.outputs) if (o) flow.add(o);
  }
  dataFlowCache.set(g, flow);
  return flow;
}

/** A 2-D weight: a constant, or a constant behind Transpose (exports without constant folding keep Wᵀ as a node). */
function projectionWeight(g: GraphIndex, name: string): { dims: number[] } | undefined {
  const c = g.constant(name);
  if (c) return c.dims.length === 2 ? { dims: c.dims } : undefined;
  const p = g.producer.get(name);
  const w = p?.opType === 'Transpose' ? g.constant(p.inputs[0]) : undefined;
  return w?.dims.length === 2 ? { dims: [w.dims[1], w.dims[0]] } : undefined;
}

/** The projection producing Q: the first MatMul/Gemm with a constant 2-D weight upstream of QKᵀ's first input. */
export function queryProjection(g: GraphIndex, scores: OnnxNode): OnnxNode | undefined {
  const flow = dataFlow(g);
  let t = scores.inputs[0];
  for (let i = 0; i < 16; i++) {
    const p = g.producer.get(t);
    if (!p) return undefined;
    if ((p.opType === 'MatMul' || p.opType === 'Gemm') && projectionWeight(g, p.inputs[1])) return p;
    // Follow the tokens, not an input-free operand (a bias concatenated at run time).
    const computed = p.inputs.filter((x) => x && !g.isConstant(x));
    const next = computed.find((x) => flow.has(x)) ?? computed[0];
    if (!next) return undefined;
    t = next;
  }
  return undefined;
}

/** The input width C of the Q projection's [C, k·C] weight. */
export function queryProjectionWidth(g: GraphIndex, scores: OnnxNode): number | undefined {
  const p = queryProjection(g, scores);
  const w = p && projectionWeight(g, p.inputs[1]);
  if (!p || !w) return undefined;
  return p.opType === 'Gemm' && p.attributes.get('transB')?.i ? w.dims[1] : w.dims[0];
}

const NORM_OPS = new Set(['LayerNormalization', 'SimplifiedLayerNormalization', 'BatchNormalization', 'RMSNormalization', 'GroupNormalization']);

/**
 * Res-post-norm (Swin V2: x + LN(attn(x))): following the data forward from the attention's output, every path to
 * the first residual Add (an Add of two computed-from-the-image tensors) passes a normalization. Pre- and
 * post-norm blocks reach that Add straight from the output projection. Decomposed LayerNorm counts (Div by Sqrt).
 */
export function normBeforeResidualAdd(g: GraphIndex, from: string): boolean {
  const flow = dataFlow(g);
  let frontier: { t: string; norm: boolean }[] = [{ t: from, norm: false }];
  const seen = new Set([from]);
  for (let depth = 0; depth < 40 && frontier.length; depth++) {
    const next: { t: string; norm: boolean }[] = [];
    const reached: boolean[] = [];
    for (const { t, norm } of frontier) {
      for (const c of g.consumersOf(t)) {
        if (c.opType === 'Shape' || c.opType === 'Size') continue;
        if (c.opType === 'Add' && c.inputs.length === 2 && c.inputs.every((x) => x && flow.has(x))) {
          reached.push(norm);
          continue;
        }
        const isNorm = NORM_OPS.has(c.opType) || (c.opType === 'Div' && g.producer.get(c.inputs[1])?.opType === 'Sqrt');
        for (const o of c.outputs) if (o && !seen.has(o)) { seen.add(o); next.push({ t: o, norm: norm || isNorm }); }
      }
    }
    if (reached.length) return reached.every((n) => n);
    frontier = next;
  }
  return false;
}
