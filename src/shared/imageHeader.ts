/**
 * What an image file is, from its first bytes, and how large it claims to be, without decoding it:
 * enough to refuse a non-image or an image too large to decode safely before it reaches the webview.
 */
import { ImageError } from './errors';
import { t } from './l10n';

export type ImageFormat = 'png' | 'jpeg' | 'gif' | 'bmp' | 'webp' | 'svg';

export interface ImageHeader {
  format: ImageFormat;
  mime: string;
  width?: number;
  height?: number;
  /** A JPEG's colour components: 1 grey, 3 YCbCr (or RGB), 4 CMYK or YCCK. */
  components?: number;
  /**
   * A PNG's bits per sample, colour type (0 grey, 2 RGB, 3 palette, 4 grey + alpha, 6 RGBA), and whether it has a
   * tRNS chunk (transparency for a palette or one colour) before its pixels.
   */
  png?: { bitDepth: number; colorType: number; transparency: boolean };
}

const MIME: Record<ImageFormat, string> = { png: 'image/png', jpeg: 'image/jpeg', gif: 'image/gif', bmp: 'image/bmp', webp: 'image/webp', svg: 'image/svg+xml' };

export function readImageHeader(b: Uint8Array, name: string): ImageHeader {
  if (b.byteLength === 0) throw new ImageError(t`${name} is empty (0 bytes).`);
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const ascii = (o: number, n: number) => String.fromCharCode(...b.subarray(o, o + n));
  const h = (format: ImageFormat, width?: number, height?: number): ImageHeader => ({ format, mime: MIME[format], width, height });
  if (b.byteLength >= 24 && b[0] === 0x89 && ascii(1, 3) === 'PNG') return { ...h('png', dv.getUint32(16), dv.getUint32(20)), ...(b.byteLength >= 26 ? { png: { bitDepth: b[24], colorType: b[25], transparency: pngHasTransparency(b, dv) } } : {}) };
  if (b.byteLength >= 10 && ascii(0, 3) === 'GIF') return h('gif', dv.getUint16(6, true), dv.getUint16(8, true));
  if (b.byteLength >= 26 && ascii(0, 2) === 'BM') return h('bmp', Math.abs(dv.getInt32(18, true)), Math.abs(dv.getInt32(22, true)));
  if (b.byteLength >= 30 && ascii(0, 4) === 'RIFF' && ascii(8, 4) === 'WEBP') {
    const kind = ascii(12, 4);
    if (kind === 'VP8 ') return h('webp', dv.getUint16(26, true) & 0x3fff, dv.getUint16(28, true) & 0x3fff);
    if (kind === 'VP8L') {
      const bits = dv.getUint32(21, true);
      return h('webp', (bits & 0x3fff) + 1, ((bits >> 14) & 0x3fff) + 1);
    }
    if (kind === 'VP8X') return h('webp', 1 + (b[24] | (b[25] << 8) | (b[26] << 16)), 1 + (b[27] | (b[28] << 8) | (b[29] << 16)));
    return h('webp');
  }
  if (b.byteLength >= 3 && b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff) return { ...h('jpeg'), ...jpegSize(b, dv) };
  const head = new TextDecoder().decode(b.subarray(0, 512)).trimStart().toLowerCase();
  if (head.startsWith('<svg') || (head.startsWith('<?xml') && head.includes('<svg'))) return h('svg');
  throw new ImageError(t`${name} is not an image ViT Lens can read (PNG, JPEG, GIF, BMP, WebP or SVG): its first bytes are ${describe(b)}.`);
}

/** Whether a tRNS chunk comes before the first IDAT (where the PNG format puts it). */
function pngHasTransparency(b: Uint8Array, dv: DataView): boolean {
  for (let o = 8; o + 8 <= b.byteLength; o += 12 + dv.getUint32(o)) {
    const kind = String.fromCharCode(b[o + 4], b[o + 5], b[o + 6], b[o + 7]);
    if (kind === 'tRNS') return true;
    if (kind === 'IDAT' || kind === 'IEND') return false;
  }
  return false;
}

/** Scans JPEG markers to the first start-of-frame for the dimensions. */
function jpegSize(b: Uint8Array, dv: DataView): { width?: number; height?: number; components?: number } {
  let o = 2;
  while (o + 9 < b.byteLength) {
    if (b[o] !== 0xff) return {};
    const marker = b[o + 1];
    if (marker === 0xd8 || (marker >= 0xd0 && marker <= 0xd7) || marker === 0x01) {
      o += 2;
      continue;
    }
    const len = dv.getUint16(o + 2);
    const isSof = marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc;
    if (isSof) return { height: dv.getUint16(o + 5), width: dv.getUint16(o + 7), components: b[o + 9] };
    o += 2 + len;
  }
  return {};
}

function describe(b: Uint8Array): string {
  const n = Math.min(8, b.byteLength);
  const printable = Array.from(b.subarray(0, n)).every((c) => c >= 32 && c < 127);
  return printable ? t`"${String.fromCharCode(...b.subarray(0, n))}…" (text)` : Array.from(b.subarray(0, n), (c) => c.toString(16).padStart(2, '0')).join(' ');
}

/** Refuses images whose decoded pixels would not fit the webview's memory comfortably. */
export function checkImageSize(h: ImageHeader, name: string, maxMegapixels: number): void {
  if (!h.width || !h.height) return;
  const mp = (h.width * h.height) / 1e6;
  if (mp > maxMegapixels) {
    throw new ImageError(t`${name} is ${h.width}×${h.height} pixels (${mp.toFixed(0)} MP, about ${((h.width * h.height * 4) / 2 ** 30).toFixed(1)} GiB decoded); ViT Lens decodes images up to ${maxMegapixels} MP (setting vitLens.maxImageMegapixels). Downscale it first.`);
  }
}
