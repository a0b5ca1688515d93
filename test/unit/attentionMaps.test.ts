import { test } from 'node:test';
import assert from 'node:assert/strict';
import { maxRowSumError, attentionRow, topK } from '../../src/shared/attentionMaps';
import { sourceCrop, toInputTensor } from '../../src/shared/preprocess';

// 2 heads, 3 tokens (1 prefix + 2 patches), hand-written rows.
const layer = {
  heads: 2,
  tokens: 3,
  data: Float32Array.from([
    0.2, 0.3, 0.5, /**/ 0.1, 0.8, 0.1, /**/ 0.3, 0.3, 0.4,
    0.6, 0.4, 0.0, /**/ 0.2, 0.2, 0.6, /**/ 0.5, 0.25, 0.25,
  ]),
};

test('CLS attention to patches for one head and the mean of heads', () => {
  assert.deepEqual(Array.from(attentionRow(layer, 0, 0, 1)).map((v) => +v.toFixed(6)), [0.3, 0.5]);
  assert.deepEqual(Array.from(attentionRow(layer, 0, 1, 1)).map((v) => +v.toFixed(6)), [0.4, 0]);
  assert.deepEqual(Array.from(attentionRow(layer, 0, 'mean', 1)).map((v) => +v.toFixed(6)), [0.35, 0.25]);
});

test('row sums of a softmax are 1', () => {
  assert.ok(maxRowSumError(layer) < 1e-6);
  assert.ok(maxRowSumError({ ...layer, data: layer.data.map((v) => v * 2) }) > 0.9);
});

test('top-k is softmax of logits, sorted', () => {
  const top = topK([1, 3, 2], ['a', 'b', 'c'], 2);
  assert.deepEqual(top.map((t) => t.label), ['b', 'c']);
  const e = [Math.exp(1), Math.exp(3), Math.exp(2)];
  assert.ok(Math.abs(top[0].prob - e[1] / (e[0] + e[1] + e[2])) < 1e-12);
});

test('shorter-side resize + center crop takes the central square', () => {
  const p = { size: 224, resize: 'shorter-side' as const, crop: 'center' as const, mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5], scale: 255 };
  assert.deepEqual(sourceCrop(640, 480, p), { x: 80, y: 0, width: 480, height: 480 });
  assert.deepEqual(sourceCrop(300, 500, { ...p, resize: 'squash', crop: 'none' }), { x: 0, y: 0, width: 300, height: 500 });
  const t = toInputTensor(Uint8Array.from([255, 0, 51, 255]), p);
  assert.deepEqual(Array.from(t).map((v) => +v.toFixed(4)), [1, -1, -0.6]);
});
