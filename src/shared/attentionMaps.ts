/** Pure maths on attention tensors [batch=1, heads, tokens, tokens] and logits. */
import type { Prediction } from './protocol';

export interface AttentionLayer {
  heads: number;
  tokens: number;
  /** Row-major [heads, tokens, tokens] probabilities. */
  data: Float32Array;
}

/**
 * Attention from query token `query` to every patch (prefix tokens dropped), for one head or fused over
 * heads (head = -1: mean). Returns grid.rows × grid.cols values.
 */
export function queryAttentionToPatches(a: AttentionLayer, query: number, head: number, prefix: number): Float32Array {
  const n = a.tokens - prefix;
  const out = new Float32Array(n);
  const heads = head < 0 ? Array.from({ length: a.heads }, (_, h) => h) : [head];
  for (const h of heads) {
    const row = (h * a.tokens + query) * a.tokens + prefix;
    for (let j = 0; j < n; j++) out[j] += a.data[row + j];
  }
  if (heads.length > 1) for (let j = 0; j < n; j++) out[j] /= heads.length;
  return out;
}

export function argmax(v: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < v.length; i++) if (v[i] > v[best]) best = i;
  return best;
}

export function softmax(logits: ArrayLike<number>): Float64Array {
  let m = -Infinity;
  for (let i = 0; i < logits.length; i++) m = Math.max(m, logits[i]);
  const out = new Float64Array(logits.length);
  let s = 0;
  for (let i = 0; i < logits.length; i++) s += out[i] = Math.exp(logits[i] - m);
  for (let i = 0; i < logits.length; i++) out[i] /= s;
  return out;
}

export function topK(logits: ArrayLike<number>, labels: string[], k: number): Prediction[] {
  const p = softmax(logits);
  return Array.from(p, (prob, index) => ({ index, prob, label: labels[index] ?? `class ${index}` }))
    .sort((a, b) => b.prob - a.prob)
    .slice(0, k);
}

/** Largest deviation of a row sum from 1 (a tap that is not a softmax over keys fails this). */
export function maxRowSumError(a: AttentionLayer): number {
  let worst = 0;
  for (let r = 0; r < a.heads * a.tokens; r++) {
    let s = 0;
    for (let j = 0; j < a.tokens; j++) s += a.data[r * a.tokens + j];
    worst = Math.max(worst, Math.abs(s - 1));
  }
  return worst;
}
