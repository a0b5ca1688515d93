/** Image → model input, shared by the webview and the command-line tool. */
import { inputSize, type Preprocess } from './modelCard';
import { resizeCrop, ResizeCrop, roundHalfEven, type RowReader } from './resample';

/** An image decoded to 8-bit RGBA, row by row (the CLI's and the extension host's decoders). */
export interface DecodedImage { width: number; height: number; rgba: Uint8Array | Uint8ClampedArray }

export interface Rect { x: number; y: number; width: number; height: number }

/**
 * About the region of the source image that becomes the model's input (for display; the pixels come from
 * resizeCropFor): the central square of the shorter side, narrowed by crop_pct, or the whole image.
 */
export function sourceCrop(width: number, height: number, p: Preprocess): Rect {
  if (p.crop === 'none') return { x: 0, y: 0, width, height };
  if (p.width !== undefined || p.resize === 'squash') {
    // The crop window mapped back through the resize (clipped where the crop pads).
    const r = resizeCropFor(width, height, p);
    const sx = width / r.resizeWidth, sy = height / r.resizeHeight;
    const x = Math.max(0, r.left * sx), y = Math.max(0, r.top * sy);
    return { x, y, width: Math.min(width, (r.left + r.width) * sx) - x, height: Math.min(height, (r.top + r.height) * sy) - y };
  }
  if (p.resize !== 'shorter-side') return { x: 0, y: 0, width, height };
  const resize = p.resizeSize ?? Math.floor(p.size / (p.cropPct ?? 1));
  const side = Math.min(width, height) * Math.min(1, p.size / resize);
  return { x: (width - side) / 2, y: (height - side) / 2, width: side, height: side };
}

/** RGBA pixels (the input's height × width) → normalized CHW float32 tensor. */
export function toInputTensor(rgba: Uint8ClampedArray | Uint8Array, p: Preprocess): Float32Array {
  const n = rgba.length / 4;
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
  const { height: th, width: tw } = inputSize(p);
  const crop = p.crop === 'center';
  // The box resized to before the crop: the config's resize size, else timm's floor(side / crop_pct) per side.
  const sh = p.resizeSize ?? Math.floor(th / (p.cropPct ?? 1));
  const sw = p.resizeWidth ?? p.resizeSize ?? Math.floor(tw / (p.cropPct ?? 1));
  const scaleSize = sh;
  let rw: number, rh: number;
  if (p.resize === 'squash' || !crop) {
    // A non-square squash (timm's tuple scale_size, Hugging Face's {height, width}) resizes each side on its own.
    rh = crop ? sh : th;
    rw = crop ? sw : tw;
  } else if (p.resize === 'longer-side' || sh !== sw) {
    // timm's ResizeKeepRatio: ratio = max (longest, 'border') or min (a non-square target in center mode) of
    // the two sides' ratios, each side round()ed.
    const pick = p.resize === 'longer-side' ? Math.max : Math.min;
    const ratio = pick(height / sh, width / sw);
    rw = roundHalfEven(width / ratio);
    rh = roundHalfEven(height / ratio);
  } else if (width <= height) {
    rw = scaleSize;
    rh = Math.trunc((scaleSize * height) / width);
  } else {
    rh = scaleSize;
    rw = Math.trunc((scaleSize * width) / height);
  }
  const offset = (dim: number, size: number): number => {
    if (dim >= size) return p.cropRounding === 'floor' ? Math.floor((dim - size) / 2) : roundHalfEven((dim - size) / 2);
    // A crop larger than the image pads it: torchvision/timm put floor(pad/2) before, Hugging Face ceil.
    return -(p.cropRounding === 'floor' ? Math.ceil((size - dim) / 2) : Math.floor((size - dim) / 2));
  };
  const fill = p.resize === 'longer-side' ? p.mean.map((m) => roundHalfEven(255 * m)) : [0, 0, 0];
  return { resizeWidth: rw, resizeHeight: rh, left: offset(rw, tw), top: offset(rh, th), width: tw, height: th, fill };
}

/** Decoded RGBA (composited onto white already) → the RGBA the model sees (its height × width), as PIL computes it. */
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
