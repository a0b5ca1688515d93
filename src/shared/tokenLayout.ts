/**
 * The rule before any map is drawn: a tapped attention's token count, read from the real run's shapes, must equal
 * prefix tokens + rows × cols of the grid it is drawn on (a Swin block: one window's tokens, for every window).
 * A map shifted by one token looks as convincing as a right one, so a layer that fails is not drawn, and the
 * panel and the CLI say which layer, what was expected and what was found.
 *
 * Design: why a count and not a probe. Changing one patch and watching which token rows change at the first attention
 * would map tokens to patches for any export, but it costs a second forward pass per model and reads a soft signal
 * (the softmax spreads one changed key over every row), while the token count is exact and free on every run. What a
 * count cannot see, a sequence of the right length whose patches do not come right after the prefix, is excluded
 * when the graph is read: learned tokens concatenated after the running sequence are not prefix tokens
 * (vitStructure.countLearnedTokens), so such layers fail the count (test/fixtures/token-order). Each family's reading
 * is also compared with PyTorch in its own fixture (test/support/exportFamilies.ts).
 */
import type { AttentionLayer } from './attentionMaps';
import { t } from './l10n';
import type { VitStructure } from './vitStructure';

/** Prefix tokens of one layer: the model's, or more where learned tokens join later (CaiT's class attention). */
export function layerPrefix(s: VitStructure, layer: number): number {
  return s.attention[layer]?.prefixTokens ?? s.prefixTokens;
}

/** The model's patch grid, or (no static grid) the square that `tokens` after `prefix` make. */
export function patchGrid(s: VitStructure, tokens: number, prefix: number): { rows: number; cols: number } {
  if (s.grid) return s.grid;
  const n = Math.round(Math.sqrt(Math.max(0, tokens - prefix)));
  return { rows: n, cols: n };
}

/** What a map over `g` needs, in words: `prefix prefix + R×C patches = N tokens`. */
export function expectedTokens(prefix: number, g: { rows: number; cols: number }): string {
  return t`${prefix} prefix + ${g.rows}×${g.cols} patches = ${prefix + g.rows * g.cols} tokens`;
}

/** The patch grid a layer is drawn on: the model's, a Swin block's stage grid, or (no static grid) the square its tokens make. */
export function layerGrid(s: VitStructure, layers: AttentionLayer[], layer: number): { rows: number; cols: number } {
  const block = s.swin?.blocks[layer];
  if (block) return { rows: block.grid, cols: block.grid };
  return patchGrid(s, layers[layer].tokens, layerPrefix(s, layer));
}

/** Why `layer` cannot be drawn on its grid (expected and found), or undefined when its shape fits. */
export function layoutMismatch(s: VitStructure, layers: AttentionLayer[], layer: number): string | undefined {
  const l = layers[layer];
  const name = s.swin ? t`Block ${layer + 1}` : t`Layer ${layer + 1}`;
  if (!l) return t`${name} has no attention in this run (${layers.length} layers came back).`;
  const queries = l.queries ?? l.tokens;
  const batch = l.data.length / (l.heads * queries * l.tokens);
  const block = s.swin?.blocks[layer];
  if (block) {
    const perWindow = block.window * block.window;
    if (l.tokens !== perWindow || queries !== perWindow || batch !== block.windows) {
      return t`${name} is not drawn: its attention is ${batch} × ${l.heads} heads × ${queries} × ${l.tokens}, but ${block.windows} windows of ${block.window}×${block.window} = ${perWindow} tokens were expected on its ${block.grid}×${block.grid} grid.`;
    }
    return undefined;
  }
  const g = layerGrid(s, layers, layer);
  const prefix = layerPrefix(s, layer);
  const expected = prefix + g.rows * g.cols;
  if (l.tokens !== expected || batch !== 1) {
    const what = batch !== 1 ? t`${batch} maps of ${l.tokens} tokens` : t`${l.tokens} tokens`;
    return t`${name} is not drawn: its attention has ${what}, but ${expectedTokens(prefix, g)} were expected.`;
  }
  return undefined;
}

/** Every layer's mismatch, for the panel's notice and the CLI (empty when all fit). */
export function layoutMismatches(s: VitStructure, layers: AttentionLayer[]): string[] {
  return layers.flatMap((_, i) => layoutMismatch(s, layers, i) ?? []);
}
