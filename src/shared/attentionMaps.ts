/** Pure maths on attention tensors [batch=1, heads, tokens, tokens] and logits. */
import type { Prediction } from './protocol';
import { t } from './l10n';

export interface AttentionLayer {
  heads: number;
  tokens: number;
  /**
   * Query rows present: `tokens` for full matrices, 1 when only the CLS row was extracted (memory budget).
   * Row-major [heads, queries, tokens] probabilities.
   */
  queries?: number;
  /**
   * Set while only row 0 has arrived from the extension host (firstRows.ts): the full matrix's query rows, which
   * the host still holds. Unlike a CLS-rows-only export, the other rows exist and the views wait for them.
   */
  pendingQueries?: number;
  data: Float32Array;
}

/**
 * An attention output of a batch-1 run as a layer: [1, H, Q, T], or [H, Q, T] where the exporter folds heads
 * into the batch (nn.MultiheadAttention); Q is T, or 1 for CLS rows.
 */
export function attentionLayerOf(dims: readonly number[], data: Float32Array, fullDims?: readonly number[]): AttentionLayer {
  const [tokens, queries] = [dims[dims.length - 1], dims[dims.length - 2]];
  const layer: AttentionLayer = { heads: dims.length === 3 ? dims[0] : dims[1], tokens, queries, data };
  if (fullDims) layer.pendingQueries = fullDims[fullDims.length - 2];
  return layer;
}

/** Query rows this layer holds now. */
export function queriesHeld(a: AttentionLayer): number {
  return a.queries ?? a.tokens;
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
  return Array.from(p, (prob, index) => ({ index, prob, label: labels[index] ?? t`class ${index}` }))
    .sort((a, b) => b.prob - a.prob)
    .slice(0, k);
}

/** Largest deviation of a row sum from 1 (a tap that is not a softmax over keys fails this). */
export function maxRowSumError(a: AttentionLayer): number {
  let worst = 0;
  for (let r = 0; r < a.heads * (a.queries ?? a.tokens); r++) {
    let s = 0;
    for (let j = 0; j < a.tokens; j++) s += a.data[r * a.tokens + j];
    worst = Math.max(worst, Math.abs(s - 1));
  }
  return worst;
}

export type Fusion = 'mean' | 'max' | 'min' | number;

/** Attention of one query token to every patch (prefix dropped), fused over heads or one head. */
export function attentionRow(a: AttentionLayer, query: number, fusion: Fusion, prefix: number): Float32Array {
  // A row the layer does not hold would read another head's numbers: refuse rather than draw them.
  if (query >= queriesHeld(a)) throw new Error(t`This layer holds ${queriesHeld(a)} of ${a.tokens} query rows; row ${query} is not among them.`);
  return fuseLine(a, fusion, prefix, (h, j) => a.data[(h * (a.queries ?? a.tokens) + query) * a.tokens + j]);
}

/** How much every patch (as a query) attends to one key token (prefix dropped), fused over heads or one head. */
export function attentionColumn(a: AttentionLayer, key: number, fusion: Fusion, prefix: number): Float32Array {
  if (queriesHeld(a) < a.tokens) throw new Error(t`This layer holds ${queriesHeld(a)} of ${a.tokens} query rows; a key's column needs all of them.`);
  return fuseLine(a, fusion, prefix, (h, j) => a.data[(h * a.tokens + j) * a.tokens + key]);
}

function fuseLine(a: AttentionLayer, fusion: Fusion, prefix: number, at: (head: number, j: number) => number): Float32Array {
  const n = a.tokens - prefix;
  const out = new Float32Array(n);
  if (typeof fusion === 'number') {
    for (let j = 0; j < n; j++) out[j] = at(fusion, j + prefix);
    return out;
  }
  for (let j = 0; j < n; j++) {
    let v = at(0, j + prefix);
    for (let h = 1; h < a.heads; h++) {
      const x = at(h, j + prefix);
      v = fusion === 'mean' ? v + x : fusion === 'max' ? Math.max(v, x) : Math.min(v, x);
    }
    out[j] = fusion === 'mean' ? v / a.heads : v;
  }
  return out;
}

/** Entropy (nats) of one query's attention row, per head. */
export function rowEntropyPerHead(a: AttentionLayer, query: number): number[] {
  if (query >= queriesHeld(a)) throw new Error(t`This layer holds ${queriesHeld(a)} of ${a.tokens} query rows; row ${query} is not among them.`);
  return Array.from({ length: a.heads }, (_, h) => {
    let e = 0;
    const off = (h * (a.queries ?? a.tokens) + query) * a.tokens;
    for (let j = 0; j < a.tokens; j++) {
      const p = a.data[off + j];
      if (p > 0) e -= p * Math.log(p);
    }
    return e;
  });
}

/** Indices and values of the k largest entries. */
export function topIndices(v: ArrayLike<number>, k: number): { index: number; value: number }[] {
  return Array.from(v, (value, index) => ({ index, value })).sort((a, b) => b.value - a.value).slice(0, k);
}
