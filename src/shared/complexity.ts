/**
 * Cost of self-attention, as in the Swin paper (Liu et al., 2021, eq. 1–2), in multiply-accumulates per layer
 * for N tokens of width C: global MSA 4NC² + 2N²C (Q, K, V and output projections; QKᵀ and A·V), windowed
 * W-MSA 4NC² + 2M²NC. Doubling the resolution quadruples N, so the N² term grows 16×.
 */

export function msaMacs(tokens: number, width: number): number {
  return 4 * tokens * width * width + 2 * tokens * tokens * width;
}

export function wmsaMacs(tokens: number, width: number, window: number): number {
  return 4 * tokens * width * width + 2 * window * window * tokens * width;
}

/** Bytes of one layer's attention probabilities (float32). */
export function attentionMatrixBytes(tokens: number, heads: number, keys = tokens): number {
  return heads * tokens * keys * 4;
}

export interface CostPoint { resolution: number; tokens: number; global: number; windowed: number }

/**
 * Per-layer attention cost over input resolutions for a model of patch size P and width C (prefix tokens
 * added to N for global attention), compared with M×M windows at the same token grid.
 */
export function costCurve(resolutions: number[], patch: number, width: number, prefix: number, window: number): CostPoint[] {
  return resolutions.map((resolution) => {
    const n = Math.floor(resolution / patch) ** 2;
    return { resolution, tokens: n + prefix, global: msaMacs(n + prefix, width), windowed: wmsaMacs(n, width, window) };
  });
}
