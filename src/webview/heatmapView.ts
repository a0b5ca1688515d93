/** Draws the preprocessed image, the attention overlay and the patch grid on three stacked canvases. */
import { topIndices } from '../shared/attentionMaps';
import { colormapLut, ColormapName } from '../shared/colormap';

export interface GridShape { rows: number; cols: number }

export class HeatmapView {
  constructor(
    private readonly image: HTMLCanvasElement,
    private readonly heat: HTMLCanvasElement,
    private readonly grid: HTMLCanvasElement,
    private readonly colorbar: HTMLCanvasElement,
  ) {}

  /** Draws the exact pixels the model saw (already cropped and resized). */
  drawInput(rgba: Uint8ClampedArray, size: { width: number; height: number }): void {
    for (const c of [this.image, this.heat, this.grid]) {
      c.width = size.width;
      c.height = size.height;
    }
    const ctx = this.image.getContext('2d')!;
    ctx.putImageData(new ImageData(new Uint8ClampedArray(rgba), size.width, size.height), 0, 0);
  }

  /**
   * Paints `values` (rows×cols, one per patch) normalized to their maximum, each patch a solid block so a
   * pixel read back at a patch centre is that patch's value.
   */
  drawHeatmap(values: Float32Array, shape: GridShape, opacity: number, cmap: ColormapName, smooth = false): { max: number; argmax: number } {
    const { width, height } = smooth ? { width: shape.cols, height: shape.rows } : this.heat;
    const ctx = this.heat.getContext('2d')!;
    const img = ctx.createImageData(width, height);
    const lut = colormapLut(cmap);
    // NaN marks tokens that cannot be attended (outside a Swin window): drawn transparent.
    let max = 0;
    let best = 0;
    values.forEach((v, i) => {
      if (v > max) {
        max = v;
        best = i;
      }
    });
    const scale = max > 0 ? 255 / max : 0;
    // Weak attention is drawn more transparent so the image stays readable where nothing is attended.
    const alpha = (k: number) => Math.round(opacity * (90 + (165 * k) / 255));
    const ph = height / shape.rows;
    const pw = width / shape.cols;
    for (let y = 0; y < height; y++) {
      const r = Math.min(shape.rows - 1, Math.floor(y / ph));
      for (let x = 0; x < width; x++) {
        const c = Math.min(shape.cols - 1, Math.floor(x / pw));
        const v = values[r * shape.cols + c];
        const o = (y * width + x) * 4;
        if (Number.isNaN(v)) {
          img.data[o + 3] = 0;
          continue;
        }
        const k = Math.round(v * scale);
        img.data[o] = lut[k * 3];
        img.data[o + 1] = lut[k * 3 + 1];
        img.data[o + 2] = lut[k * 3 + 2];
        img.data[o + 3] = alpha(k);
      }
    }
    if (smooth) {
      // Bilinear upsampling of the patch-resolution map (the look of DINO's and vit-explain's figures).
      const small = new OffscreenCanvas(width, height);
      small.getContext('2d')!.putImageData(img, 0, 0);
      ctx.clearRect(0, 0, this.heat.width, this.heat.height);
      ctx.imageSmoothingEnabled = true;
      ctx.imageSmoothingQuality = 'high';
      ctx.drawImage(small, 0, 0, this.heat.width, this.heat.height);
    } else {
      ctx.putImageData(img, 0, 0);
    }
    this.heat.dataset.maxAttention = max.toPrecision(6);
    this.heat.dataset.argmaxPatch = String(best);
    delete this.heat.dataset.refused;
    // The ten hottest patches, hottest first (NaN cells excluded): what tests and screen readers can check.
    this.heat.dataset.hottest = topIndices(Array.from(values, (v) => (Number.isNaN(v) ? -Infinity : v)), 10).map((t) => t.index).join(',');
    this.heat.dataset.grid = `${shape.rows}x${shape.cols}`;
    this.drawColorbar(cmap);
    return { max, argmax: best };
  }

  /** Removes the map (a view that failed its shape check draws nothing rather than something unverified). */
  clearHeatmap(): void {
    this.heat.getContext('2d')!.clearRect(0, 0, this.heat.width, this.heat.height);
    for (const k of ['maxAttention', 'argmaxPatch', 'hottest', 'grid'] as const) delete this.heat.dataset[k];
    this.heat.dataset.refused = 'true';
  }

