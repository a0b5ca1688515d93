/**
 * Which tokens a ViT's classifier reads, found by walking back from the head's linear layer to the token
 * sequence (never from names): token 0 (CLS), the mean of the patch tokens, the mean of all tokens, CLS
 * concatenated with the patch mean (DINOv2's linear head), or a learned probe's attention (MAP, SigLIP).
 */
import { scoresMatMul } from './attentionGraph';
import { t } from './l10n';
import type { GraphIndex } from './onnx/graphIndex';
import type { OnnxNode } from './onnx/onnxModel';

export type ClassifierKind = 'cls' | 'gap' | 'mean-all' | 'mean-patches' | 'cls+mean' | 'map' | 'unknown';

/** Ops between the pooled vector and the head (or between the tokens and the pooling) that keep its meaning. */
const KEEP = new Set(['Identity', 'Cast', 'Dropout', 'Flatten', 'Reshape', 'Squeeze', 'Unsqueeze', 'LayerNormalization', 'BatchNormalization', 'SimplifiedLayerNormalization']);
/**
 * True when `t` does not depend on any token value: constants, and ops on constants and shapes (a learned probe
 * expanded to the batch size). The tokens reach a tensor only through the image input.
 */
function tokenFree(g: GraphIndex, t: string, memo: Map<string, boolean>, depth = 0): boolean {
  const known = memo.get(t);
  if (known !== undefined) return known;
  if (depth > 40) return false;
  let free: boolean;
  const p = g.producer.get(t);
  if (g.isConstant(t)) free = true;
  else if (!p) free = false; // a graph input
  else if (p.opType === 'Shape' || p.opType === 'Size') free = true; // shapes carry no token values
  else free = p.inputs.every((i) => !i || tokenFree(g, i, memo, depth + 1));
  memo.set(t, free);
  return free;
}

/**
 * Attention-pooling probes: a Softmax over Q·Kᵀ whose query does not depend on the image (a learned constant)
 * while its keys do, and whose output weighs values. Such a Softmax is the head's, not a transformer layer's.
 */
export function findMapProbes(g: GraphIndex): OnnxNode[] {
  const memo = new Map<string, boolean>();
  return g.graph.nodes.filter((n) => {
    if (n.opType !== 'Softmax' || n.domain !== '') return false;
    // A probe's query may be folded into a constant: accept a constant operand of QKᵀ here.
    const s = scoresMatMul(g, n.inputs[0], 8, false);
    if (!s || !tokenFree(g, s.inputs[0], memo) || tokenFree(g, s.inputs[1], memo)) return false;
    return g.consumersThroughPassThrough(n.outputs[0]).some((c) => c.opType === 'MatMul' && c.inputs[0] === n.outputs[0]);
  });
}

/** Whether a linear layer with constant weights produces `t`; returns its data input. */
export function linearInput(g: GraphIndex, t: string): string | undefined {
  const n = g.producer.get(t);
  if (!n) return undefined;
  if (n.opType === 'Gemm' && g.isConstant(n.inputs[1])) return n.inputs[0];
  if (n.opType === 'MatMul' && g.isConstant(n.inputs[1]) && !g.isConstant(n.inputs[0])) return n.inputs[0];
  if (n.opType === 'Add' && n.inputs.some((i) => g.isConstant(i))) {
    const x = n.inputs.find((i) => !g.isConstant(i));
    return x ? linearInput(g, x) : undefined;
  }
  return undefined;
}

function intAttr(n: OnnxNode, name: string): number | undefined {
  return n.attributes.get(name)?.i;
}

/** The constant value list of an optional input, or an attribute's ints. */
function ints(g: GraphIndex, n: OnnxNode, input: number, attr: string): number[] | undefined {
  const a = n.attributes.get(attr)?.ints;
  if (a) return a;
  const name = n.inputs[input];
  const v = name ? g.scalar(name) : undefined;
  return v === undefined ? undefined : [v];
}

const isTokenAxis = (a: number | undefined) => a === 1 || a === -2;

