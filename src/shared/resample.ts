/**
 * Resizing exactly as Pillow's Image.resize does it on 8-bit RGB (libImaging/Resample.c and, for NEAREST,
 * Geometry.c's scale-affine path), so the model sees the pixels it was trained on: timm, torchvision and
 * Hugging Face all resize PIL images. Pure: no DOM, no VS Code.
 */
import { t } from './l10n';

export type Interpolation = 'nearest' | 'bilinear' | 'bicubic';

/**
 * Resize the whole image to resizeWidth×resizeHeight, then keep the window at (left, top) of
 * width×height; window pixels outside the resized image are `fill` (padding).
 */
export interface ResizeCrop {
  resizeWidth: number;
  resizeHeight: number;
  left: number;
  top: number;
  width: number;
  height: number;
  fill?: readonly number[];
}

// Pillow keeps 22 fractional bits so that negative lobes and sums over 1 fit in an int32.
const PRECISION_BITS = 22;
const ONE = 1 << PRECISION_BITS;
const HALF = 1 << (PRECISION_BITS - 1);

function bilinearFilter(x: number): number {
  if (x < 0) x = -x;
  return x < 1 ? 1 - x : 0;
}

// Keys' cubic with a = -0.5, written in Pillow's operation order so the doubles match bit for bit.
function bicubicFilter(x: number): number {
  const a = -0.5;
  if (x < 0) x = -x;
  if (x < 1) return ((a + 2) * x - (a + 3)) * x * x + 1;
  if (x < 2) return (((x - 5) * x + 8) * x - 4) * a;
  return 0;
}

interface Coefficients {
  /** Per output index: first input index, tap count. */
  first: Int32Array;
  count: Int32Array;
  /** Fixed-point weights, `ksize` per output index. */
  k: Int32Array;
  ksize: number;
}

/**
 * Pillow's precompute_coeffs + normalize_coeffs_8bpc for the output indices [from, to) of a resize
 * inSize → outSize: support widened by the downscale factor (antialiasing), weights normalized per output.
 */
function coefficients(inSize: number, outSize: number, from: number, to: number, filter: (x: number) => number, support0: number): Coefficients {
  const scale = inSize / outSize;
  const filterscale = Math.max(scale, 1);
  const support = support0 * filterscale;
  const ksize = Math.ceil(support) * 2 + 1;
  const n = Math.max(0, to - from);
  const first = new Int32Array(n);
  const count = new Int32Array(n);
  const k = new Int32Array(n * ksize);
  const w = new Float64Array(ksize);
  const ss = 1 / filterscale;
  for (let i = 0; i < n; i++) {
    const center = (from + i + 0.5) * scale;
    // C's (int) truncates toward zero.
    const xmin = Math.max(0, Math.trunc(center - support + 0.5));
    const xmax = Math.min(inSize, Math.trunc(center + support + 0.5)) - xmin;
    let ww = 0;
    for (let x = 0; x < xmax; x++) {
      w[x] = filter((x + xmin - center + 0.5) * ss);
      ww += w[x];
    }
    for (let x = 0; x < xmax; x++) {
      const v = ww !== 0 ? w[x] / ww : w[x];
      k[i * ksize + x] = v < 0 ? Math.trunc(-0.5 + v * ONE) : Math.trunc(0.5 + v * ONE);
    }
    first[i] = xmin;
    count[i] = Math.max(0, xmax);
  }
  return { first, count, k, ksize };
}

/** Pillow's clip8: fixed-point sum (rounding half already added) → 0..255. */
function clip8(ss: number): number {
  if (ss <= 0) return 0;
  if (ss >= 256 * ONE) return 255;
  return Math.floor(ss / ONE);
}

/**
 * Pillow's NEAREST (Geometry.c, ImagingScaleAffine): source index = trunc of a position that starts at
 * half a step and is accumulated step by step in doubles, as Pillow does.
 */
function nearestIndex(inSize: number, outSize: number): Int32Array {
  const step = inSize / outSize;
  const idx = new Int32Array(outSize);
  let pos = step * 0.5;
  for (let x = 0; x < outSize; x++) {
    idx[x] = Math.min(inSize - 1, pos < 0 ? 0 : Math.trunc(pos));
    pos += step;
  }
  return idx;
}

/** Rows [first, first + count) of the source image as RGBA: lets a caller hand over a huge image a strip at a time. */
export type RowReader = (first: number, count: number) => Uint8Array | Uint8ClampedArray;

/** How much source a band holds (about 16 MB): a 64 MP image is never copied whole for the resize. */
const BAND_BYTES = 16 * 2 ** 20;

/** Pillow's horizontal pass over `n` rows of `band` into rows [at, at + n) of the 8-bit RGB intermediate. */
function horizontalPass(band: Uint8Array | Uint8ClampedArray, srcWidth: number, n: number, at: number, cols: number, h: Coefficients, tmp: Uint8Array): void {
  for (let y = 0; y < n; y++) {
    const rowBase = y * srcWidth;
    for (let ox = 0; ox < cols; ox++) {
      const first = h.first[ox], count = h.count[ox], kb = ox * h.ksize;
      let r = HALF, g = HALF, b = HALF;
      for (let t = 0; t < count; t++) {
        const s = (rowBase + first + t) * 4;
        const w = h.k[kb + t];
        r += band[s] * w;
        g += band[s + 1] * w;
        b += band[s + 2] * w;
      }
      const o = ((at + y) * cols + ox) * 3;
      tmp[o] = clip8(r);
      tmp[o + 1] = clip8(g);
      tmp[o + 2] = clip8(b);
    }
  }
}

