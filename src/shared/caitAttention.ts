/**
 * Talking-heads attention (CaiT): a Linear across the heads mixes the scores before the Softmax and another mixes
 * the probabilities after it. Exported, each mix is Transpose(heads last) → MatMul(·, [H, H]) → Add(bias) →
 * Transpose(heads back). The weights multiplied with V are the second mix's output, not the Softmax's, so that
 * is what must be tapped (they are a linear mix of softmax rows: rows need not sum to 1 and may go negative).
 */
import { GraphIndex } from './onnx/graphIndex';
import type { OnnxNode } from './onnx/onnxModel';

/** A [H, H] head-mixing MatMul (with optional bias Add) between two Transposes, read forwards or backwards. */
function isHeadMix(g: GraphIndex, matmul: string | undefined): boolean {
  const p = matmul ? g.producer.get(matmul) : undefined;
  const w = p?.opType === 'MatMul' ? g.constant(p.inputs[1]) : undefined;
  return !!w && w.dims.length === 2 && w.dims[0] === w.dims[1] && w.dims[0] <= 64;
}

/** The tensor before the pre-softmax head mix ending in `scores` (the raw QKᵀ side), if there is one. */
export function beforeHeadMix(g: GraphIndex, scores: string): string | undefined {
  const back = g.producer.get(scores);
  if (back?.opType !== 'Transpose') return undefined;
  let t = back.inputs[0];
  const add = g.producer.get(t);
  if (add?.opType === 'Add') t = add.inputs.find((x) => x && !g.isConstant(x)) ?? '';
  if (!isHeadMix(g, t)) return undefined;
  const front = g.producer.get(g.producer.get(t)!.inputs[0]);
  return front?.opType === 'Transpose' ? front.inputs[0] : undefined;
}

/** The output of the post-softmax head mix reading `probs`, if there is one: the weights multiplied with V. */
export function afterHeadMix(g: GraphIndex, probs: string): string | undefined {
  const front = g.consumersOf(probs);
  if (front.length !== 1 || front[0].opType !== 'Transpose') return undefined;
  const mm = g.consumersOf(front[0].outputs[0]);
  if (mm.length !== 1 || !isHeadMix(g, mm[0].outputs[0])) return undefined;
  let t = mm[0].outputs[0];
  const add = g.consumersOf(t);
  if (add.length === 1 && add[0].opType === 'Add' && add[0].inputs.some((x) => g.isConstant(x))) t = add[0].outputs[0];
  const back = g.consumersOf(t);
  return back.length === 1 && back[0].opType === 'Transpose' ? back[0].outputs[0] : undefined;
}

/** CaiT's class attention: Q is projected from token 0 alone (x[:, 0] exported as Gather(axis 1, index 0) or a Slice). */
export function queriesOnlyToken0(g: GraphIndex, qProjection: OnnxNode | undefined): boolean {
  const sel = qProjection && g.producer.get(qProjection.inputs[0]);
  if (sel?.opType === 'Gather') return (sel.attributes.get('axis')?.i ?? 0) === 1 && g.scalar(sel.inputs[1]) === 0;
  if (sel?.opType === 'Slice') return g.scalar(sel.inputs[1]) === 0 && g.scalar(sel.inputs[2]) === 1;
  return false;
}

/** Learned [1, k, D] tokens concatenated into the sequence by `nodes` (CaiT's CLS before its class-attention layers). */
export function learnedTokensIn(g: GraphIndex, nodes: OnnxNode[], embedDim: number): number {
  let count = 0;
  for (const n of nodes) {
    if (n.opType !== 'Concat') continue;
    for (const inp of n.inputs) {
      const p = g.producer.get(inp);
      const t = g.constant(inp) ?? (p && (p.opType === 'Expand' || p.opType === 'Tile') ? g.constant(p.inputs[0]) : undefined);
      if (t && t.dims.length >= 2 && t.dims[t.dims.length - 1] === embedDim) count += t.dims[t.dims.length - 2];
    }
  }
  return count;
}
