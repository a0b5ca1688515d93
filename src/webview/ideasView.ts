/**
 * The ideas behind ViTs, computed from the user's own model and image: attention cost over resolution (global
 * vs windowed), the patch-embedding filters, position-embedding similarity, mean attention distance per head
 * and depth, and where the normalization sits.
 */
import type { AttentionLayer } from '../shared/attentionMaps';
import { costCurve, msaMacs, wmsaMacs } from '../shared/complexity';
import { t } from '../shared/l10n';
import { positionEmbeddingSimilarity } from '../shared/locality';
import { pca } from '../shared/pca';
import type { ModelPayload } from '../shared/protocol';
import { headDistancesInSteps, renderDistances } from './distanceView';
import { nextTask } from '../shared/inSteps';
import { renderTokenNorms } from './tokenNormsView';
import type { RunData } from '../shared/viewData';

const css = (name: string, fallback: string) => getComputedStyle(document.body).getPropertyValue(name).trim() || fallback;

function fmt(n: number): string {
  if (n >= 1e9) return `${(n / 1e9).toFixed(2)} G`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(1)} M`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(1)} k`;
  return String(Math.round(n));
}

/** A small line chart with log-scaled y on a canvas; series coloured from the theme's chart colours. */
function lineChart(canvas: HTMLCanvasElement, xs: number[], series: { label: string; ys: number[]; color: string }[], mark?: { x: number; y: number }, logY = true): void {
  const ctx = canvas.getContext('2d')!;
  const W = canvas.width, H = canvas.height, pad = 34;
  ctx.clearRect(0, 0, W, H);
  const all = series.flatMap((s) => s.ys).filter((v) => v > 0);
  const lo = logY ? Math.log10(Math.min(...all)) : 0, hi = logY ? Math.log10(Math.max(...all)) : Math.max(...all);
  const fy = (v: number) => H - pad - (((logY ? Math.log10(v) : v) - lo) / (hi - lo || 1)) * (H - 2 * pad);
  const fx = (x: number) => pad + ((x - xs[0]) / (xs[xs.length - 1] - xs[0] || 1)) * (W - 2 * pad);
  ctx.strokeStyle = css('--vscode-editorWidget-border', '#555');
  ctx.strokeRect(pad, pad, W - 2 * pad, H - 2 * pad);
  ctx.fillStyle = css('--vscode-descriptionForeground', '#999');
  ctx.font = `10px ${css('--vscode-font-family', 'sans-serif')}`;
  for (const x of [xs[0], xs[Math.floor(xs.length / 2)], xs[xs.length - 1]]) ctx.fillText(String(x), fx(x) - 8, H - pad + 14);
  series.forEach((s, k) => {
    ctx.strokeStyle = s.color;
    ctx.lineWidth = 2;
    ctx.beginPath();
    s.ys.forEach((y, i) => (i ? ctx.lineTo(fx(xs[i]), fy(y)) : ctx.moveTo(fx(xs[i]), fy(y))));
    ctx.stroke();
    ctx.fillStyle = s.color;
    ctx.fillText(s.label, pad + 6, pad + 12 + k * 12);
  });
  if (mark) {
    ctx.fillStyle = css('--vscode-focusBorder', '#0078d4');
    ctx.beginPath();
    ctx.arc(fx(mark.x), fy(mark.y), 4, 0, 2 * Math.PI);
    ctx.fill();
  }
}

/** Filters used for their PCA: all up to 256, else every k-th (ViT-B's 768 would cost seconds on the UI thread). */
const PCA_FILTERS = 256;
const filterPca = new Map<string, Float64Array[]>();
/** Position-embedding similarities, once per model. */
const posSimilarity = new Map<string, Float32Array>();

/** The leading principal components of the patch filters, once per model (they do not change per image). */
function filterComponents(key: string, data: Float32Array, D: number, d: number, k: number): Float64Array[] {
  const cached = filterPca.get(key);
  if (cached) return cached;
  const step = Math.ceil(D / PCA_FILTERS);
  const rows = Math.ceil(D / step);
  const sample = step === 1 ? data : new Float32Array(rows * d).map((_, i) => data[(Math.floor(i / d) * step) * d + (i % d)]);
  const comps = pca(sample, rows, d, k, 40).components;
  filterPca.clear();
  filterPca.set(key, comps);
  return comps;
}

/**
 * Draws the teaching views for the model and run on screen, one card at a time with a yield between them (on a
 * ViT-B they take a few hundred ms in all); stops when `stale()` says a newer run has replaced this one.
 */