/**
 * RGBA source (4 bytes per pixel; alpha ignored: composite first) → the ResizeCrop window as RGBA with
 * alpha 255. Only the output pixels inside the window are computed; each is the value Pillow's full
 * resize would give there, since every output pixel depends only on its own coefficients.
 */
export function resizeCrop(src: Uint8Array | Uint8ClampedArray | RowReader, srcWidth: number, srcHeight: number, g: ResizeCrop, filter: Interpolation, bandBytes = BAND_BYTES): Uint8ClampedArray {
  if (typeof src !== 'function' && src.length < srcWidth * srcHeight * 4) throw new Error(t`resizeCrop: ${src.length} bytes for ${srcWidth}×${srcHeight} RGBA`);
  const read: RowReader = typeof src === 'function' ? src : (first, count) => src.subarray(first * srcWidth * 4, (first + count) * srcWidth * 4);
  const out = new Uint8ClampedArray(g.width * g.height * 4);
  const fill = g.fill ?? [0, 0, 0];
  for (let i = 0; i < g.width * g.height; i++) {
    out[i * 4] = fill[0];
    out[i * 4 + 1] = fill[1];
    out[i * 4 + 2] = fill[2];
    out[i * 4 + 3] = 255;
  }
  // The window's part inside the resized image, in resized coordinates.
  const x0 = Math.max(0, g.left), x1 = Math.min(g.resizeWidth, g.left + g.width);
  const y0 = Math.max(0, g.top), y1 = Math.min(g.resizeHeight, g.top + g.height);
  if (x1 <= x0 || y1 <= y0) return out;
  const cols = x1 - x0;
  const rows = y1 - y0;
  const put = (ox: number, oy: number) => ((oy + y0 - g.top) * g.width + (ox + x0 - g.left)) * 4;

  if (filter === 'nearest') {
    const xi = nearestIndex(srcWidth, g.resizeWidth);
    const yi = nearestIndex(srcHeight, g.resizeHeight);
    for (let oy = 0; oy < rows; oy++) {
      const line = read(yi[oy + y0], 1);
      for (let ox = 0; ox < cols; ox++) {
        const s = xi[ox + x0] * 4;
        const o = put(ox, oy);
        out[o] = line[s];
        out[o + 1] = line[s + 1];
        out[o + 2] = line[s + 2];
      }
    }
    return out;
  }

  const f = filter === 'bicubic' ? bicubicFilter : bilinearFilter;
  const support = filter === 'bicubic' ? 2 : 1;
  const v = coefficients(srcHeight, g.resizeHeight, y0, y1, f, support);
  // Source rows the vertical pass reads: the horizontal pass runs over these only, as in Pillow.
  const rowFirst = v.first[0];
  const rowLast = v.first[rows - 1] + v.count[rows - 1];
  const tmpRows = rowLast - rowFirst;
  // Pillow skips a pass whose size does not change; its coefficients would be the identity anyway.
  const horizontal = g.resizeWidth !== srcWidth;
  const vertical = g.resizeHeight !== srcHeight;

  // Horizontal pass into 8-bit RGB: Pillow rounds to uint8 between the passes.
  const tmp = new Uint8Array(cols * tmpRows * 3);
  const h = horizontal ? coefficients(srcWidth, g.resizeWidth, x0, x1, f, support) : undefined;
  // Source rows arrive in bands, so a caller can decode a huge image a strip at a time.
  const bandRows = Math.max(1, Math.floor(bandBytes / (srcWidth * 4)));
  for (let b0 = 0; b0 < tmpRows; b0 += bandRows) {
    const n = Math.min(bandRows, tmpRows - b0);
    const band = read(rowFirst + b0, n);
    if (h) horizontalPass(band, srcWidth, n, b0, cols, h, tmp);
    else {
      for (let y = 0; y < n; y++) {
        for (let ox = 0; ox < cols; ox++) {
          const s = (y * srcWidth + ox + x0) * 4;
          const o = ((b0 + y) * cols + ox) * 3;
          tmp[o] = band[s];
          tmp[o + 1] = band[s + 1];
          tmp[o + 2] = band[s + 2];
        }
      }
    }
  }

  for (let oy = 0; oy < rows; oy++) {
    const first = v.first[oy] - rowFirst, n = v.count[oy], kb = oy * v.ksize;
    for (let ox = 0; ox < cols; ox++) {
      const o = put(ox, oy);
      if (!vertical) {
        const s = ((oy + y0 - rowFirst) * cols + ox) * 3;
        out[o] = tmp[s];
        out[o + 1] = tmp[s + 1];
        out[o + 2] = tmp[s + 2];
        continue;
      }
      let r = HALF, gg = HALF, b = HALF;
      for (let t = 0; t < n; t++) {
        const s = ((first + t) * cols + ox) * 3;
        const w = v.k[kb + t];
        r += tmp[s] * w;
        gg += tmp[s + 1] * w;
        b += tmp[s + 2] * w;
      }
      out[o] = clip8(r);
      out[o + 1] = clip8(gg);
      out[o + 2] = clip8(b);
    }
  }
  return out;
}

/** Python's round(): halves go to the even neighbour (torchvision's and timm's crop offsets use it). */
export function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}
