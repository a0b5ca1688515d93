/**
 * DeiT's two classifiers: the CLS token's head learns the true label, the distillation token's head learns the
 * teacher's prediction, and eval-mode exports average them, logits = (head(x[:, 0]) + head_dist(x[:, 1])) / 2
 * (timm, and Hugging Face's DeiTForImageClassificationWithTeacher). Found from that arithmetic, never from names.
 */
import type { GraphIndex } from './onnx/graphIndex';

export interface DistillationHeads {
  /** Logits of the CLS token's head. */
  cls: string;
  /** Logits of the distillation token's head. */
  dist: string;
}

/** The token a classifier head reads: the index of the Gather (or Slice start) on the token axis upstream of `t`. */
function tokenIndex(g: GraphIndex, t: string): number | undefined {
  let x = t;
  for (let i = 0; i < 8; i++) {
    const n = g.producer.get(x);
    if (!n) return undefined;
    if (n.opType === 'Gather') return g.scalar(n.inputs[1]);
    if (n.opType === 'Slice') return n.inputs[1] ? g.scalar(n.inputs[1]) : undefined;
    if (!['Gemm', 'MatMul', 'Add', 'Squeeze', 'Reshape', 'Flatten', 'Identity', 'Cast'].includes(n.opType)) return undefined;
    const next = n.inputs.find((v) => v && !g.isConstant(v));
    if (!next) return undefined;
    x = next;
  }
  return undefined;
}

export function findDistillationHeads(g: GraphIndex, logits: string): DistillationHeads | undefined {
  const avg = g.producer.get(logits);
  if (!avg) return undefined;
  let sum: string | undefined;
  if (avg.opType === 'Div' && g.scalar(avg.inputs[1]) === 2) sum = avg.inputs[0];
  else if (avg.opType === 'Mul') sum = g.scalar(avg.inputs[1]) === 0.5 ? avg.inputs[0] : g.scalar(avg.inputs[0]) === 0.5 ? avg.inputs[1] : undefined;
  const add = sum ? g.producer.get(sum) : undefined;
  if (add?.opType !== 'Add' || add.inputs.length !== 2 || add.inputs.some((i) => g.isConstant(i))) return undefined;
  const [a, b] = add.inputs;
  const [ta, tb] = [tokenIndex(g, a), tokenIndex(g, b)];
  if (ta === 0 && tb === 1) return { cls: a, dist: b };
  if (ta === 1 && tb === 0) return { cls: b, dist: a };
  return undefined;
}
