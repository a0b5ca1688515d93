/**
 * Attention rollout (Abnar & Zuidema, 2020): treat each layer's attention, plus the identity for the residual
 * connection, as a token-mixing matrix and multiply them through the layers, so the CLS row says how much each
 * input patch flows into the CLS token. Head fusion and discard ratio follow vit-explain.
 */
import { type AttentionLayer, queriesHeld } from './attentionMaps';
import { t } from './l10n';

export type HeadFusion = 'mean' | 'max' | 'min' | number;

/** One layer's attention fused over heads: mean/max/min, or a single head index. Row-major [T, T]. */
export function fuseHeads(a: AttentionLayer, fusion: HeadFusion): Float32Array {
  const T = a.tokens;
  if (queriesHeld(a) < T) throw new Error(t`This layer holds ${queriesHeld(a)} of ${T} query rows; fusing its heads into a token-mixing matrix needs all of them.`);
  const nn = T * T;
  if (typeof fusion === 'number') return a.data.slice(fusion * nn, (fusion + 1) * nn);
  const out = Float32Array.from(a.data.subarray(0, nn));
  for (let h = 1; h < a.heads; h++) {
    const off = h * nn;
    for (let i = 0; i < nn; i++) {
      const v = a.data[off + i];
      if (fusion === 'mean') out[i] += v;
      else if (fusion === 'max') out[i] = Math.max(out[i], v);
      else out[i] = Math.min(out[i], v);
    }
  }
  if (fusion === 'mean') for (let i = 0; i < nn; i++) out[i] /= a.heads;
  return out;
}

/**
 * Zeroes the lowest `ratio` fraction of entries of a fused [T, T] matrix, never touching column 0 (attention
 * to the CLS token), in place. Ties at the cut are resolved by index so the count is exact.
 */
export function discardLowest(m: Float32Array, T: number, ratio: number): void {
  if (ratio <= 0) return;
  const candidates: number[] = [];
  for (let i = 0; i < m.length; i++) if (i % T !== 0) candidates.push(i);
  const k = Math.floor(candidates.length * Math.min(1, ratio));
  candidates.sort((a, b) => m[a] - m[b] || a - b);
  for (let i = 0; i < k; i++) m[candidates[i]] = 0;
}

export interface RolloutOptions {
  fusion: HeadFusion;
  /** Fraction of the lowest attention entries dropped per layer (0 to 1). */
  discardRatio: number;
  /** Last layer included (0-based); default: all. */
  upToLayer?: number;
}

/** The rollout matrix [T, T] through layers 0..upToLayer: R = Â_k ··· Â_0 with Â = rownorm((A + I) / 2). */
export function rollout(layers: AttentionLayer[], o: RolloutOptions): Float64Array {
  const T = layers[0].tokens;
  let result: Float64Array = new Float64Array(T * T);
  for (let i = 0; i < T; i++) result[i * T + i] = 1;
  const last = Math.min(layers.length - 1, o.upToLayer ?? layers.length - 1);
  for (let l = 0; l <= last; l++) {
    const a = fuseHeads(layers[l], o.fusion);
    discardLowest(a, T, o.discardRatio);
    const hat = new Float64Array(T * T);
    for (let i = 0; i < T; i++) {
      let sum = 0;
      for (let j = 0; j < T; j++) {
        const v = (a[i * T + j] + (i === j ? 1 : 0)) / 2;
        hat[i * T + j] = v;
        sum += v;
      }
      for (let j = 0; j < T; j++) hat[i * T + j] /= sum;
    }
    result = matmul(hat, result, T);
  }
  return result;
}

function matmul(a: Float64Array, b: Float64Array, T: number): Float64Array {
  const out = new Float64Array(T * T);
  for (let i = 0; i < T; i++) {
    for (let k = 0; k < T; k++) {
      const v = a[i * T + k];
      if (v === 0) continue;
      const bo = k * T;
      const oo = i * T;
      for (let j = 0; j < T; j++) out[oo + j] += v * b[bo + j];
    }
  }
  return out;
}

/**
 * One row of the rollout, e_iᵀ Â_k ··· Â_0, as a row vector pushed through the layers from the last to the
 * first: O(L·T²) instead of the full product's O(L·T³), so it stays interactive at thousands of tokens.
 */
export function rolloutRow(layers: AttentionLayer[], row: number, o: RolloutOptions): Float64Array {
  const T = layers[0].tokens;
  let v = new Float64Array(T);
  v[row] = 1;
  const last = Math.min(layers.length - 1, o.upToLayer ?? layers.length - 1);
  for (let l = last; l >= 0; l--) {
    const a = fuseHeads(layers[l], o.fusion);
    discardLowest(a, T, o.discardRatio);
    const next = new Float64Array(T);
    for (let i = 0; i < T; i++) {
      if (v[i] === 0) continue;
      let sum = 0;
      for (let j = 0; j < T; j++) sum += (a[i * T + j] + (i === j ? 1 : 0)) / 2;
      const w = v[i] / sum;
      for (let j = 0; j < T; j++) next[j] += w * ((a[i * T + j] + (i === j ? 1 : 0)) / 2);
    }
    v = next;
  }
  return v;
}
