/**
 * PCA of token features to RGB (as DINO visualizes patch features): the top principal components of the
 * centred N×D matrix, by power iteration with deflation on the D×D covariance (or, with fewer rows than
 * columns, on the N×N Gram matrix).
 */

export interface PcaResult {
  /** components[k] is a unit vector of length D. */
  components: Float64Array[];
  /** Variance along each component. */
  variances: number[];
  /** Projections [N, k]. */
  projections: Float64Array;
}

/** The top `k` eigenpairs of a symmetric m×m matrix by power iteration with deflation (modifies `mat`). */
function topEigen(mat: Float64Array, m: number, k: number, iterations: number): { vectors: Float64Array[]; values: number[] } {
  const vectors: Float64Array[] = [];
  const values: number[] = [];
  for (let c = 0; c < Math.min(k, m); c++) {
    let v = new Float64Array(m).map((_, i) => 1 / Math.sqrt(m) + (i % 7) * 1e-3);
    let lambda = 0;
    for (let it = 0; it < iterations; it++) {
      const w = new Float64Array(m);
      for (let a = 0; a < m; a++) {
        let s = 0;
        for (let b = 0; b < m; b++) s += mat[a * m + b] * v[b];
        w[a] = s;
      }
      let norm = 0;
      for (let a = 0; a < m; a++) norm += w[a] * w[a];
      norm = Math.sqrt(norm);
      if (norm === 0) break;
      for (let a = 0; a < m; a++) w[a] /= norm;
      lambda = norm;
      v = w;
    }
    vectors.push(v);
    values.push(lambda);
    for (let a = 0; a < m; a++) for (let b = 0; b < m; b++) mat[a * m + b] -= lambda * v[a] * v[b];
  }
  return { vectors, values };
}

export function pca(features: ArrayLike<number>, n: number, d: number, k = 3, iterations = 200): PcaResult {
  const mean = new Float64Array(d);
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) mean[j] += features[i * d + j] / n;
  const x = new Float64Array(n * d);
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) x[i * d + j] = features[i * d + j] - mean[j];
  const scale = 1 / Math.max(1, n - 1);
  let components: Float64Array[];
  let variances: number[];
  if (n < d) {
    // Fewer samples than dimensions (96 patch filters of 768 values): the n×n Gram matrix X·Xᵀ has the same
    // non-zero eigenvalues as the covariance, and v = Xᵀu/‖Xᵀu‖ maps its eigenvectors to the covariance's.
    const gram = new Float64Array(n * n);
    for (let a = 0; a < n; a++) {
      for (let b = a; b < n; b++) {
        let s = 0;
        for (let j = 0; j < d; j++) s += x[a * d + j] * x[b * d + j];
        gram[a * n + b] = gram[b * n + a] = s * scale;
      }
    }
    const e = topEigen(gram, n, Math.min(k, d), iterations);
    variances = e.values;
    components = e.vectors.map((u) => {
      const v = new Float64Array(d);
      for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) v[j] += u[i] * x[i * d + j];
      let norm = 0;
      for (let j = 0; j < d; j++) norm += v[j] * v[j];
      norm = Math.sqrt(norm) || 1;
      return v.map((t) => t / norm);
    });
  } else {
    const cov = new Float64Array(d * d);
    for (let i = 0; i < n; i++) {
      const row = x.subarray(i * d, (i + 1) * d);
      for (let a = 0; a < d; a++) {
        const ra = row[a];
        if (ra === 0) continue;
        for (let b = a; b < d; b++) cov[a * d + b] += ra * row[b];
      }
    }
    for (let a = 0; a < d; a++) for (let b = a; b < d; b++) cov[b * d + a] = cov[a * d + b] *= scale;
    const e = topEigen(cov, d, k, iterations);
    components = e.vectors;
    variances = e.values;
  }
  // Sign convention: the largest-magnitude loading is positive, so colours are stable between runs.
  components = components.map((v) => {
    let big = 0;
    for (let a = 1; a < d; a++) if (Math.abs(v[a]) > Math.abs(v[big])) big = a;
    return v[big] < 0 ? v.map((t) => -t) : v;
  });
  const projections = new Float64Array(n * components.length);
  for (let i = 0; i < n; i++) {
    components.forEach((v, c) => {
      let s = 0;
      for (let j = 0; j < d; j++) s += x[i * d + j] * v[j];
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
