/** Decodes PNG and JPEG files in Node (pure JavaScript decoders: no native build, no canvas). */
import { PNG } from 'pngjs';
import * as jpeg from 'jpeg-js';
import { ImageError } from '../shared/errors';
import { t } from '../shared/l10n';
import type { DecodedImage } from '../shared/preprocess';

export type { DecodedImage };

const MAX_PIXELS = 100e6;

export function decodeImage(bytes: Uint8Array, name: string): DecodedImage {
  if (bytes.byteLength === 0) throw new ImageError(t('{0} is empty (0 bytes).', name));
  const isPng = bytes[0] === 0x89 && bytes[1] === 0x50 && bytes[2] === 0x4e && bytes[3] === 0x47;
  const isJpeg = bytes[0] === 0xff && bytes[1] === 0xd8;
  try {
    if (isPng) {
      const png = PNG.sync.read(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
      return { width: png.width, height: png.height, rgba: new Uint8Array(png.data.buffer, png.data.byteOffset, png.data.byteLength) };
    }
    if (isJpeg) {
      const j = jpeg.decode(bytes, { useTArray: true, formatAsRGBA: true, maxResolutionInMP: MAX_PIXELS / 1e6, maxMemoryUsageInMB: 2048 });
      return { width: j.width, height: j.height, rgba: j.data };
    }
  } catch (e) {
    throw new ImageError(t('{0} could not be decoded: {1}', name, (e as Error).message));
  }
  throw new ImageError(t('{0} is not a PNG or JPEG file (the command-line tool reads those two formats).', name));
}

export function encodePng(rgba: Uint8ClampedArray | Uint8Array, width: number, height: number): Buffer {
  const png = new PNG({ width, height });
  png.data = Buffer.from(rgba.buffer, rgba.byteOffset, rgba.byteLength);
  return PNG.sync.write(png);
}
