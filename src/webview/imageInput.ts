/** Decodes the image bytes in the browser and turns them into the model's input tensor. */
import { ImageError } from '../shared/errors';
import { t } from '../shared/l10n';
import type { Preprocess } from '../shared/modelCard';
import { preprocessRgba, toInputTensor } from '../shared/preprocess';
import type { RowReader } from '../shared/resample';

export interface ImageInput {
  /** The RGBA pixels the model sees, its height × width (for display). */
  rgba: Uint8ClampedArray;
  tensor: Float32Array;
  sourceWidth: number;
  sourceHeight: number;
}

/** `preprocess`: the settings, or a function of the decoded image's width and height that gives them (anySize.ts). */
export async function loadImageInput(bytes: Uint8Array, mime: string, preprocess: Preprocess | ((width: number, height: number) => Preprocess)): Promise<ImageInput> {
  let bitmap: ImageBitmap;
  try {
    const blob = new Blob([bytes as BlobPart], { type: mime });
    // No colour management and no premultiplication: the file's own 8-bit values, as PIL reads them.
    bitmap = mime === 'image/svg+xml' ? await rasterizeSvg(blob) : await createImageBitmap(blob, { imageOrientation: 'from-image', colorSpaceConversion: 'none', premultiplyAlpha: 'none' });
  } catch {
    throw new ImageError(t`The image could not be decoded (${bytes.byteLength} bytes, ${mime}). It may be corrupt or in a format the browser cannot read.`);
  }
  const { width, height } = bitmap;
  const p = typeof preprocess === 'function' ? preprocess(width, height) : preprocess;
  // Native size, composited on white (as most training pipelines treat transparency), handed to our resize (PIL's
  // maths) a strip at a time: a 64 MP image is never copied whole besides its bitmap.
  let strip: OffscreenCanvas | undefined;
  let ctx: OffscreenCanvasRenderingContext2D | undefined;
  const rows: RowReader = (first, count) => {
    if (!strip || strip.height < count) {
      strip = new OffscreenCanvas(width, count);
      ctx = strip.getContext('2d', { willReadFrequently: true })!;
      ctx.imageSmoothingEnabled = false;
    }
    ctx!.fillStyle = '#ffffff';
    ctx!.fillRect(0, 0, width, count);
    ctx!.drawImage(bitmap, 0, first, width, count, 0, 0, width, count);
    return ctx!.getImageData(0, 0, width, count).data;
  };
  let rgba: Uint8ClampedArray;
  try {
    rgba = preprocessRgba(rows, width, height, p);
  } finally {
    bitmap.close();
  }
  return { rgba, tensor: toInputTensor(rgba, p), sourceWidth: width, sourceHeight: height };
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
