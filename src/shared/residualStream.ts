/**
 * The residual stream after each block, found from graph topology alone (never names): the tensor X_l entering
 * block l is the first tensor behind the attention's Q that a residual Add also reads; a block is two residual
 * Adds (attention, MLP), each adding to the stream a branch computed from it through weights. Pre-norm: block l's
 * output is the second Add's output (= X_{l+1}, the input of the final norm for the last block); post-norm: the
 * normalization after it. Every block is checked against the next one's X; on any disagreement nothing is returned.
 */
import { scoresMatMul } from './attentionGraph';
import { t } from './l10n';
import { GraphIndex } from './onnx/graphIndex';
import { OnnxNode } from './onnx/onnxModel';

export type ResidualStream = { tensors: string[] } | { problem: string };

/** Ops that multiply by learned weights: the branch of a residual Add passes at least one. */
const WEIGHT_OPS = new Set(['MatMul', 'Gemm', 'MatMulInteger', 'QLinearMatMul', 'Conv']);
const NORM_OPS = new Set(['LayerNormalization', 'SimplifiedLayerNormalization', 'BatchNormalization']);

export function findResidualStream(g: GraphIndex, taps: OnnxNode[], norm: 'pre' | 'post' | 'res-post' | 'unknown', features: string | undefined, shape: { tokens?: number; width: number }): ResidualStream {
  if (norm === 'unknown') return { problem: t('the normalization placement (pre- or post-norm) could not be read from the graph') };
  const streams: string[] = [];
  for (const [l, tap] of taps.entries()) {
    const q = tap.opType === 'Softmax' ? scoresMatMul(g, tap.inputs[0], 6)?.inputs[0] : tap.inputs[0];
    const x = q ? streamBehind(g, q) : undefined;
    if (!x) return { problem: t`no residual Add was found on the input side of block ${l + 1}'s attention` };
    streams.push(x);
  }
  const out: string[] = [];
  for (let l = 0; l < taps.length; l++) {
    const a1 = residualAdd(g, streams[l]);
    const mid = a1 && firstStreamFrom(g, a1.outputs[0]);
    const a2 = mid && residualAdd(g, mid);
    if (!a2) return { problem: t`block ${l + 1} is not two residual Adds (attention, MLP) on the stream` };
    const sum = a2.outputs[0];
    const next = streams[l + 1];
    let o: string | undefined;
    if (norm === 'pre' || norm === 'res-post') o = sum; // x + f(LN(x)) or x + LN(f(x)): the stream is the sum
    else if (next !== undefined) o = firstStreamFrom(g, sum);
    else o = postNormOutput(g, sum, features);
    if (!o) return { problem: t`the normalization after block ${l + 1}'s last residual Add was not found` };
    if (next !== undefined && o !== next) return { problem: t`block ${l + 1}'s output is not the stream entering block ${l + 2}` };
    out.push(o);
  }
  // Pre-norm: the final normalization must read the last block's output, else a block was missed.
  if (norm !== 'post' && features && !reachesBack(g, features, out[out.length - 1], 16)) {
    return { problem: t("the final normalization does not read the last block's output") };
  }
  if (new Set(out).size !== out.length) return { problem: t('two blocks share an output tensor') };
  for (const [l, tensor] of out.entries()) {
    const s = g.graph.valueInfo.get(tensor)?.shape;
    const bad = s && (s.length !== 3 || (typeof s[2] === 'number' && s[2] !== shape.width) || (typeof s[1] === 'number' && shape.tokens !== undefined && s[1] !== shape.tokens));
    if (bad) return { problem: t`block ${l + 1}'s output is declared [${s.map((d) => d ?? '?').join(', ')}], not [batch, ${shape.tokens ?? t('tokens')}, ${shape.width}]` };
  }
  return { tensors: out };
}

/** Walks back from `t` along computed inputs to the first tensor a residual Add reads (the block input). */
function streamBehind(g: GraphIndex, t: string): string | undefined {
  for (let i = 0; i < 40 && t; i++) {
    if (residualAdd(g, t)) return t;
    const p = g.producer.get(t);
    if (!p || p.opType === 'Softmax') return undefined;
    t = p.inputs.find((x) => x && !g.isConstant(x)) ?? '';
  }
  return undefined;
}

/** The first tensor at or after `u` (breadth-first over consumers) that a residual Add reads: through a post-norm. */
function firstStreamFrom(g: GraphIndex, u: string): string | undefined {
  let frontier = [u];
  const seen = new Set(frontier);
  for (let depth = 0; depth < 12 && frontier.length; depth++) {
    for (const t of frontier) if (residualAdd(g, t)) return t;
    const next: string[] = [];
    for (const t of frontier) {
      for (const c of g.consumersOf(t)) {
        if (c.opType === 'Shape') continue;
        for (const o of c.outputs) if (o && !seen.has(o)) { seen.add(o); next.push(o); }
      }
    }
    frontier = next;
  }
  return undefined;
}

/** An Add reading `t` whose other input is computed from `t` through at least one weight op. */
function residualAdd(g: GraphIndex, t: string): OnnxNode | undefined {
  for (const c of g.consumersOf(t)) {
    if (c.opType !== 'Add' || c.inputs.length !== 2) continue;
    const other = c.inputs[0] === t ? c.inputs[1] : c.inputs[0];
    if (!other || other === t || g.isConstant(other)) continue;
    if (reachThroughWeight(g, other, t) === 2) return c;
  }
  return undefined;
}

/**
 * 0: `from` does not depend on `t`; 1: only through non-weight ops (e.g. tanh-GELU's x + c·x³); 2: through a
 * weight op. Shape-of edges are not data; nodes before `t`'s producer cannot depend on it (graphs are sorted).
 */
function reachThroughWeight(g: GraphIndex, from: string, t: string): number {
  const floor = g.producer.has(t) ? g.order.get(g.producer.get(t)!)! : -1;
  const memo = new Map<string, number>();
  let budget = 4000;
  const visit = (x: string): number => {
    if (x === t) return 1;
    const known = memo.get(x);
    if (known !== undefined) return known;
    const p = g.producer.get(x);
    if (!p || (g.order.get(p) ?? -1) <= floor || p.opType === 'Shape' || budget-- <= 0) return 0;
    memo.set(x, 0);
    let r = 0;
    for (const i of p.inputs) if (i && !g.isConstant(i)) r = Math.max(r, visit(i));
    if (r === 1 && WEIGHT_OPS.has(p.opType) && p.inputs.some((i) => i && g.isConstant(i))) r = 2;
    memo.set(x, r);
    return r;
  };
  return visit(from);
}

/** Whether walking back from `from` along computed inputs reaches `to` within `steps`. */
function reachesBack(g: GraphIndex, from: string, to: string, steps: number): boolean {
  let t = from;
  for (let i = 0; i < steps && t; i++) {
    if (t === to) return true;
    const p = g.producer.get(t);
    t = p?.inputs.find((x) => x && !g.isConstant(x)) ?? '';
  }
  return t === to;
}

/** Post-norm, last block: the normalization reading the last residual sum (the final features when they are it). */
function postNormOutput(g: GraphIndex, sum: string, features: string | undefined): string | undefined {
  if (features && reachesBack(g, features, sum, 16)) return features;
  const n = g.consumersOf(sum).find((c) => NORM_OPS.has(c.opType));
  return n?.outputs[0];
}
