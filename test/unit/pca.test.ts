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
