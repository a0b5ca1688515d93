/** Pure-pixel heatmap compositing for places without a canvas (the command-line tool). */
import { colormapLut, ColormapName } from './colormap';

/**
 * Blends per-patch `values` (rows×cols, normalized to their max) over the model's input image (RGBA, its
 * height × width), each image pixel scaled by `zoom`, with patch-grid lines.
 */
export function compositeHeatmap(rgba: Uint8ClampedArray, size: { width: number; height: number }, values: Float32Array, grid: { rows: number; cols: number }, opts: { zoom?: number; opacity?: number; cmap?: ColormapName; gridLines?: boolean } = {}): { data: Uint8ClampedArray; width: number; height: number } {
  const zoom = opts.zoom ?? 2;
  const opacity = opts.opacity ?? 0.6;
  const lut = colormapLut(opts.cmap ?? 'inferno');
  const W = size.width * zoom;
  const H = size.height * zoom;
  const out = new Uint8ClampedArray(W * H * 4);
  let max = 0;
  for (const v of values) max = Math.max(max, v);
  const ph = size.height / grid.rows;
  const pw = size.width / grid.cols;
  for (let y = 0; y < H; y++) {
    const sy = Math.floor(y / zoom);
    const r = Math.min(grid.rows - 1, Math.floor(sy / ph));
    for (let x = 0; x < W; x++) {
      const sx = Math.floor(x / zoom);
      const c = Math.min(grid.cols - 1, Math.floor(sx / pw));
      const k = max > 0 ? Math.round((values[r * grid.cols + c] / max) * 255) : 0;
      const i = (sy * size.width + sx) * 4;
      const o = (y * W + x) * 4;
      const onGrid = opts.gridLines !== false && ((sy % ph === 0 && y % zoom === 0 && sy > 0) || (sx % pw === 0 && x % zoom === 0 && sx > 0));
      for (let ch = 0; ch < 3; ch++) {
        const blended = rgba[i + ch] * (1 - opacity) + lut[k * 3 + ch] * opacity;
        out[o + ch] = onGrid ? blended * 0.6 + 255 * 0.4 : blended;
      }
      out[o + 3] = 255;
    }
  }
  return { data: out, width: W, height: H };
}
