/** Rollout, head fusion, discard and mass threshold on small hand-worked matrices. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { discardLowest, fuseHeads, rollout, rolloutRow } from '../../src/shared/rollout';
import { massThresholdMask } from '../../src/shared/massThreshold';

const close = (a: ArrayLike<number>, b: number[], eps = 1e-9) => {
  assert.equal(a.length, b.length);
  for (let i = 0; i < b.length; i++) assert.ok(Math.abs(a[i] - b[i]) < eps, `[${i}] ${a[i]} ≠ ${b[i]}`);
};

// Two heads over 2 tokens.
const layer = { heads: 2, tokens: 2, data: Float32Array.from([0.5, 0.5, 0.2, 0.8, /**/ 0.9, 0.1, 0.4, 0.6]) };

test('head fusion: mean, max, min, single head', () => {
  close(fuseHeads(layer, 'mean'), [0.7, 0.3, 0.3, 0.7], 1e-6);
  close(fuseHeads(layer, 'max'), [0.9, 0.5, 0.4, 0.8], 1e-6);
  close(fuseHeads(layer, 'min'), [0.5, 0.1, 0.2, 0.6], 1e-6);
  close(fuseHeads(layer, 1), [0.9, 0.1, 0.4, 0.6], 1e-6);
});

test('rollout of one layer is rownorm((A + I) / 2)', () => {
  // mean A = [[.7,.3],[.3,.7]] → (A+I)/2 = [[.85,.15],[.15,.85]] (rows already sum to 1).
  close(rollout([layer], { fusion: 'mean', discardRatio: 0 }), [0.85, 0.15, 0.15, 0.85], 1e-6);
});

test('rollout of two layers multiplies later layers on the left', () => {
  // Â1 = [[.85,.15],[.15,.85]] (mean); Â2 (head 1 only) = (B+I)/2 with B = [[.9,.1],[.4,.6]] → [[.95,.05],[.2,.8]].
  const second = { heads: 1, tokens: 2, data: Float32Array.from([0.9, 0.1, 0.4, 0.6]) };
  const r = rollout([layer, second], { fusion: 'mean', discardRatio: 0 });
  // [[.95,.05],[.2,.8]] · [[.85,.15],[.15,.85]] = [[.815,.185],[.29,.71]]
  close(r, [0.815, 0.185, 0.29, 0.71], 1e-6);
  close(rollout([layer, second], { fusion: 'mean', discardRatio: 0, upToLayer: 0 }), [0.85, 0.15, 0.15, 0.85], 1e-6);
  close(r.subarray(1, 2), [0.185], 1e-6); // CLS row, patch column
});

test('discard drops the lowest entries but never the CLS column', () => {
  const m = Float32Array.from([0.05, 0.5, 0.45, /**/ 0.01, 0.9, 0.09, /**/ 0.2, 0.3, 0.5]);
  discardLowest(m, 3, 0.5); // 6 candidates outside column 0 → the 3 smallest (0.09, 0.3, 0.45) go
  close(m, [0.05, 0.5, 0, 0.01, 0.9, 0, 0.2, 0, 0.5], 1e-7);
});

test('mass threshold keeps the smallest set holding the mass', () => {
  assert.deepEqual(Array.from(massThresholdMask([0.1, 0.6, 0.3], 0.6)), [0, 1, 0]);
  assert.deepEqual(Array.from(massThresholdMask([0.1, 0.6, 0.3], 0.61)), [0, 1, 1]);
  assert.deepEqual(Array.from(massThresholdMask([1, 2, 3, 4], 0.9)), [0, 1, 1, 1]); // 9/10 of the mass
  assert.deepEqual(Array.from(massThresholdMask([0, 0], 0.5)), [0, 0]);
});

test('a single rollout row equals that row of the full product, with discard and a chosen depth', () => {
  const T = 5;
  const mk = (seed: number) => {
    const data = new Float32Array(2 * T * T);
    let x = seed;
    for (let i = 0; i < data.length; i++) data[i] = ((x = (x * 16807) % 2147483647) % 1000) / 1000 + 0.01;
    for (let r = 0; r < 2 * T; r++) {
      let s = 0;
      for (let j = 0; j < T; j++) s += data[r * T + j];
      for (let j = 0; j < T; j++) data[r * T + j] /= s;
    }
    return { heads: 2, tokens: T, data };
  };
  const layers = [mk(1), mk(2), mk(3)];
  for (const o of [{ fusion: 'mean' as const, discardRatio: 0 }, { fusion: 'max' as const, discardRatio: 0.4, upToLayer: 1 }, { fusion: 1, discardRatio: 0.2 }]) {
    const full = rollout(layers, o);
    for (const row of [0, 3]) close(rolloutRow(layers, row, o), Array.from(full.subarray(row * T, row * T + T)), 1e-9);
  }
});
