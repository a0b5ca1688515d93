/**
 * The numbers behind every view of the panel, from the run's attention and features and the view state.
 * Pure, so the export, the sidebar and the tests see exactly what is drawn.
 */
import { AttentionLayer, attentionColumn, attentionLayerOf, attentionRow, Fusion } from './attentionMaps';
import { t } from './l10n';
import { MapProbe, mapProbeOf } from './mapProbe';
import { massThresholdMask } from './massThreshold';
import { pca, projectionsToRgb } from './pca';
import type { ModelPayload, ViewState } from './protocol';
import { rolloutRow } from './rollout';
import { expectedTokens, layerGrid, layoutMismatch } from './tokenLayout';
import type { VitStructure } from './vitStructure';
import { patchWindowAttention, windowEntropy } from './windowPartition';

export interface RunData {
  layers: AttentionLayer[];
  /** Final token features [tokens, width], when the model exposes them. */
  features?: { tokens: number; width: number; data: Float32Array };
  /** Under the memory budget (CLS rows only): token 0's rollout row per layer, mean over heads, from the graph. */
  rollout?: Float32Array[];
  /** Under the memory budget: each head's mean attention distance per layer (pixels), from the graph. */
  headDistance?: number[][];
  /** DeiT: the CLS head's and the distillation head's logits. */
  distillation?: { cls: Float32Array; dist: Float32Array };
  /** Per block, from the graph: each token's L2 norm of the block's output, with the output's shape (checked before drawing). */
  tokenNorms?: { dims: number[]; data: Float32Array; shape: number[] }[];
  /** MAP head: the learned probe's attention, [heads, tokens] for the one image (heads = 1 when the export averaged them). */
  mapProbe?: MapProbe;
}

/**
 * A run's outputs, looked up by name, as the views read them: attention layers, final features and what the
 * graph computed under the memory budget (rollout, head distances), DeiT's two heads. Shared by the webview
 * and the Node runner so both read outputs the same way.
 */
export function runDataOf(m: Pick<ModelPayload, 'attentionOutputs' | 'featureOutput' | 'rolloutOutputs' | 'distanceOutputs' | 'tokenNormOutputs' | 'residualShapeOutputs' | 'mapProbeOutput' | 'structure'>, get: (name: string) => { dims: readonly number[]; data: Float32Array; fullDims?: readonly number[] } | undefined): RunData {
  const layers = m.attentionOutputs.flatMap((n) => {
    const t = get(n);
    return t ? [attentionLayerOf(t.dims, t.data, t.fullDims)] : [];
  });
  const f = m.featureOutput ? get(m.featureOutput) : undefined;
  const all = (names?: string[]) => {
    const ts = names?.map(get);
    return ts?.length && ts.every((t) => t) ? ts.map((t) => t!.data) : undefined;
  };
  const d = m.structure.distillation;
  const heads = all(d && [d.cls, d.dist]);
  const norms = all(m.tokenNormOutputs) && m.tokenNormOutputs!.map((n) => get(n)!);
  const shapes = all(m.residualShapeOutputs);
  const probe = m.mapProbeOutput ? get(m.mapProbeOutput) : undefined;
  return {
    layers,
    features: f && f.dims.length === 3 ? { tokens: f.dims[1], width: f.dims[2], data: f.data } : undefined,
    rollout: all(m.rolloutOutputs),
    headDistance: all(m.distanceOutputs)?.map((x) => Array.from(x)),
    distillation: heads ? { cls: heads[0], dist: heads[1] } : undefined,
    tokenNorms: norms && shapes ? norms.map((t, l) => ({ dims: [...t.dims], data: t.data, shape: Array.from(shapes[l]) })) : undefined,
    mapProbe: probe && mapProbeOf(probe.dims, probe.data),
  };
}

export interface ViewData {
  grid: { rows: number; cols: number };
  /** One value per grid cell (NaN: not attendable); absent for RGB views. */
  values?: Float32Array;
  /** One RGB triple per grid cell (PCA view). */
  rgb?: Uint8ClampedArray;
  /** Values are drawn from this floor up (window entropies all sit near ln N; their differences matter). */
  floor?: number;
  /** DINO mass-threshold mask over the grid, when enabled. */
  mask?: Uint8Array;
  caption: string;
  /** Set when the view is not drawn because a shape check failed; `caption` says which layer, expected and found. */
  refused?: boolean;
  /** Not drawn yet: it needs rows the extension host has not sent (`refused` is set too). */
  pending?: boolean;
}

export function fusionOf(head: string): Fusion {
  return head === 'mean' || head === 'max' || head === 'min' ? head : Number(head);
}

export function fusionLabel(head: string): string {
  const f = fusionOf(head);
  if (typeof f === 'number') return t('head {0}', f + 1);
  return f === 'mean' ? t('mean over heads') : f === 'max' ? t('max over heads') : t('min over heads');
}

