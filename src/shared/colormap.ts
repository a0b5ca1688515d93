/** Perceptually uniform colormaps (anchors sampled from matplotlib's viridis and inferno), as 256-entry RGB LUTs. */
const ANCHORS: Record<string, [number, number, number][]> = {
  viridis: [[68, 1, 84], [72, 36, 117], [65, 68, 135], [53, 95, 141], [42, 120, 142], [33, 145, 140], [34, 168, 132], [68, 191, 112], [122, 209, 81], [189, 223, 38], [253, 231, 37]],
  inferno: [[0, 0, 4], [22, 11, 57], [66, 10, 104], [106, 23, 110], [147, 38, 103], [188, 55, 84], [221, 81, 58], [243, 120, 25], [252, 165, 10], [246, 215, 70], [252, 255, 164]],
};

export type ColormapName = keyof typeof ANCHORS;
export const COLORMAPS = Object.keys(ANCHORS) as ColormapName[];

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
