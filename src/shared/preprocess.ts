/** Image → model input, shared by the webview and the command-line tool. */
import type { Preprocess } from './modelCard';

export interface Rect { x: number; y: number; width: number; height: number }

/**
 * The region of the source image that becomes the model's size×size input: resize the shorter side to
 * `size` then center-crop (timm/torchvision), or squash the whole image (Hugging Face ViT).
 */
export function sourceCrop(width: number, height: number, p: Preprocess): Rect {
  if (p.resize === 'squash' || p.crop === 'none') return { x: 0, y: 0, width, height };
  const side = Math.min(width, height);
  return { x: (width - side) / 2, y: (height - side) / 2, width: side, height: side };
}

/** RGBA pixels (size×size) → normalized CHW float32 tensor. */
export function toInputTensor(rgba: Uint8ClampedArray | Uint8Array, size: number, p: Preprocess): Float32Array {
  const n = size * size;
  const out = new Float32Array(3 * n);
  for (let c = 0; c < 3; c++) {
    const k = 1 / (p.scale * p.std[c]);
    const b = p.mean[c] / p.std[c];
    for (let i = 0; i < n; i++) out[c * n + i] = rgba[i * 4 + c] * k - b;
  }
  return out;
}

/**
 * Resamples an RGBA image region to size×size by area averaging (box filter) when shrinking and bilinear
 * when enlarging. Used where no canvas exists (the command-line tool).
 */
export function resampleRgba(src: Uint8Array | Uint8ClampedArray, width: number, height: number, crop: Rect, size: number): Uint8ClampedArray {
  const out = new Uint8ClampedArray(size * size * 4);
  const sx = crop.width / size;
  const sy = crop.height / size;
  for (let oy = 0; oy < size; oy++) {
    const y0 = crop.y + oy * sy;
    const y1 = y0 + sy;
    for (let ox = 0; ox < size; ox++) {
      const x0 = crop.x + ox * sx;
      const x1 = x0 + sx;
      const acc = [0, 0, 0, 0];
      if (sx <= 1 && sy <= 1) {
        bilinear(src, width, height, (x0 + x1) / 2 - 0.5, (y0 + y1) / 2 - 0.5, acc);
      } else {
        let wsum = 0;
        for (let y = Math.floor(y0); y < Math.ceil(y1); y++) {
          const wy = Math.min(y + 1, y1) - Math.max(y, y0);
          const yy = Math.min(height - 1, Math.max(0, y));
          for (let x = Math.floor(x0); x < Math.ceil(x1); x++) {
            const w = wy * (Math.min(x + 1, x1) - Math.max(x, x0));
            const i = (yy * width + Math.min(width - 1, Math.max(0, x))) * 4;
            for (let c = 0; c < 4; c++) acc[c] += src[i + c] * w;
            wsum += w;
          }
        }
        for (let c = 0; c < 4; c++) acc[c] /= wsum;
      }
      const o = (oy * size + ox) * 4;
      for (let c = 0; c < 4; c++) out[o + c] = acc[c];
    }
  }
  return out;
}

function bilinear(src: Uint8Array | Uint8ClampedArray, w: number, h: number, x: number, y: number, acc: number[]): void {
  const cx = Math.min(w - 1, Math.max(0, x));
  const cy = Math.min(h - 1, Math.max(0, y));
  const x0 = Math.floor(cx), y0 = Math.floor(cy);
  const x1 = Math.min(w - 1, x0 + 1), y1 = Math.min(h - 1, y0 + 1);
  const fx = cx - x0, fy = cy - y0;
  for (let c = 0; c < 4; c++) {
    const a = src[(y0 * w + x0) * 4 + c] * (1 - fx) + src[(y0 * w + x1) * 4 + c] * fx;
    const b = src[(y1 * w + x0) * 4 + c] * (1 - fx) + src[(y1 * w + x1) * 4 + c] * fx;
    acc[c] = a * (1 - fy) + b * fy;
  }
}
