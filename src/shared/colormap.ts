/**
 * Perceptually uniform colormaps as 256-entry RGB LUTs, interpolated from anchors sampled from matplotlib's
 * viridis, inferno and cividis (viridis and cividis are designed for colour-vision deficiency).
 */
const ANCHORS: Record<string, [number, number, number][]> = {
  viridis: [[68, 1, 84], [72, 36, 117], [65, 68, 135], [53, 95, 141], [42, 120, 142], [33, 145, 140], [34, 168, 132], [68, 191, 112], [122, 209, 81], [189, 223, 38], [253, 231, 37]],
  cividis: [[0, 34, 78], [15, 52, 110], [54, 72, 108], [84, 91, 108], [110, 111, 114], [136, 132, 120], [163, 154, 117], [191, 177, 108], [220, 201, 95], [248, 226, 73], [255, 234, 70]],
  gray: [[0, 0, 0], [255, 255, 255]],
  inferno: [[0, 0, 4], [22, 11, 57], [66, 10, 104], [106, 23, 110], [147, 38, 103], [188, 55, 84], [221, 81, 58], [243, 120, 25], [252, 165, 10], [246, 215, 70], [252, 255, 164]],
};

export type ColormapName = keyof typeof ANCHORS;

const cache = new Map<string, Uint8Array>();

export function colormapLut(name: ColormapName): Uint8Array {
  let lut = cache.get(name);
  if (lut) return lut;
  const a = ANCHORS[name];
  lut = new Uint8Array(256 * 3);
  for (let i = 0; i < 256; i++) {
    const t = (i / 255) * (a.length - 1);
    const k = Math.min(a.length - 2, Math.floor(t));
    const f = t - k;
    for (let c = 0; c < 3; c++) lut[i * 3 + c] = Math.round(a[k][c] * (1 - f) + a[k + 1][c] * f);
  }
  cache.set(name, lut);
  return lut;
}
