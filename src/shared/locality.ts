/**
 * What a ViT learns instead of a convolution's built-in locality: the mean distance (in pixels) over which
 * each head attends (ViT paper, Fig. 7 right), and how similar the learned position embeddings of the patches
 * are to each other (Fig. 7 centre).
 */
import type { AttentionLayer } from './attentionMaps';

/**
 * Mean attention distance per head: for every patch query, Σ_j a_ij · ‖p_i − p_j‖ over patch keys (pixel
 * distance between patch centres), averaged over queries. Attention to prefix tokens (which have no position)
 * is left out and the remaining mass renormalized.
 */
export function meanAttentionDistance(a: AttentionLayer, grid: { rows: number; cols: number }, prefix: number, patchSize: number): number[] {
  const n = grid.rows * grid.cols;
  const out: number[] = [];
  for (let h = 0; h < a.heads; h++) {
    let total = 0;
    for (let q = 0; q < n; q++) {
      const qr = Math.floor(q / grid.cols), qc = q % grid.cols;
      const off = (h * a.tokens + prefix + q) * a.tokens + prefix;
      let mass = 0, dist = 0;
      for (let k = 0; k < n; k++) {
        const w = a.data[off + k];
        mass += w;
        dist += w * Math.hypot(Math.floor(k / grid.cols) - qr, (k % grid.cols) - qc);
      }
      total += mass > 0 ? (dist / mass) * patchSize : 0;
    }
    out.push(total / n);
  }
  return out;
}

/** Cosine similarity of every patch's position embedding with every other's: [N, N], rows = patches. */
export function positionEmbeddingSimilarity(pos: ArrayLike<number>, tokens: number, width: number, prefix: number): Float32Array {
  const n = tokens - prefix;
  const norms = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let d = 0; d < width; d++) s += pos[(prefix + i) * width + d] ** 2;
    norms[i] = Math.sqrt(s) || 1;
  }
  const out = new Float32Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = i; j < n; j++) {
      let s = 0;
      for (let d = 0; d < width; d++) s += pos[(prefix + i) * width + d] * pos[(prefix + j) * width + d];
      out[i * n + j] = out[j * n + i] = s / (norms[i] * norms[j]);
    }
  }
  return out;
}
