/**
 * Learned locality (ViT paper, Fig. 7 right): each head's mean attention distance against depth, for the image
 * on screen and, once measured, averaged over a folder of the user's images.
 */
import type { AttentionLayer } from '../shared/attentionMaps';
import { t } from '../shared/l10n';
import { meanAttentionDistance } from '../shared/locality';
import type { FolderDistance, ModelPayload } from '../shared/protocol';

const css = (name: string, fallback: string) => getComputedStyle(document.body).getPropertyValue(name).trim() || fallback;
const $ = (id: string) => document.getElementById(id)!;

/** `text`: the sentence on this image alone, to which a folder's average is appended. */
let shown: { m: ModelPayload; image?: number[][]; folder?: FolderDistance; text: string } | undefined;

/** The patch grid when `layers` hold a global-attention ViT's full attention, from which distances are computed here. */
function fullAttentionGrid(m: ModelPayload, layers: AttentionLayer[]): { rows: number; cols: number } | undefined {
  const s = m.structure;
  if (s.swin || !s.grid || !layers.length) return undefined;
  return (layers[0].queries ?? layers[0].tokens) === layers[0].tokens ? s.grid : undefined;
}

/** Per layer, per head, in pixels: from the full matrices, or as computed inside the graph (memory budget). */
export function headDistances(m: ModelPayload, layers: AttentionLayer[], inGraph?: number[][]): number[][] | undefined {
  const s = m.structure;
  if (s.swin || !s.grid || !layers.length) return undefined;
  const g = fullAttentionGrid(m, layers);
  return g ? layers.map((a) => meanAttentionDistance(a, g, s.prefixTokens, s.patchSize)) : inGraph;
}

/**
 * The same, one layer at a time with `step()` between layers (about 13 ms each at 197 tokens and 12 heads), so
 * the panel keeps painting; null when `step()` reports that a newer run replaced this one.
 */
export async function headDistancesInSteps(m: ModelPayload, layers: AttentionLayer[], inGraph: number[][] | undefined, step: () => Promise<boolean>): Promise<number[][] | undefined | null> {
  const g = fullAttentionGrid(m, layers);
  if (!g) return headDistances(m, layers, inGraph);
  const out: number[][] = [];
  for (const a of layers) {
    out.push(meanAttentionDistance(a, g, m.structure.prefixTokens, m.structure.patchSize));
    if (await step()) return null;
  }
  return out;
}

function draw(): void {
  if (!shown) return;
  const { m, image, folder } = shown;
  const s = m.structure;
  const g = s.grid!;
  const dc = $('distance') as HTMLCanvasElement;
  const ctx = dc.getContext('2d')!;
  const W = dc.width, H = dc.height, pad = 30;
  ctx.clearRect(0, 0, W, H);
  const maxD = Math.hypot(g.rows, g.cols) * s.patchSize / 2;
  ctx.strokeStyle = css('--vscode-editorWidget-border', '#555');
  ctx.strokeRect(pad, pad / 2, W - pad - 10, H - pad - pad / 2);
  const dots = (dist: number[][], colour: string, filled: boolean, dx: number) => {
    ctx.fillStyle = ctx.strokeStyle = colour;
    dist.forEach((hs, l) => hs.forEach((d) => {
      const x = pad + ((l + 0.5) / dist.length) * (W - pad - 10) + dx;
      const y = H - pad - Math.min(1, d / maxD) * (H - 1.5 * pad);
      ctx.beginPath();
      ctx.arc(x, y, 3, 0, 2 * Math.PI);
      if (filled) ctx.fill();
      else ctx.stroke();
    }));
  };
  if (image) dots(image, css('--vscode-charts-blue', '#3794ff'), true, folder ? -4 : 0);
  if (folder) dots(folder.mean, css('--vscode-charts-orange', '#d18616'), false, 4);
  ctx.fillStyle = css('--vscode-descriptionForeground', '#999');
  ctx.font = `10px ${css('--vscode-font-family', 'sans-serif')}`;
  ctx.fillText(t('depth →'), W / 2 - 15, H - 8);
  ctx.fillText(t('{0} px', Math.round(maxD)), 2, pad / 2 + 8);
  if (folder) ctx.fillText(t('● this image  ○ {0} images', folder.images), W - 150, pad / 2 + 8);
  const round = (d: number[][]) => d.map((hs) => hs.map((x) => Math.round(x * 10) / 10));
  if (image) dc.dataset.distances = JSON.stringify(round(image));
  if (folder) dc.dataset.folderDistances = JSON.stringify(round(folder.mean));
}

const range = (hs: number[]) => t('{0}–{1} px', Math.round(Math.min(...hs)), Math.round(Math.max(...hs)));

/** The chart for a new run; a folder average stays while the model is the same. */
export function renderDistances(m: ModelPayload, image: number[][] | undefined, inGraph: boolean): void {
  const folder = shown?.m.key === m.key ? shown.folder : undefined;
  shown = { m, image, folder, text: '' };
  const s = m.structure;
  ($('distance-folder') as HTMLElement & { disabled: boolean }).disabled = !image;
  if (!image) {
    const dc = $('distance') as HTMLCanvasElement;
    dc.getContext('2d')!.clearRect(0, 0, dc.width, dc.height);
    shown.text = s.swin ? t('In Swin every block attends within its window, so attention distance is bounded by the window size.') : t('Attention distance needs the full attention matrices (not extracted for this model).');
    $('distance-text').textContent = shown.text;
    return;
  }
  draw();
  const text = inGraph
    ? t('Mean attention distance of each head (dots) by layer, for this image: {0} in layer 1, {1} in layer {2}. A CNN\'s receptive field grows with depth by construction; a ViT has no such bias and must learn where to look from data, which is why it needs more data than a ResNet. (Computed inside the graph: the full attention of this model is over vitLens.attentionMemoryBudgetMB.)', range(image[0]), range(image[image.length - 1]), image.length)
    : t('Mean attention distance of each head (dots) by layer, for this image: {0} in layer 1, {1} in layer {2}. A CNN\'s receptive field grows with depth by construction; a ViT has no such bias and must learn where to look from data, which is why it needs more data than a ResNet.', range(image[0]), range(image[image.length - 1]), image.length);
  shown.text = text;
  $('distance-text').textContent = folder ? `${text} ${folderText(folder)}` : text;
}

function folderText(f: FolderDistance): string {
  const first = f.mean[0], last = f.mean[f.mean.length - 1];
  const [r0, r1, n] = [range(first), range(last), f.mean.length];
  if (f.skipped) {
    return f.images === 1
      ? t('Averaged over {0} image in {1} ({2} skipped: not readable as images): {3} in layer 1, {4} in layer {5} (hollow dots).', f.images, f.folder, f.skipped, r0, r1, n)
      : t('Averaged over {0} images in {1} ({2} skipped: not readable as images): {3} in layer 1, {4} in layer {5} (hollow dots).', f.images, f.folder, f.skipped, r0, r1, n);
  }
  return f.images === 1
    ? t('Averaged over {0} image in {1}: {2} in layer 1, {3} in layer {4} (hollow dots).', f.images, f.folder, r0, r1, n)
    : t('Averaged over {0} images in {1}: {2} in layer 1, {3} in layer {4} (hollow dots).', f.images, f.folder, r0, r1, n);
}

export function showFolderDistance(f: FolderDistance): void {
  if (!shown || shown.m.key !== f.modelKey) return;
  shown.folder = f;
  draw();
  $('distance-text').textContent = `${shown.text} ${folderText(f)}`;
}