/** The token grid of a layer: the patch grid, or a Swin block's stage grid (see tokenLayout.ts). */
export const gridOf = layerGrid;

/**
 * Whether CLS attention of the chosen layer is all this view draws, so row 0 of each layer is enough: what the
 * extension host sends first (firstRows.ts). Patch queries, key columns, rollout and Swin windows need every row.
 */
export function clsRowSuffices(s: VitStructure, v: ViewState): boolean {
  // A layer without a CLS query (CaiT before its class attention) is drawn as the mean over every query.
  return v.mode === 'attention' && !v.selected && !s.swin && (s.attention[v.layer]?.prefixTokens ?? s.prefixTokens) > 0;
}

export function computeView(s: VitStructure, run: RunData, v: ViewState): ViewData {
  const layer = run.layers[v.layer];
  const grid = gridOf(s, run.layers, v.layer);
  const fusion = fusionOf(v.head);
  const how = fusionLabel(v.head);
  const block = s.swin?.blocks[v.layer];
  const sel = v.selected;
  const withMask = (d: ViewData): ViewData => (v.mass > 0 && d.values && !block ? { ...d, mask: massThresholdMask(d.values, v.mass) } : d);
  // Nothing unverified is drawn: the shown layer (and, for rollout, every layer it multiplies) must fit its grid.
  const checked = v.mode === 'rollout' && !block ? run.layers.slice(0, v.layer + 1).map((_, i) => i) : [v.layer];
  const refused = v.mode === 'features' ? undefined : checked.map((i) => layoutMismatch(s, run.layers, i)).find((m) => m);
  if (refused) return { grid, caption: refused, refused: true };
  // Only row 0 of these layers has arrived; the rest is on its way from the extension host (firstRows.ts).
  if (v.mode !== 'features' && !clsRowSuffices(s, v) && checked.some((i) => run.layers[i]?.pendingQueries)) {
    return { grid, refused: true, pending: true, caption: t('Waiting for the full attention matrices from the extension host…') };
  }
  // Rollout multiplies attention as probabilities; talking heads' mixed weights are not (rows need not sum to 1).
  const mixed = v.mode === 'rollout' && !block ? checked.filter((i) => s.attention[i]?.headMix) : [];
  if (mixed.length) {
    const list = mixed.map((i) => i + 1).join(', ');
    const caption = mixed.length > 1
      ? t('Attention rollout is not drawn: layers {0} mix heads after the softmax (talking heads), so their weights are not probabilities and the rollout\'s products would be a guess. Plain attention of each layer is shown as tapped.', list)
      : t('Attention rollout is not drawn: layer {0} mixes heads after the softmax (talking heads), so its weights are not probabilities and the rollout\'s products would be a guess. Plain attention of each layer is shown as tapped.', list);
    return { grid, refused: true, caption };
  }

  if (v.mode === 'features' && run.features) {
    const f = run.features;
    const prefix = f.tokens - grid.rows * grid.cols;
    if (!block && prefix !== s.prefixTokens) {
      return { grid, refused: true, caption: t('Token features are not drawn: the final features have {0} tokens, but {1} were expected.', f.tokens, expectedTokens(s.prefixTokens, grid)) };
    }
    const patches = f.data.subarray(prefix * f.width);
    const n = f.tokens - prefix;
    const p = pca(patches, n, f.width, 3);
    const total = p.variances.reduce((a, b) => a + b, 0);
    return { grid, rgb: projectionsToRgb(p.projections, n), caption: t('First three principal components of the final patch tokens as red, green, blue ({0}; {1}). Patches with similar features get similar colours.', p.variances.map((x) => x.toPrecision(3)).join(', '), total > 0 ? '' : t('no variance')) };
  }
  if (block) {
    const l = { rows: block.grid, cols: block.grid, window: block.window, shift: block.shift };
    if (sel) {
      const head = typeof fusion === 'number' ? fusion : -1;
      const over = typeof fusion === 'number' ? how : t('mean over heads');
      const caption = block.shift
        ? t('Attention of patch ({0}, {1}) inside its shifted window, {2}. Everything outside the window is unreachable for it in this block.', sel.row, sel.col, over)
        : t('Attention of patch ({0}, {1}) inside its window, {2}. Everything outside the window is unreachable for it in this block.', sel.row, sel.col, over);
      return { grid, values: patchWindowAttention(l, layer.data, layer.heads, sel.row, sel.col, head), caption };
    }
    const ent = windowEntropy(layer.data, block.windows, layer.heads, block.window * block.window);
    const values = new Float32Array(block.grid * block.grid);
    const per = block.grid / block.window;
    for (let r = 0; r < block.grid; r++) {
      for (let c = 0; c < block.grid; c++) {
        const sr = (r - block.shift + block.grid) % block.grid;
        const sc = (c - block.shift + block.grid) % block.grid;
        values[r * block.grid + c] = ent[Math.floor(sr / block.window) * per + Math.floor(sc / block.window)];
      }
    }
    const nmax = Math.log(block.window * block.window).toFixed(2);
    return { grid, values, floor: Math.min(...ent), caption: t('Mean attention entropy per window (nats; uniform attention = ln {0} = {1}): dark windows focus on few tokens. Click a patch to see its window attention.', block.window * block.window, nmax) };
  }
  // A layer may see more prefix tokens than the model's first (CaiT adds CLS before its class-attention layers).
  const prefix = s.attention[v.layer]?.prefixTokens ?? s.prefixTokens;
  if (s.attention[v.layer]?.classAttention) {
    // CaiT's class attention has only the CLS query by design: its one row is the whole layer, no budget involved.
    return withMask({ grid, values: attentionRow(layer, 0, fusion, prefix), caption: t('CLS token attention, class-attention layer {0}, {1}: only the CLS token queries in this layer (the patch tokens are no longer updated), so patch queries and rollout do not apply.', v.layer + 1, how) });
  }
  if ((layer.queries ?? layer.tokens) < layer.tokens && !layer.pendingQueries) {
    // Only what the views need left the graph (memory budget): CLS rows, and the CLS rollout computed inside it.
    const budget = t('the full attention of all layers would exceed vitLens.attentionMemoryBudgetMB');
    if (v.mode === 'rollout' && run.rollout && !sel) {
      return withMask({ grid, values: Float32Array.from(run.rollout[v.layer].subarray(prefix)), caption: t('Attention rollout to {0} through layers 1–{1}, mean over heads, nothing discarded: computed inside the graph because {2} (head choice, discard ratio and patch queries are off for this model).', prefix > 0 ? t('the CLS token') : t('token 0'), v.layer + 1, budget) });
    }
    const caption = run.rollout
      ? t('CLS token attention, layer {0}, {1}. Only the CLS rows were extracted: {2}, so patch queries are off for this model.', v.layer + 1, how, budget)
      : t('CLS token attention, layer {0}, {1}. Only the CLS rows were extracted: {2}, so patch queries and rollout are off for this model.', v.layer + 1, how, budget);
    return withMask({ grid, values: attentionRow(layer, 0, fusion, prefix), caption });
  }
  if (v.mode === 'rollout') {
    const from = sel ? prefix + sel.row * grid.cols + sel.col : 0;
    const r = rolloutRow(run.layers, from, { fusion, discardRatio: v.discard, upToLayer: v.layer });
    const values = Float32Array.from(r.subarray(prefix));
    const who = sel ? t('patch ({0}, {1})', sel.row, sel.col) : prefix > 0 ? t('the CLS token') : t('token 0');
    return withMask({ grid, values, caption: t('Attention rollout to {0} through layers 1–{1} ({2}, lowest {3}% discarded per layer): how much each patch flows into it, residual connections included.', who, v.layer + 1, how, Math.round(v.discard * 100)) });
  }
  if (sel) {
    const token = prefix + sel.row * grid.cols + sel.col;
    const values = v.direction === 'query' ? attentionRow(layer, token, fusion, prefix) : attentionColumn(layer, token, fusion, prefix);
    const caption = v.direction === 'query'
      ? t('What patch ({0}, {1}) attends to, as the query, layer {2}, {3}.', sel.row, sel.col, v.layer + 1, how)
      : t('Which patches attend to patch ({0}, {1}), as the key, layer {2}, {3}.', sel.row, sel.col, v.layer + 1, how);
    return withMask({ grid, values, caption });
  }
  if (prefix > 0) {
    const caption = ['mean-all', 'mean-patches', 'map'].includes(s.classifier)
      ? t('CLS token attention to each patch, layer {0}, {1}. This is where CLS looks, not what the classifier reads (see Classifier in the summary).', v.layer + 1, how)
      : t('CLS token attention to each patch, layer {0}, {1}.', v.layer + 1, how);
    return withMask({ grid, values: attentionRow(layer, 0, fusion, prefix), caption });
  }
  // No CLS token (global pooling): the mean attention each patch receives.
  const values = new Float32Array(layer.tokens);
  for (let q = 0; q < layer.tokens; q++) {
    const row = attentionRow(layer, q, fusion, 0);
    for (let j = 0; j < layer.tokens; j++) values[j] += row[j] / layer.tokens;
  }
  return withMask({ grid, values, caption: t('Mean attention each patch receives (no CLS token), layer {0}, {1}.', v.layer + 1, how) });
}

/** log scale for display: log(1 + v / ε) keeps zeros at zero and spreads small values. */
export function displayValues(values: Float32Array, scale: 'linear' | 'log'): Float32Array {
  if (scale === 'linear') return values;
  let max = 0;
  for (const x of values) if (x > max) max = x;
  const eps = max / 1000 || 1e-12;
  return values.map((x) => (Number.isNaN(x) ? NaN : Math.log1p(x / eps)));
}
