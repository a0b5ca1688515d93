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

/** The projection producing Q: the first MatMul/Gemm with a constant 2-D weight upstream of QKᵀ's first input. */
export function queryProjection(g: GraphIndex, scores: OnnxNode): OnnxNode | undefined {
  let t = scores.inputs[0];
  for (let i = 0; i < 16; i++) {
    const p = g.producer.get(t);
    if (!p) return undefined;
    if ((p.opType === 'MatMul' || p.opType === 'Gemm') && g.constant(p.inputs[1])?.dims.length === 2) return p;
    const next = p.inputs.find((x) => x && !g.isConstant(x));
    if (!next) return undefined;
    t = next;
  }
  return undefined;
}

/** The input width C of the Q projection's [C, k·C] weight. */
export function queryProjectionWidth(g: GraphIndex, scores: OnnxNode): number | undefined {
  const p = queryProjection(g, scores);
  const w = p && g.constant(p.inputs[1]);
  if (!p || !w) return undefined;
  return p.opType === 'Gemm' && p.attributes.get('transB')?.i ? w.dims[1] : w.dims[0];
}
