/** Decodes the image bytes in the browser and turns them into the model's input tensor. */
import { ImageError } from '../shared/errors';
import type { Preprocess } from '../shared/modelCard';
import { sourceCrop, toInputTensor } from '../shared/preprocess';

export interface ImageInput {
  /** The size×size RGBA pixels the model sees (for display). */
  rgba: Uint8ClampedArray;
  tensor: Float32Array;
  sourceWidth: number;
  sourceHeight: number;
}

export async function loadImageInput(bytes: Uint8Array, mime: string, p: Preprocess): Promise<ImageInput> {
  let bitmap: ImageBitmap;
  try {
    const blob = new Blob([bytes as BlobPart], { type: mime });
    bitmap = mime === 'image/svg+xml' ? await rasterizeSvg(blob) : await createImageBitmap(blob, { imageOrientation: 'from-image' });
  } catch {
    throw new ImageError(`The image could not be decoded (${bytes.byteLength} bytes, ${mime}). It may be corrupt or in a format the browser cannot read.`);
  }
  const crop = sourceCrop(bitmap.width, bitmap.height, p);
  const canvas = new OffscreenCanvas(p.size, p.size);
  const ctx = canvas.getContext('2d', { willReadFrequently: true })!;
  // Transparent pixels become white, as most training pipelines composite RGBA images onto white.
  ctx.fillStyle = '#ffffff';
  ctx.fillRect(0, 0, p.size, p.size);
  ctx.imageSmoothingEnabled = true;
  ctx.imageSmoothingQuality = 'high';
  ctx.drawImage(bitmap, crop.x, crop.y, crop.width, crop.height, 0, 0, p.size, p.size);
  const rgba = ctx.getImageData(0, 0, p.size, p.size).data;
  const result = { rgba, tensor: toInputTensor(rgba, p.size, p), sourceWidth: bitmap.width, sourceHeight: bitmap.height };
  bitmap.close();
  return result;
}

/** SVG has no pixels of its own: draw it through an <img> (blob: URLs are allowed images) at its intrinsic size. */
async function rasterizeSvg(blob: Blob): Promise<ImageBitmap> {
  const url = URL.createObjectURL(blob);
  try {
    const img = new Image();
    img.src = url;
    await img.decode();
    const w = img.naturalWidth || 512;
    const h = img.naturalHeight || 512;
    return await createImageBitmap(img, { resizeWidth: Math.min(w, 2048), resizeHeight: Math.round((Math.min(w, 2048) / w) * h) });
  } finally {
    URL.revokeObjectURL(url);
  }
}
