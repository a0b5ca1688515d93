/**
 * PNG decoding in the extension host for the run ahead (runAhead.ts): pngjs gives the same 8-bit values as the panel's
 * Chromium with colorSpaceConversion 'none' (which ignores gAMA, sRGB and ICC chunks too). Opaque images only: the page
 * composites transparency on white through its canvas, whose rounding the host does not reproduce. No vscode import.
 */
import { PNG } from 'pngjs';
import type { DecodedImage } from '../shared/preprocess';

/** Decodes `bytes`; inflating runs on Node's thread pool. Rejects a PNG with any pixel not fully opaque. */
export function decodePng(bytes: Uint8Array): Promise<DecodedImage> {
  return new Promise((resolve, reject) => {
    new PNG({ checkCRC: true }).parse(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength), (err, png) => {
      if (err) return reject(err);
      for (let i = 3; i < png.data.length; i += 4) {
        // l10n-ignore: never shown: the page then decodes the image itself, and logs this to its console only
        if (png.data[i] !== 255) return reject(new Error('transparent pixels: the page composites them on white'));
      }
      resolve({ rgba: new Uint8ClampedArray(png.data.buffer, png.data.byteOffset, png.data.byteLength), width: png.width, height: png.height });
    });
  });
}
