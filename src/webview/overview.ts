/** The layer × head overview (BertViz-style): one small map per layer and head; click one to focus it. */
import { AttentionLayer, attentionRow } from '../shared/attentionMaps';
import { colormapLut, ColormapName } from '../shared/colormap';
import { t } from '../shared/l10n';

export interface OverviewInput {
  layers: AttentionLayer[];
  grid: { rows: number; cols: number };
  prefix: number;
  /** Query token whose attention each thumbnail shows (0 = CLS). */
  query: number;
  activeLayer: number;
  activeHead: string;
  cmap: ColormapName;
  /** Per layer, why it is not drawn (its tokens do not fit the grid), or undefined. */
  notDrawn?: (string | undefined)[];
}

export class Overview {
  constructor(private readonly container: HTMLElement, private readonly onPick: (layer: number, head: number) => void) {}

  hide(): void {
    this.container.replaceChildren();
  }

  render(o: OverviewInput): void {
    const heads = o.layers[0]?.heads ?? 0;
    this.container.style.gridTemplateColumns = `auto repeat(${heads}, 48px)`;
    const lut = colormapLut(o.cmap);
    const cells: HTMLElement[] = [document.createElement('span')];
    for (let h = 0; h < heads; h++) {
      const ax = document.createElement('span');
      ax.className = 'axis';
      ax.textContent = t`H${h + 1}`;
      cells.push(ax);
    }
    o.layers.forEach((layer, l) => {
      const ax = document.createElement('span');
      ax.className = 'axis';
      ax.textContent = t`L${l + 1}`;
      cells.push(ax);
      const why = o.notDrawn?.[l];
      for (let h = 0; h < heads && why; h++) {
        const empty = document.createElement('span');
        empty.className = 'cell refused';
        empty.title = why;
        empty.setAttribute('aria-label', why);
        cells.push(empty);
      }
      for (let h = 0; h < heads && !why; h++) {
        const values = attentionRow(layer, o.query, h, o.prefix);
        const canvas = document.createElement('canvas');
        canvas.width = o.grid.cols;
        canvas.height = o.grid.rows;
        const ctx = canvas.getContext('2d')!;
        const img = ctx.createImageData(o.grid.cols, o.grid.rows);
        let max = 0;
        for (const v of values) if (v > max) max = v;
        values.forEach((v, i) => {
          const k = max > 0 ? Math.round((v / max) * 255) : 0;
          img.data.set([lut[k * 3], lut[k * 3 + 1], lut[k * 3 + 2], 255], i * 4);
        });
        ctx.putImageData(img, 0, 0);
        const b = document.createElement('button');
        b.className = 'cell' + (l === o.activeLayer && String(h) === o.activeHead ? ' active' : '');
        b.title = t`Layer ${l + 1}, head ${h + 1}`;
        b.setAttribute('aria-label', b.title);
        b.dataset.layer = String(l);
        b.dataset.head = String(h);
        b.append(canvas);
        b.addEventListener('click', () => this.onPick(l, h));
        cells.push(b);
      }
    });
    this.container.replaceChildren(...cells);
  }
}
