/** Image → model input, shared by the webview and the command-line tool. */
import type { Preprocess } from './modelCard';
import { resizeCrop, ResizeCrop, roundHalfEven, type RowReader } from './resample';

export interface Rect { x: number; y: number; width: number; height: number }

/**
 * About the region of the source image that becomes the model's input (for display; the pixels come from
 * resizeCropFor): the central square of the shorter side, narrowed by crop_pct, or the whole image.
 */
export function sourceCrop(width: number, height: number, p: Preprocess): Rect {
  if (p.resize !== 'shorter-side' || p.crop === 'none') return { x: 0, y: 0, width, height };
  const resize = p.resizeSize ?? Math.floor(p.size / (p.cropPct ?? 1));
  const side = Math.min(width, height) * Math.min(1, p.size / resize);
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
 * Where the model's size×size input comes from in the image resized as its training pipeline resized it:
 * - 'shorter-side' (timm/torchvision Resize(int), Hugging Face shortest_edge): shorter side → the resize
 *   size, longer side → int(resize·long/short);
 * - 'squash' (timm crop_mode squash, Hugging Face {height, width}): both sides → the resize size;
 * - 'longer-side' (timm crop_mode border): the longer side → the resize size, the other round()ed, padded
 *   with round(255·mean) where the crop is larger (timm's CenterCropOrPad);
 * then the center crop: torchvision's int(round((h − crop)/2)) or Hugging Face's (h − crop)//2.
 * The resize size is `resizeSize` when the config gives it, else floor(size / cropPct) as in timm.
 */
export function resizeCropFor(width: number, height: number, p: Preprocess): ResizeCrop {
  const size = p.size;
  const crop = p.crop === 'center';
  const scaleSize = p.resizeSize ?? (crop ? Math.floor(size / (p.cropPct ?? 1)) : size);
  let rw: number, rh: number;
  if (p.resize === 'squash' || !crop) {
    rw = rh = crop ? scaleSize : size;
  } else if (p.resize === 'longer-side') {
    const ratio = Math.max(height / scaleSize, width / scaleSize);
    rw = roundHalfEven(width / ratio);
    rh = roundHalfEven(height / ratio);
  } else if (width <= height) {
    rw = scaleSize;
    rh = Math.trunc((scaleSize * height) / width);
  } else {
    rh = scaleSize;
    rw = Math.trunc((scaleSize * width) / height);
  }
  const offset = (dim: number): number => {
    if (dim >= size) return p.cropRounding === 'floor' ? Math.floor((dim - size) / 2) : roundHalfEven((dim - size) / 2);
    // A crop larger than the image pads it: torchvision/timm put floor(pad/2) before, Hugging Face ceil.
    return -(p.cropRounding === 'floor' ? Math.ceil((size - dim) / 2) : Math.floor((size - dim) / 2));
  };
  const fill = p.resize === 'longer-side' ? p.mean.map((m) => roundHalfEven(255 * m)) : [0, 0, 0];
  return { resizeWidth: rw, resizeHeight: rh, left: offset(rw), top: offset(rh), width: size, height: size, fill };
}

/** Decoded RGBA (composited onto white already) → the size×size RGBA the model sees, as PIL computes it. */
export function preprocessRgba(rgba: Uint8Array | Uint8ClampedArray | RowReader, width: number, height: number, p: Preprocess): Uint8ClampedArray {
  return resizeCrop(rgba, width, height, resizeCropFor(width, height, p), p.interpolation ?? 'bilinear');
}

/** Composites RGBA onto white in place (as the webview's canvas does), before resizing. */
export function compositeOnWhite(rgba: Uint8Array | Uint8ClampedArray): void {
  for (let i = 3; i < rgba.length; i += 4) {
    const a = rgba[i];
    if (a === 255) continue;
    for (let c = i - 3; c < i; c++) rgba[c] = Math.round((rgba[c] * a + 255 * (255 - a)) / 255);
    rgba[i] = 255;
  }
}
