/** A small captioned heatmap over the model's input, with an optional top-3 list: the side-by-side comparisons. */
import { compositeHeatmap } from '../shared/heatmapImage';
import type { Prediction } from '../shared/protocol';
import { t } from '../shared/l10n';

export function heatmapFigure(title: string, rgba: Uint8ClampedArray, size: { width: number; height: number }, values: Float32Array, grid: { rows: number; cols: number }, top?: Prediction[]): HTMLElement {
  const img = compositeHeatmap(rgba, size, values, grid, { opacity: 0.6 });
  const canvas = document.createElement('canvas');
  canvas.width = img.width;
  canvas.height = img.height;
  canvas.className = 'variant-map';
  canvas.setAttribute('role', 'img');
  canvas.setAttribute('aria-label', t`${title}: attention`);
  canvas.getContext('2d')!.putImageData(new ImageData(img.data as Uint8ClampedArray<ArrayBuffer>, img.width, img.height), 0, 0);
  const fig = document.createElement('figure');
  const cap = document.createElement('figcaption');
  cap.textContent = title;
  fig.append(canvas, cap);
  if (top) {
    const list = document.createElement('ol');
    list.className = 'variant-top';
    for (const p of top.slice(0, 3)) {
      const li = document.createElement('li');
      li.textContent = `${p.label} ${(p.prob * 100).toFixed(1)}%`;
      list.append(li);
    }
    fig.append(list);
  }
  return fig;
}