/** What a pooled vector `t` (the head's input) is made of. */
function pooling(g: GraphIndex, t: string, prefix: number, depth = 0): ClassifierKind | undefined {
  if (depth > 12) return undefined;
  const n = g.producer.get(t);
  if (!n) return undefined;
  if (KEEP.has(n.opType)) return pooling(g, n.inputs[0], prefix, depth + 1);
  if (n.opType === 'Gather') {
    return isTokenAxis(intAttr(n, 'axis') ?? 0) && g.scalar(n.inputs[1]) === 0 ? 'cls' : 'unknown';
  }
  if (n.opType === 'Slice') {
    // x[:, 0:1] is the CLS token; a wider slice is not a single token.
    const [start, end, axes] = [g.scalar(n.inputs[1]), g.scalar(n.inputs[2]), n.inputs[3] ? g.scalar(n.inputs[3]) : 0];
    return isTokenAxis(axes) && start === 0 && end === 1 ? 'cls' : 'unknown';
  }
  if (n.opType === 'ReduceMean') {
    const axes = ints(g, n, 1, 'axes');
    if (!axes || axes.length !== 1 || !isTokenAxis(axes[0])) return 'unknown';
    const src = g.producer.get(n.inputs[0]);
    if (src?.opType === 'Slice') {
      const start = g.scalar(src.inputs[1]);
      const axis = src.inputs[3] ? g.scalar(src.inputs[3]) : 0;
      if (!isTokenAxis(axis)) return 'unknown';
      if (start === 0) return prefix > 0 ? 'mean-all' : 'gap';
      return start === prefix && prefix > 0 ? 'mean-patches' : 'unknown';
    }
    return prefix > 0 ? 'mean-all' : 'gap';
  }
  if (n.opType === 'Concat' && n.inputs.length === 2) {
    const parts = n.inputs.map((i) => pooling(g, i, prefix, depth + 1)).sort();
    return parts[0] === 'cls' && parts[1] === 'mean-patches' ? 'cls+mean' : 'unknown';
  }
  return undefined;
}

/** Nodes upstream of `t`, not earlier than node index `after`. */
function upstream(g: GraphIndex, t: string, after: number): Set<OnnxNode> {
  const seen = new Set<OnnxNode>();
  const stack = [t];
  while (stack.length) {
    const p = g.producer.get(stack.pop() ?? '');
    if (!p || seen.has(p) || (g.order.get(p) ?? 0) < after) continue;
    seen.add(p);
    for (const i of p.inputs) if (i && !g.isConstant(i)) stack.push(i);
  }
  return seen;
}

/**
 * The classifier kind of the head producing `logits`; undefined when no head was recognised (the caller falls
 * back on the prefix-token count). `lastLayer` is the last transformer attention's Softmax.
 */
export function findClassifier(g: GraphIndex, logits: string, prefix: number, probes: OnnxNode[], lastLayer: OnnxNode): ClassifierKind | undefined {
  const after = g.order.get(lastLayer) ?? 0;
  const above = upstream(g, logits, after);
  if (probes.some((p) => above.has(p))) return 'map';
  // Walk through the output's shape ops, a final Softmax and DeiT's (a + b) / 2 to the head's linear layer.
  let t = logits;
  for (let i = 0; i < 8; i++) {
    const x = linearInput(g, t);
    if (x) return pooling(g, x, prefix);
    const n = g.producer.get(t);
    if (!n) return undefined;
    const next = n.opType === 'Softmax' || KEEP.has(n.opType) || n.opType === 'Div' || n.opType === 'Mul' || n.opType === 'Add' ? n.inputs.find((v) => v && !g.isConstant(v)) : undefined;
    if (!next) return undefined;
    t = next;
  }
  return undefined;
}

/** The classifier in words, for the summary and the CLI. */
export function classifierWords(kind: ClassifierKind): string {
  switch (kind) {
    case 'cls': return t('CLS token');
    case 'gap': return t('global average pooling (mean of the patch tokens; no CLS token)');
    case 'mean-all': return t('mean of all tokens (CLS included)');
    case 'mean-patches': return t('mean of the patch tokens (global average pooling; the CLS token is not read)');
    case 'cls+mean': return t('CLS token concatenated with the mean of the patch tokens');
    case 'map': return t('attention pooling (MAP): one learned query attends over all tokens');
    case 'unknown': return t('not recognised');
  }
}
