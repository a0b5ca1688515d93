import { test } from 'node:test';
import assert from 'node:assert/strict';
import { meanAttentionDistance, positionEmbeddingSimilarity } from '../../src/shared/locality';

test('mean attention distance: self-attention is 0, attending to a neighbour is one patch away', () => {
  // 1×2 grid, 1 prefix token, 2 heads, 3 tokens. Head 0: each patch attends only to itself.
  // Head 1: each patch attends half to CLS (dropped) and half to the other patch.
  const T = 3;
  const data = Float32Array.from([
    1, 0, 0, /**/ 0, 1, 0, /**/ 0, 0, 1,
    1, 0, 0, /**/ 0.5, 0, 0.5, /**/ 0.5, 0.5, 0,
  ]);
  const d = meanAttentionDistance({ heads: 2, tokens: T, data }, { rows: 1, cols: 2 }, 1, 16);
  assert.deepEqual(d, [0, 16]);
});

test('mean attention distance uses Euclidean distance between patch centres', () => {
  // 2×2 grid, no prefix, one head: every query attends uniformly to all four patches.
  const data = new Float32Array(16).fill(0.25);
  const [d] = meanAttentionDistance({ heads: 1, tokens: 4, data }, { rows: 2, cols: 2 }, 0, 10);
  // From any corner: distances 0, 1, 1, √2 → mean (2 + √2) / 4 patches.
  assert.ok(Math.abs(d - ((2 + Math.SQRT2) / 4) * 10) < 1e-9);
});

test('position embedding similarity is cosine similarity, prefix dropped', () => {
  const pos = [9, 9, /* CLS */ 1, 0, /* p0 */ 0, 2, /* p1 */ 3, 3 /* p2 */];
  const s = positionEmbeddingSimilarity(pos, 4, 2, 1);
  const close = (a: number, b: number) => assert.ok(Math.abs(a - b) < 1e-6, `${a} vs ${b}`);
  close(s[0], 1);
  close(s[1], 0);
  close(s[2], Math.SQRT1_2);
  close(s[5], Math.SQRT1_2);
  close(s[3], 0);
});
