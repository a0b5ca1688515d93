/**
 * A MAP head's probe (SigLIP: one learned query attends over all final tokens, then an MLP): its attention is
 * what the classifier reads. Read from the run's output, checked against the token layout (the rule of
 * tokenLayout.ts: prefix + rows × cols, else refused with expected and found), and summarized in words.
 * Pure, so the Node tests check exactly what the card draws.
 */
import { t } from './l10n';
import { expectedTokens, patchGrid } from './tokenLayout';
import type { VitStructure } from './vitStructure';

export interface MapProbe {
  /** Heads as they came back: the probe's heads, or 1 when the export averaged them. */
  heads: number;
  tokens: number;
  /** [heads, tokens], the one image's probe attention. */
  data: Float32Array;
  /** The output's shape as the run returned it (for the refusal message). */
  dims: number[];
}

/**
 * nn.MultiheadAttention exports the probe as [batch × heads, 1, tokens], or [batch, 1, tokens] when it averages
 * the heads (others as [batch, heads, 1, tokens]); a run holds one image, so every row before the last axis is a head.
 */
export function mapProbeOf(dims: readonly number[], data: Float32Array): MapProbe | undefined {
  const tokens = dims[dims.length - 1];
  if (!tokens || dims.length < 2 || data.length % tokens !== 0) return undefined;
  return { heads: data.length / tokens, tokens, data, dims: [...dims] };
}

/** The grid the probe is drawn on: the model's patch grid, else the square the patch tokens make. */
export function mapProbeGrid(s: VitStructure, p: MapProbe): { rows: number; cols: number } {
  return patchGrid(s, p.tokens, s.prefixTokens);
}

/** Why the probe cannot be drawn (expected and found), or undefined when it fits the token layout. */
export function mapProbeMismatch(s: VitStructure, p: MapProbe): string | undefined {
  const g = mapProbeGrid(s, p);
  const expected = s.prefixTokens + g.rows * g.cols;
  const queries = p.dims.length >= 2 ? p.dims[p.dims.length - 2] : 1;
  const heads = s.mapProbe?.heads;
  // One query per head: a probe with more rows is not the one-query pooling this view explains.
  if (queries !== 1) return t`The probe's attention is not drawn: it has ${queries} queries (shape ${p.dims.join('×')}), but one learned query was expected.`;
  if (p.tokens !== expected) return t`The probe's attention is not drawn: it has ${p.tokens} tokens, but ${expectedTokens(s.prefixTokens, g)} were expected.`;
  if (heads && p.heads !== heads && p.heads !== 1) return t`The probe's attention is not drawn: it has ${p.heads} maps (shape ${p.dims.join('×')}), but ${heads} heads (or 1 averaged) were expected.`;
  return undefined;
}

export interface MapProbeMaps {
  grid: { rows: number; cols: number };
  /** Per head, the attention on each patch (prefix tokens left out). */
  heads: Float32Array[];
  /** Mean over heads, on each patch. */
  mean: Float32Array;
  /** Mean over heads, on every token (prefix included): sums to 1. */
  meanTokens: Float32Array;
}

export function mapProbeMaps(s: VitStructure, p: MapProbe): MapProbeMaps {
  const grid = mapProbeGrid(s, p);
  const T = p.tokens;
  const meanTokens = new Float32Array(T);
  const heads = Array.from({ length: p.heads }, (_, h) => {
    const row = p.data.subarray(h * T, (h + 1) * T);
    for (let t = 0; t < T; t++) meanTokens[t] += row[t] / p.heads;
    return row.slice(s.prefixTokens);
  });
  return { grid, heads, mean: meanTokens.slice(s.prefixTokens), meanTokens };
}

/** The share of the (mean) probe attention on the k hottest patches, and on the prefix tokens. */
export function mapProbeShares(s: VitStructure, maps: MapProbeMaps, k = 5): { k: number; top: number; prefix: number; total: number } {
  const total = maps.meanTokens.reduce((a, b) => a + b, 0) || 1;
  const hot = Array.from(maps.mean).sort((a, b) => b - a).slice(0, k);
  const prefix = maps.meanTokens.subarray(0, s.prefixTokens).reduce((a, b) => a + b, 0);
  return { k: hot.length, top: hot.reduce((a, b) => a + b, 0) / total, prefix: prefix / total, total };
}

export function mapProbeText(s: VitStructure, p: MapProbe, maps: MapProbeMaps): string {
  const sh = mapProbeShares(s, maps);
  const patches = maps.grid.rows * maps.grid.cols;
  const pct = (x: number) => `${(x * 100).toFixed(1)}%`;
  const heads = p.heads > 1 ? t`mean over its ${p.heads} heads` : s.mapProbe?.heads && s.mapProbe.heads > 1 ? t`its ${s.mapProbe.heads} heads averaged by the export` : t('one head');
  const prefix = !s.prefixTokens ? '' : s.prefixTokens === 1 ? t`, and ${pct(sh.prefix)} on the ${s.prefixTokens} prefix token` : t`, and ${pct(sh.prefix)} on the ${s.prefixTokens} prefix tokens`;
  return t`The classifier reads one learned query's attention over the ${p.tokens} tokens: ${pct(sh.top)} of it (${heads}) on the ${sh.k} hottest patches of ${patches}, where uniform attention would put ${pct(sh.k / p.tokens)}${prefix}. The query is a learned constant, the same for every image: only the keys change with the image, so this map is where the pooled feature the MLP and classifier see comes from.`;
}
