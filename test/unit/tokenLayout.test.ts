/**
 * The rule before drawing: a layer's token count on the real run must equal prefix + rows × cols of its grid;
 * a layer that fails is not drawn and the caption says which layer, what was expected and what was found.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { AttentionLayer } from '../../src/shared/attentionMaps';
import { DEFAULT_VIEW } from '../../src/shared/protocol';
import { layoutMismatch, layoutMismatches } from '../../src/shared/tokenLayout';
import { computeView } from '../../src/shared/viewData';
import type { VitStructure } from '../../src/shared/vitStructure';
import { demoModel, swinModel } from '../support/fixtures';

const demo = demoModel().structure; // 1 prefix token, 14×14 grid, 6 layers, 3 heads
const uniform = (heads: number, tokens: number, queries = tokens): AttentionLayer => ({ heads, tokens, queries, data: new Float32Array(heads * queries * tokens).fill(1 / tokens) });

test('layers that fit their grid are drawn', () => {
  const layers = Array.from({ length: 6 }, () => uniform(3, 197));
  assert.deepEqual(layoutMismatches(demo, layers), []);
  assert.equal(computeView(demo, { layers }, { ...DEFAULT_VIEW, layer: 5 }).values?.length, 196);
  // CLS rows only (memory budget): one query row of 197 tokens still fits.
  assert.equal(layoutMismatch(demo, Array.from({ length: 6 }, () => uniform(3, 197, 1)), 2), undefined);
});

test('a layer one token short (a shifted map) is refused with layer, expected and found', () => {
  const layers = Array.from({ length: 6 }, (_, i) => uniform(3, i === 2 ? 196 : 197));
  assert.deepEqual(layoutMismatches(demo, layers), ['Layer 3 is not drawn: its attention has 196 tokens, but 1 prefix + 14×14 patches = 197 tokens were expected.']);
  const v = computeView(demo, { layers }, { ...DEFAULT_VIEW, layer: 2 });
  assert.equal(v.refused, true);
  assert.equal(v.values, undefined);
  assert.match(v.caption, /^Layer 3 is not drawn/);
  // Rollout through layer 5 multiplies layer 3: refused too; layer 2's own attention is fine.
  assert.match(computeView(demo, { layers }, { ...DEFAULT_VIEW, mode: 'rollout', layer: 4 }).caption, /^Layer 3 is not drawn/);
  assert.ok(computeView(demo, { layers }, { ...DEFAULT_VIEW, layer: 1 }).values);
});

test('a pooled stage (4×4 tokens) is never drawn into the 14×14 grid; a grid read from non-square token counts is refused', () => {
  const layers = [uniform(3, 197), uniform(3, 17)];
  assert.match(layoutMismatch(demo, layers, 1) ?? '', /Layer 2 is not drawn: its attention has 17 tokens, but 1 prefix \+ 14×14 patches = 197/);
  const dynamic: VitStructure = { ...demo, grid: undefined, tokens: undefined };
  assert.equal(layoutMismatch(dynamic, [uniform(3, 50)], 0), undefined, '1 + 7×7');
  assert.match(layoutMismatch(dynamic, [uniform(3, 36)], 0) ?? '', /has 36 tokens, but 1 prefix \+ 6×6 patches = 37/);
  // Heads folded into the batch wrongly: 2 maps where one was expected.
  const twice: AttentionLayer = { heads: 3, tokens: 197, queries: 197, data: new Float32Array(2 * 3 * 197 * 197) };
  assert.match(layoutMismatch(demo, [twice], 0) ?? '', /has 2 maps of 197 tokens/);
});

test('Swin: every window of the block, with the window\'s token count', () => {
  const s = swinModel().structure;
  const b = s.swin!.blocks[0];
  const T = b.window * b.window;
  const heads = b.heads ?? 1;
  const ok: AttentionLayer = { heads, tokens: T, queries: T, data: new Float32Array(b.windows * heads * T * T) };
  const layers = s.swin!.blocks.map(() => ok);
  assert.equal(layoutMismatch(s, layers, 0), undefined);
  const fewer: AttentionLayer = { ...ok, data: new Float32Array((b.windows - 1) * heads * T * T) };
  assert.match(layoutMismatch(s, [fewer], 0) ?? '', new RegExp(`Block 1 is not drawn: its attention is ${b.windows - 1} × ${heads} heads × ${T} × ${T}, but ${b.windows} windows`));
});
