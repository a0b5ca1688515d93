/** Swin views: window partitions (regular and shifted) over the image, and a patch's attention inside its window. */
import type { SwinBlock } from '../shared/swinStructure';
import { maskRegion, WindowLayout, windowOf } from '../shared/windowPartition';

export function layoutOf(b: SwinBlock): WindowLayout {
  return { rows: b.grid, cols: b.grid, window: b.window, shift: b.shift };
}

function cssColor(name: string, fallback: string): string {
  return getComputedStyle(document.body).getPropertyValue(name).trim() || fallback;
}

/**
 * Draws the windows of `layout` on a canvas covering the model input: window borders (solid), and for
 * shifted layouts the borders between mask sub-regions inside a window (dashed) plus a tint per sub-region,
 * so the user sees which tokens the attention mask keeps apart. Window indices are written at their centres.
 */
export function drawWindows(canvas: HTMLCanvasElement, l: WindowLayout, opts: { labels: boolean }): void {
  const ctx = canvas.getContext('2d')!;
  const { width } = canvas;
  const t = width / l.cols;
  ctx.clearRect(0, 0, width, canvas.height);
  const win = (r: number, c: number) => windowOf(l, r, c).window;
  const reg = (r: number, c: number) => maskRegion(l, r, c);
  // Sub-region tints (shifted layouts only): one colour per region id.
  if (l.shift > 0) {
    const tints = ['--vscode-charts-blue', '--vscode-charts-orange', '--vscode-charts-green', '--vscode-charts-purple', '--vscode-charts-red', '--vscode-charts-yellow'];
    const fallbacks = ['#3794ff', '#d18616', '#89d185', '#b180d7', '#f14c4c', '#cca700'];
    ctx.globalAlpha = 0.22;
    for (let r = 0; r < l.rows; r++) {
      for (let c = 0; c < l.cols; c++) {
        const k = reg(r, c);
        if (k === 0) continue;
        ctx.fillStyle = cssColor(tints[k % tints.length], fallbacks[k % fallbacks.length]);
        ctx.fillRect(c * t, r * t, t, t);
      }
    }
    ctx.globalAlpha = 1;
  }
  const line = cssColor('--vscode-editor-foreground', '#ffffff');
  ctx.fillStyle = line;
  // Solid borders where the window changes; dashed (every other token) where only the mask region changes.
  for (let r = 0; r < l.rows; r++) {
    for (let c = 0; c < l.cols; c++) {
      if (c > 0 && win(r, c) !== win(r, c - 1)) ctx.fillRect(Math.round(c * t), Math.round(r * t), 1, Math.ceil(t));
      else if (c > 0 && reg(r, c) !== reg(r, c - 1) && r % 2 === 0) ctx.fillRect(Math.round(c * t), Math.round(r * t), 1, Math.ceil(t));
      if (r > 0 && win(r, c) !== win(r - 1, c)) ctx.fillRect(Math.round(c * t), Math.round(r * t), Math.ceil(t), 1);
      else if (r > 0 && reg(r, c) !== reg(r - 1, c) && c % 2 === 0) ctx.fillRect(Math.round(c * t), Math.round(r * t), Math.ceil(t), 1);
    }
  }
  if (opts.labels && l.rows / l.window <= 16) {
    ctx.font = `${Math.max(8, Math.min(14, Math.round((t * l.window) / 3)))}px ${cssColor('--vscode-font-family', 'sans-serif')}`;
    ctx.textAlign = 'center';
    ctx.textBaseline = 'middle';
    const per = l.cols / l.window;
    for (let w = 0; w < per * per; w++) {
      // Label at the window's centre token, in original coordinates.
      const sr = Math.floor(w / per) * l.window + Math.floor(l.window / 2);
      const sc = (w % per) * l.window + Math.floor(l.window / 2);
      const r = (sr + l.shift) % l.rows;
      const c = (sc + l.shift) % l.cols;
      ctx.fillStyle = cssColor('--vscode-editor-background', '#000000');
      ctx.globalAlpha = 0.6;
      ctx.fillRect(c * t + t / 2 - 9, r * t + t / 2 - 7, 18, 14);
      ctx.globalAlpha = 1;
      ctx.fillStyle = line;
      ctx.fillText(String(w), c * t + t / 2, r * t + t / 2);
    }
  }
}
