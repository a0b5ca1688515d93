/** Attention cost against values worked out by hand (see the comments for each product). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { attentionMatrixBytes, costCurve, msaMacs, wmsaMacs } from '../../src/shared/complexity';

test('ViT-B/16: one layer at 224 and 384 pixels', () => {
  // 224: N = 14² + 1 = 197, C = 768. 4·197·768² = 464 781 312; 2·197²·768 = 59 610 624.
  assert.equal(msaMacs(197, 768), 524_391_936);
  // 384: N = 24² + 1 = 577. 4·577·768² = 1 361 313 792; 2·577²·768 = 511 378 944.
  assert.equal(msaMacs(577, 768), 1_872_692_736);
  // 12 heads × 197² × 4 bytes = 1 862 832 bytes of attention per layer at 224.
  assert.equal(attentionMatrixBytes(197, 12), 1_862_832);
});

test('Swin-T stage 1 at 224: windowed vs global attention', () => {
  // N = 56² = 3136, C = 96, M = 7. 4·3136·96² = 115 605 504; 2·7²·3136·96 = 29 503 488.
  assert.equal(wmsaMacs(3136, 96, 7), 145_108_992);
  // Global attention over the same tokens: + 2·3136²·96 = 1 888 223 232 instead.
  assert.equal(msaMacs(3136, 96), 115_605_504 + 1_888_223_232);
});

test('doubling the resolution multiplies the quadratic term by 16', () => {
  const [a, b] = costCurve([224, 448], 16, 768, 0, 7);
  assert.equal(b.tokens, 4 * a.tokens);
  const quad = (p: { tokens: number; global: number }) => p.global - 4 * p.tokens * 768 * 768;
  assert.equal(quad(b) / quad(a), 16);
  assert.equal((b.windowed - 4 * b.tokens * 768 * 768) / (a.windowed - 4 * a.tokens * 768 * 768), 4);
});