  /** Paints one RGB colour per patch (the PCA feature view). */
  drawRgb(rgb: Uint8ClampedArray, shape: GridShape, opacity: number): void {
    const small = new OffscreenCanvas(shape.cols, shape.rows);
    const sctx = small.getContext('2d')!;
    const img = sctx.createImageData(shape.cols, shape.rows);
    for (let i = 0; i < shape.rows * shape.cols; i++) img.data.set([rgb[i * 3], rgb[i * 3 + 1], rgb[i * 3 + 2], Math.round(Math.max(opacity, 0.85) * 255)], i * 4);
    sctx.putImageData(img, 0, 0);
    const ctx = this.heat.getContext('2d')!;
    ctx.clearRect(0, 0, this.heat.width, this.heat.height);
    ctx.imageSmoothingEnabled = false;
    ctx.drawImage(small, 0, 0, this.heat.width, this.heat.height);
    delete this.heat.dataset.maxAttention;
    delete this.heat.dataset.hottest;
    delete this.heat.dataset.refused;
  }

  /** Outlines the region of `mask` (DINO's mass threshold) along patch borders. */
  drawMaskContour(mask: Uint8Array, shape: GridShape): void {
    const ctx = this.grid.getContext('2d')!;
    const pw = this.grid.width / shape.cols;
    const ph = this.grid.height / shape.rows;
    ctx.globalAlpha = 1;
    ctx.fillStyle = getComputedStyle(document.body).getPropertyValue('--vscode-charts-green').trim() || '#89d185';
    const at = (r: number, c: number) => r >= 0 && c >= 0 && r < shape.rows && c < shape.cols && mask[r * shape.cols + c] === 1;
    for (let r = 0; r < shape.rows; r++) {
      for (let c = 0; c < shape.cols; c++) {
        if (!at(r, c)) continue;
        const x = Math.round(c * pw), y = Math.round(r * ph), w = Math.round((c + 1) * pw) - x, h = Math.round((r + 1) * ph) - y;
        if (!at(r - 1, c)) ctx.fillRect(x, y, w, 2);
        if (!at(r + 1, c)) ctx.fillRect(x, y + h - 2, w, 2);
        if (!at(r, c - 1)) ctx.fillRect(x, y, 2, h);
        if (!at(r, c + 1)) ctx.fillRect(x + w - 2, y, 2, h);
      }
    }
  }

  /** Composite of image, overlay and grid at input resolution (what the user sees), for export. */
  composite(): HTMLCanvasElement {
    const out = document.createElement('canvas');
    out.width = this.image.width;
    out.height = this.image.height;
    const ctx = out.getContext('2d')!;
    for (const c of [this.image, this.heat, this.grid]) ctx.drawImage(c, 0, 0);
    return out;
  }

  /** Outlines the selected patch (drawn over whatever the grid canvas holds). */
  drawSelection(shape: GridShape, sel: { row: number; col: number } | undefined): void {
    if (!sel) return;
    const ctx = this.grid.getContext('2d')!;
    const pw = this.grid.width / shape.cols;
    const ph = this.grid.height / shape.rows;
    ctx.globalAlpha = 1;
    ctx.lineWidth = 2;
    ctx.strokeStyle = getComputedStyle(document.body).getPropertyValue('--vscode-focusBorder').trim() || '#0078d4';
    ctx.strokeRect(sel.col * pw + 1, sel.row * ph + 1, Math.max(2, pw - 2), Math.max(2, ph - 2));
  }

  clearGrid(): void {
    this.grid.getContext('2d')!.clearRect(0, 0, this.grid.width, this.grid.height);
  }

  drawGrid(shape: GridShape, visible: boolean): void {
    const ctx = this.grid.getContext('2d')!;
    const { width, height } = this.grid;
    ctx.clearRect(0, 0, width, height);
    if (!visible) return;
    const color = getComputedStyle(document.body).getPropertyValue('--vscode-editor-foreground').trim() || 'rgba(255,255,255,0.5)';
    ctx.strokeStyle = color;
    ctx.globalAlpha = 0.35;
    ctx.lineWidth = 1;
    ctx.beginPath();
    for (let r = 1; r < shape.rows; r++) {
      const y = Math.round((r * height) / shape.rows) + 0.5;
      ctx.moveTo(0, y);
      ctx.lineTo(width, y);
    }
    for (let c = 1; c < shape.cols; c++) {
      const x = Math.round((c * width) / shape.cols) + 0.5;
      ctx.moveTo(x, 0);
      ctx.lineTo(x, height);
    }
    ctx.stroke();
  }

  private drawColorbar(cmap: ColormapName): void {
    const ctx = this.colorbar.getContext('2d')!;
    const lut = colormapLut(cmap);
    const img = ctx.createImageData(256, this.colorbar.height);
    for (let y = 0; y < this.colorbar.height; y++) {
      for (let x = 0; x < 256; x++) {
        const o = (y * 256 + x) * 4;
        img.data.set([lut[x * 3], lut[x * 3 + 1], lut[x * 3 + 2], 255], o);
      }
    }
    ctx.putImageData(img, 0, 0);
  }
}
