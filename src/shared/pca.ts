/**
 * PCA of token features to RGB (as DINO visualizes patch features): the top principal components of the
 * centred N×D token matrix, by power iteration with deflation on the D×D covariance.
 */

export interface PcaResult {
  /** components[k] is a unit vector of length D. */
  components: Float64Array[];
  /** Variance along each component. */
  variances: number[];
  /** Projections [N, k]. */
  projections: Float64Array;
}

export function pca(features: ArrayLike<number>, n: number, d: number, k = 3, iterations = 200): PcaResult {
  const mean = new Float64Array(d);
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) mean[j] += features[i * d + j] / n;
  const cov = new Float64Array(d * d);
  const row = new Float64Array(d);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < d; j++) row[j] = features[i * d + j] - mean[j];
    for (let a = 0; a < d; a++) {
      const ra = row[a];
      if (ra === 0) continue;
      for (let b = a; b < d; b++) cov[a * d + b] += ra * row[b];
    }
  }
  for (let a = 0; a < d; a++) for (let b = a; b < d; b++) cov[b * d + a] = cov[a * d + b] /= Math.max(1, n - 1);
  const components: Float64Array[] = [];
  const variances: number[] = [];
  for (let c = 0; c < Math.min(k, d); c++) {
    let v = new Float64Array(d).map((_, i) => 1 / Math.sqrt(d) + (i % 7) * 1e-3);
    let lambda = 0;
    for (let it = 0; it < iterations; it++) {
      const w = new Float64Array(d);
      for (let a = 0; a < d; a++) {
        let s = 0;
        for (let b = 0; b < d; b++) s += cov[a * d + b] * v[b];
        w[a] = s;
      }
      const norm = Math.hypot(...w);
      if (norm === 0) break;
      for (let a = 0; a < d; a++) w[a] /= norm;
      lambda = norm;
      v = w;
    }
    // Sign convention: the largest-magnitude loading is positive, so colours are stable between runs.
    let big = 0;
    for (let a = 1; a < d; a++) if (Math.abs(v[a]) > Math.abs(v[big])) big = a;
    if (v[big] < 0) v = v.map((x) => -x);
    components.push(v);
    variances.push(lambda);
    for (let a = 0; a < d; a++) for (let b = 0; b < d; b++) cov[a * d + b] -= lambda * v[a] * v[b];
  }
  const projections = new Float64Array(n * components.length);
  for (let i = 0; i < n; i++) {
    components.forEach((v, c) => {
      let s = 0;
      for (let j = 0; j < d; j++) s += (features[i * d + j] - mean[j]) * v[j];
      projections[i * components.length + c] = s;
    });
  }
  return { components, variances, projections };
}

/** Projections on three components → RGB bytes, each channel min-max scaled over the tokens. */
export function projectionsToRgb(p: Float64Array, n: number): Uint8ClampedArray {
  const out = new Uint8ClampedArray(n * 3);
  for (let c = 0; c < 3; c++) {
    let lo = Infinity;
    let hi = -Infinity;
    for (let i = 0; i < n; i++) {
      lo = Math.min(lo, p[i * 3 + c]);
      hi = Math.max(hi, p[i * 3 + c]);
    }
    for (let i = 0; i < n; i++) out[i * 3 + c] = hi > lo ? ((p[i * 3 + c] - lo) / (hi - lo)) * 255 : 128;
  }
  return out;
}
