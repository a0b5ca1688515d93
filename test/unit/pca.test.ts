import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pca, projectionsToRgb } from '../../src/shared/pca';

test('PCA finds the axes of a stretched point cloud with their variances', () => {
  // Points along x (spread ±3), y (±1), z (0): principal axes are x then y.
  const pts: number[] = [];
  for (const x of [-3, 3]) for (const y of [-1, 1]) pts.push(x + 10, y - 5, 7);
  const r = pca(pts, 4, 3, 2);
  assert.ok(Math.abs(Math.abs(r.components[0][0]) - 1) < 1e-6, `first axis ${Array.from(r.components[0])}`);
  assert.ok(Math.abs(Math.abs(r.components[1][1]) - 1) < 1e-6, `second axis ${Array.from(r.components[1])}`);
  // Sample variance: x values ±3 → 4·9/3 = 12; y ±1 → 4/3.
  assert.ok(Math.abs(r.variances[0] - 12) < 1e-6);
  assert.ok(Math.abs(r.variances[1] - 4 / 3) < 1e-6);
  // Projections are centred coordinates along the axes (sign fixed: largest loading positive).
  assert.deepEqual(Array.from(r.projections).map((v) => Math.round(v)), [-3, -1, -3, 1, 3, -1, 3, 1]);
});

test('projections map to RGB by min-max per channel', () => {
  const rgb = projectionsToRgb(Float64Array.from([0, 1, 2, 10, 1, 2]), 2);
  assert.deepEqual(Array.from(rgb), [0, 128, 128, 255, 128, 128]);
});

test('with fewer samples than dimensions the Gram-matrix path finds the covariance path\'s components', () => {
  // 6 samples in 12 dimensions with a clear spectrum; the same samples repeated 3× (18 ≥ 12) take the covariance
  // path and have the same principal axes, with sample variances scaled by r(n−1)/(rn−1).
  const n = 6, d = 12, r = 3;
  const data: number[] = [];
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) data.push(5 * Math.cos(i) * (j === 0 ? 1 : 0) + 2 * Math.sin(2 * i) * (j === 3 ? 1 : 0) + 0.5 * Math.cos(3 * i + 1) * (j === 7 ? 1 : 0) + 0.01 * Math.sin(i * 7 + j));
  const small = pca(data, n, d, 3, 500);
  const big = pca(Array.from({ length: r }, () => data).flat(), r * n, d, 3, 500);
  for (let c = 0; c < 3; c++) {
    const dot = small.components[c].reduce((sum, v, j) => sum + v * big.components[c][j], 0);
    assert.ok(Math.abs(dot - 1) < 1e-6, `component ${c}: cos = ${dot}`);
    const want = (big.variances[c] * (r * n - 1)) / (r * (n - 1));
    assert.ok(Math.abs(small.variances[c] - want) < 1e-6 * want, `variance ${c}: ${small.variances[c]} vs ${want}`);
  }
});