/** `fromHost`: each head's attention distance as the extension host computed it from the full matrices it holds. */
export async function renderIdeas(m: ModelPayload, layers: AttentionLayer[], inGraphDistance: number[][] | undefined, stale: () => boolean, tokenNorms?: RunData['tokenNorms'], fromHost?: number[][]): Promise<void> {
  const next = async () => {
    await nextTask();
    return stale();
  };
  const s = m.structure;
  const $ = (id: string) => document.getElementById(id)!;
  const size = m.card.preprocess.size;
  // ---- cost ----
  const width = s.swin?.dims[0] ?? s.embedDim;
  const window = s.swin?.window ?? 7;
  const res = Array.from({ length: 15 }, (_, i) => 112 + i * 64);
  const curve = costCurve(res, s.patchSize, width, s.prefixTokens, window);
  const n = (Math.floor(size / s.patchSize) ** 2) + s.prefixTokens;
  const here = s.swin ? wmsaMacs(n, width, window) : msaMacs(n, width);
  lineChart($('cost-chart') as HTMLCanvasElement, res, [
    { label: t('global attention 4NC² + 2N²C'), ys: curve.map((p) => p.global), color: css('--vscode-charts-orange', '#d18616') },
    { label: t('windowed (M = {0}) 4NC² + 2M²NC', window), ys: curve.map((p) => p.windowed), color: css('--vscode-charts-blue', '#3794ff') },
  ], { x: size, y: here });
  const heads = layers[0]?.heads ?? s.heads ?? 1;
  $('cost-text').textContent = s.swin
    ? t('At {0}×{0} this first stage has N = {1} tokens of width C = {2}: {3} multiply-adds per block for attention, and {4}B of attention maps (windows of {5}). Doubling the resolution quadruples N, so the N² term grows 16×; windows keep it linear.',
      size, n, width, fmt(here), fmt(s.swin.blocks[0].windows * (s.swin.heads[0] ?? 1) * (window * window) ** 2 * 4), window * window)
    : t('At {0}×{0} this model has N = {1} tokens of width C = {2}: {3} multiply-adds per layer for attention, and {4}B of attention map ({5} heads × N²). Doubling the resolution quadruples N, so the N² term grows 16×; windows keep it linear.',
      size, n, width, fmt(here), fmt(heads * n * n * 4), heads);
  if (await next()) return;
  // ---- patch embedding filters ----
  const f = m.parameters?.patchFilters;
  const fc = $('filters') as HTMLCanvasElement;
  if (f && f.shape[1] === 3) {
    const [D, , P] = f.shape;
    const shown = Math.min(D, 64);
    const cols = 16;
    fc.width = cols * (P + 1);
    fc.height = Math.ceil(shown / cols) * (P + 1);
    const ctx = fc.getContext('2d')!;
    const img = ctx.createImageData(fc.width, fc.height);
    // Leading principal components of the flattened filters first (ViT paper, Fig. 7 left), then raw filters.
    const comps = filterComponents(m.key, f.data, D, 3 * P * P, Math.min(shown, 8));
    const tiles = [...comps.map((c) => Float32Array.from(c)), ...Array.from({ length: Math.max(0, shown - comps.length) }, (_, i) => f.data.subarray(i * 3 * P * P, (i + 1) * 3 * P * P))];
    tiles.slice(0, shown).forEach((tile, k) => {
      let lo = Infinity, hi = -Infinity;
      for (const v of tile) { lo = Math.min(lo, v); hi = Math.max(hi, v); }
      const ox = (k % cols) * (P + 1), oy = Math.floor(k / cols) * (P + 1);
      for (let y = 0; y < P; y++) for (let x = 0; x < P; x++) {
        const o = ((oy + y) * fc.width + ox + x) * 4;
        for (let c = 0; c < 3; c++) img.data[o + c] = hi > lo ? ((tile[c * P * P + y * P + x] - lo) / (hi - lo)) * 255 : 128;
        img.data[o + 3] = 255;
      }
    });
    ctx.putImageData(img, 0, 0);
    $('filters-text').textContent = t('The patch embedding is a Conv2d with kernel = stride = {0}: each of the {1} filters is a {0}×{0}×3 template dotted with every non-overlapping patch, exactly "split into patches, flatten, multiply by a matrix". First row: the leading principal components of the {1} filters; then individual filters.', P, D);
  } else if (s.stem) {
    fc.width = fc.height = 1;
    const p = s.stem.projection;
    $('filters-text').textContent = t('Not shown: this is a hybrid ViT. The patch projection ({0}×{0}, stride {1}) reads the CNN stem\'s {2}-channel features, not pixels, so its weights are no RGB patch templates; the tokens lie {3} pixels apart, the stride of the stem\'s {4} convolutions and pools ({5}) times the projection\'s.', p.kernel, p.stride, s.stem.channels, s.patchSize, s.stem.convs, s.stem.where);
  } else {
    fc.width = fc.height = 1;
    $('filters-text').textContent = t('The patch-embedding weights are not stored as plain floats in this file (quantized or external), so they are not drawn.');
  }
  if (await next()) return;
  // ---- position embedding similarity ----
  const pos = m.parameters?.positionEmbedding;
  const pc = $('pos-sim') as HTMLCanvasElement;
  const g = s.grid;
  if (pos && g && pos.tokens - s.prefixTokens === g.rows * g.cols) {
    const N = g.rows * g.cols;
    let sim = posSimilarity.get(m.key);
    if (!sim) {
      sim = positionEmbeddingSimilarity(pos.data, pos.tokens, pos.width, pos.tokens - N);
      posSimilarity.clear();
      posSimilarity.set(m.key, sim);
    }
    pc.width = g.cols * (g.cols + 1);
    pc.height = g.rows * (g.rows + 1);
    const ctx = pc.getContext('2d')!;
    const img = ctx.createImageData(pc.width, pc.height);
    for (let i = 0; i < N; i++) {
      const ox = (i % g.cols) * (g.cols + 1), oy = Math.floor(i / g.cols) * (g.rows + 1);
      for (let j = 0; j < N; j++) {
        const v = Math.round(((sim[i * N + j] + 1) / 2) * 255);
        const o = ((oy + Math.floor(j / g.cols)) * pc.width + ox + (j % g.cols)) * 4;
        img.data.set([v, v, v, 255], o);
      }
    }
    ctx.putImageData(img, 0, 0);
    // How much of the 2-D layout was learned: neighbours' similarity against all pairs'.
    let near = 0, nearN = 0, all = 0;
    for (let i = 0; i < N; i++) for (let j = 0; j < N; j++) {
      if (i === j) continue;
      const d = Math.abs(Math.floor(i / g.cols) - Math.floor(j / g.cols)) + Math.abs((i % g.cols) - (j % g.cols));
      all += sim[i * N + j];
      if (d === 1) { near += sim[i * N + j]; nearN++; }
    }
    const nearMean = near / nearN, allMean = all / (N * N - N);
    const pairs = nearMean > allMean + 0.05
      ? t('Here adjacent patches average {0} against {1} for all pairs: the model learned that neighbouring patches belong together.', nearMean.toFixed(2), allMean.toFixed(2))
      : t('Here adjacent patches average {0} against {1} for all pairs: this model learned little 2-D structure.', nearMean.toFixed(2), allMean.toFixed(2));
    $('pos-text').textContent = `${t('Each small map: one patch\'s learned position embedding compared (cosine similarity, white = 1) with every other patch\'s.')} ${pairs} ` +
      t('Without position embeddings attention is permutation-invariant and the image is a bag of patches; at another resolution the {0}×{1} grid of embeddings must be interpolated.', g.rows, g.cols);
  } else {
    pc.width = pc.height = 1;
    $('pos-text').textContent = s.swin?.cosine
      ? t('Swin V2 has no absolute position embedding: inside each window a small MLP maps the (log-spaced) offset between two tokens to a bias per head, added to the attention scores, so the bias extends to window sizes it was not trained on.')
      : s.swin ? t('Swin has no absolute position embedding: a learned relative position bias is added inside each window\'s attention instead.') : t('No learned position embedding constant was found for the patch grid in this graph.');
  }
  if (await next()) return;
  // ---- attention distance ----
  const inGraph = !fromHost && !!inGraphDistance && layers.length > 0 && (layers[0].queries ?? layers[0].tokens) < layers[0].tokens;
  const distances = fromHost ?? await headDistancesInSteps(m, layers, inGraphDistance, next);
  if (distances === null) return;
  renderDistances(m, distances, inGraph);
  if (await next()) return;
  // ---- norm ----
  $('norm-text').textContent = s.norm === 'pre'
    ? t('Pre-norm (found in the graph: a normalization right before the attention\'s projections): x + f(LN(x)). The residual path carries x untouched, so gradients reach early layers directly; deep stacks train stably.')
    : s.norm === 'post'
      ? t('Post-norm (found in the graph: the normalization comes after the residual add): LN(x + f(x)), as in the original Transformer; every layer\'s output is renormalized, which makes deep stacks harder to train without warm-up.')
      : s.norm === 'res-post'
        ? t('Res-post-norm (Swin V2; found in the graph: a normalization on the attention branch\'s output, before the residual add): x + LN(f(x)). Pre-norm lets each block add an unnormalized f(LN(x)), so in very large models the activations grow layer after layer; normalizing the branch before adding it keeps every block\'s contribution the same size, while the residual path still carries x untouched.')
        : t('The normalization placement could not be read from this graph.');
  if (await next()) return;
  // ---- high-norm tokens ----
  renderTokenNorms(m, layers, tokenNorms);
}
