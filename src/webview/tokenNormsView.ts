/**
 * High-norm tokens (Darcet et al. 2023, "Vision Transformers Need Registers"): each block's per-token output
 * norms as a layers × tokens map (prefix tokens left of a gap), the selected layer's patch grid with its outliers
 * outlined, one line per layer, and what this model does with them. Nothing is drawn unless every block's
 * output was verified to be [1, tokens, width].
 */
import { AttentionLayer, attentionRow } from '../shared/attentionMaps';
import { colormapLut } from '../shared/colormap';
import { t } from '../shared/l10n';
import type { ModelPayload } from '../shared/protocol';
import { checkResidualShapes, prefixTokenLabels, prefixTokenLabelText, TokenNormSummary, tokenNormSummary, tokenNormsText } from '../shared/tokenNorms';
import type { RunData } from '../shared/viewData';

const css = (name: string, fallback: string) => getComputedStyle(document.body).getPropertyValue(name).trim() || fallback;
const $ = (id: string) => document.getElementById(id)!;

/** Why high-norm tokens matter; a function, as the bundle is configured after this module loads. */
const why = () => t('Large ViTs trained long recycle low-information patches (often background) as scratch space for global information: their outputs get very high norms and late layers\' CLS attention concentrates on them, which shows up as bright specks in attention maps (Darcet et al. 2023, "Vision Transformers Need Registers"). Registers, extra learned tokens beside CLS, take that role over.');

let shown: { summary: TokenNormSummary; grid: { rows: number; cols: number }; layer: number } | undefined;

function clear(text: string): void {
  shown = undefined;
  for (const id of ['norms-map', 'norms-grid']) {
    const c = $(id) as HTMLCanvasElement;
    c.width = c.height = 1;
    delete c.dataset.outliers;
  }
  $('norms-layers').replaceChildren();
  $('norms-text').textContent = text;
}

export function renderTokenNorms(m: ModelPayload, layers: AttentionLayer[], norms: RunData['tokenNorms']): void {
  const s = m.structure;
  if (!s.residual) return clear(t('Not shown for this model: {0}.', s.residualMissing ?? t('the residual stream between blocks was not found')));
  if (!norms?.length) return clear(t('Not shown: this run did not return the token norms.'));
  const side = Math.floor(m.card.preprocess.size / s.patchSize);
  const grid = s.grid ?? { rows: side, cols: side };
  const tokens = s.prefixTokens + grid.rows * grid.cols;
  const problem = checkResidualShapes(norms.map((n) => n.shape), norms.map((n) => n.dims), tokens, s.embedDim);
  if (problem) return clear(t('Not drawn: {0}.', problem));
  const labels = prefixTokenLabels(s.prefixTokens, s.classifier, !!s.distillation);
  const last = layers[layers.length - 1];
  const clsRow = labels[0] === 'CLS' && last && last.tokens === tokens ? attentionRow(last, 0, 'mean', 0) : undefined;
  const summary = tokenNormSummary(norms.map((n) => n.data), labels, clsRow);
  // Start on the layer the text names: the most flagged patches, the latest on a tie.
  let layer = summary.layers.length - 1;
  summary.layers.forEach((l, i) => { if (l.outliers.length > 0 && l.outliers.length >= summary.layers[layer].outliers.length) layer = i; });
  shown = { summary, grid, layer };
  drawMap();
  drawSelected();
  const regs = labels.filter((x) => x.startsWith('register')).length;
  const others = labels.length > regs ? t('the other prefix tokens') : t('nothing else');
  const mine = regs === 1 ? t('This model has {0} register token, drawn left of the gap with {1}.', regs, others)
    : regs ? t('This model has {0} register tokens, drawn left of the gap with {1}.', regs, others)
      : labels.length ? t('This model has no registers (its prefix: {0}, left of the gap).', labels.map(prefixTokenLabelText).join(', ')) : t('This model has no registers.');
  $('norms-text').textContent = `${tokenNormsText(summary)} ${why()} ${mine}`;
}

/** Rows = layers, columns = tokens (prefix, a gap, patches); each row scaled to its largest patch norm. */
function drawMap(): void {
  if (!shown) return;
  const { summary } = shown;
  const L = summary.layers.length;
  const P = summary.prefixLabels.length;
  const N = summary.layers[0].patches.length;
  const gap = P ? 1 : 0;
  const cw = Math.max(1, Math.floor(400 / (P + gap + N)));
  const ch = Math.max(4, Math.min(12, Math.floor(160 / L)));
  const c = $('norms-map') as HTMLCanvasElement;
  c.width = (P + gap + N) * cw;
  c.height = L * ch;
  const ctx = c.getContext('2d')!;
  const img = ctx.createImageData(c.width, c.height);
  const lut = colormapLut('inferno');
  const cell = (row: number, col: number, v: number) => {
    const k = Math.max(0, Math.min(255, Math.round(v * 255))) * 3;
    for (let y = row * ch; y < (row + 1) * ch; y++) for (let x = col * cw; x < (col + 1) * cw; x++) {
      const o = (y * c.width + x) * 4;
      img.data[o] = lut[k]; img.data[o + 1] = lut[k + 1]; img.data[o + 2] = lut[k + 2]; img.data[o + 3] = 255;
    }
  };
  summary.layers.forEach((l, r) => {
    const top = l.max || 1;
    l.prefix.forEach((v, i) => cell(r, i, v / top));
    l.patches.forEach((v, i) => cell(r, P + gap + i, v / top));
  });
  ctx.putImageData(img, 0, 0);
  ctx.strokeStyle = css('--vscode-focusBorder', '#0078d4');
  ctx.lineWidth = 1;
  summary.layers.forEach((l, r) => l.outliers.forEach((i) => ctx.strokeRect((P + gap + i) * cw - 0.5, r * ch + 0.5, cw + 1, ch - 1)));
  c.dataset.outliers = JSON.stringify(summary.layers.map((l) => l.outliers.length));
  c.onclick = (e) => {
    if (!shown) return;
    const rect = c.getBoundingClientRect();
    shown.layer = Math.min(L - 1, Math.max(0, Math.floor(((e.clientY - rect.top) / rect.height) * L)));
    drawSelected();
  };
}

/** The selected layer's patch grid (its outliers outlined) and the per-layer lines. */
function drawSelected(): void {
  if (!shown) return;
  const { summary, grid, layer } = shown;
  const l = summary.layers[layer];
  const cell = Math.max(6, Math.floor(168 / grid.cols));
  const c = $('norms-grid') as HTMLCanvasElement;
  c.width = grid.cols * cell;
  c.height = grid.rows * cell;
  c.dataset.layer = String(layer);
  c.style.marginTop = '6px';
  c.setAttribute('aria-label', l.outliers.length === 1
    ? t('Layer {0}: patch token norms, {1} outlier outlined', layer + 1, l.outliers.length)
    : t('Layer {0}: patch token norms, {1} outliers outlined', layer + 1, l.outliers.length));
  const ctx = c.getContext('2d')!;
  const lut = colormapLut('inferno');
  l.patches.forEach((v, i) => {
    const k = Math.round(Math.min(1, v / (l.max || 1)) * 255) * 3;
    ctx.fillStyle = `rgb(${lut[k]}, ${lut[k + 1]}, ${lut[k + 2]})`;
    ctx.fillRect((i % grid.cols) * cell, Math.floor(i / grid.cols) * cell, cell, cell);
  });
  ctx.strokeStyle = css('--vscode-focusBorder', '#0078d4');
  ctx.lineWidth = 2;
  for (const i of l.outliers) ctx.strokeRect((i % grid.cols) * cell + 1, Math.floor(i / grid.cols) * cell + 1, cell - 2, cell - 2);
  const fmt = (x: number) => x.toPrecision(3);
  $('norms-layers').replaceChildren(...summary.layers.map((x, i) => {
    const li = document.createElement('li');
    const k = x.outliers.length;
    const prefix = x.prefix.map((v, j) => ` · ${prefixTokenLabelText(summary.prefixLabels[j])} ${fmt(v)}`).join('');
    const line = k === 1 ? t('Layer {0}: median {1}, max {2}, {3} outlier ({4}× median)', i + 1, fmt(x.median), fmt(x.max), k, x.ratio.toFixed(1))
      : k ? t('Layer {0}: median {1}, max {2}, {3} outliers ({4}× median)', i + 1, fmt(x.median), fmt(x.max), k, x.ratio.toFixed(1))
        : t('Layer {0}: median {1}, max {2}, {3} outliers', i + 1, fmt(x.median), fmt(x.max), k);
    li.textContent = line + prefix;
    if (i === layer) {
      li.setAttribute('aria-current', 'true');
      li.style.fontWeight = '600';
    }
    li.style.cursor = 'pointer';
    li.onclick = () => {
      if (!shown) return;
      shown.layer = i;
      drawSelected();
    };
    return li;
  }));
}
