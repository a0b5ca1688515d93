/**
 * Swin Transformer window geometry: which M×M window each token of a stage falls in, before and after the
 * cyclic shift by ⌊M/2⌋, and which sub-regions the shifted-window attention mask keeps apart.
 * Coordinates are token (row, col) on the stage's grid; "original" means before torch.roll.
 */

export interface WindowLayout {
  rows: number;
  cols: number;
  /** Window side M in tokens. */
  window: number;
  /** Cyclic shift in tokens (0 for regular blocks, ⌊M/2⌋ for shifted ones). */
  shift: number;
}

export function windowCount(l: WindowLayout): number {
  return (l.rows / l.window) * (l.cols / l.window);
}

/** Where the token at original (r, c) lands after the shift: rolled by -shift (torch.roll(x, -s)). */
export function shiftedPosition(l: WindowLayout, r: number, c: number): [number, number] {
  return [mod(r - l.shift, l.rows), mod(c - l.shift, l.cols)];
}

/** The original position of the token at shifted position (r, c). */
export function originalPosition(l: WindowLayout, r: number, c: number): [number, number] {
  return [mod(r + l.shift, l.rows), mod(c + l.shift, l.cols)];
}

/** Window index and position inside the window (row-major, the order of the attention matrix). */
export function windowOf(l: WindowLayout, r: number, c: number): { window: number; index: number } {
  const [sr, sc] = shiftedPosition(l, r, c);
  const M = l.window;
  return { window: Math.floor(sr / M) * (l.cols / M) + Math.floor(sc / M), index: (sr % M) * M + (sc % M) };
}

/**
 * Flat original token indices (r·cols + c) of every window, in attention order:
 * the same as window_partition(torch.roll(index_grid, (-s, -s))) in the reference implementation.
 */
export function partitionIndexMap(l: WindowLayout): Int32Array {
  const M = l.window;
  const perRow = l.cols / M;
  const out = new Int32Array(l.rows * l.cols);
  for (let w = 0; w < windowCount(l); w++) {
    const wr = Math.floor(w / perRow) * M;
    const wc = (w % perRow) * M;
    for (let i = 0; i < M * M; i++) {
      const [r, c] = originalPosition(l, wr + Math.floor(i / M), wc + (i % M));
      out[w * M * M + i] = r * l.cols + c;
    }
  }
  return out;
}

/**
 * The attention-mask region of a token (0–8): after the shift, the last window row/column holds tokens
 * from opposite image borders, which must not attend to each other. Regions are the 3×3 slices
 * [0, H−M), [H−M, H−s), [H−s, H) of the shifted grid; a token only attends within its own region.
 * Regular blocks have one region.
 */
export function maskRegion(l: WindowLayout, r: number, c: number): number {
  if (l.shift === 0) return 0;
  const [sr, sc] = shiftedPosition(l, r, c);
  const slice = (v: number, n: number) => (v < n - l.window ? 0 : v < n - l.shift ? 1 : 2);
  return slice(sr, l.rows) * 3 + slice(sc, l.cols);
}

/**
 * Spreads one query token's window attention (M² values, in attention order) back onto the stage grid in
 * original coordinates, undoing the shift. Tokens outside the query's window get NaN (not attendable).
 */
export function windowAttentionToGrid(l: WindowLayout, windowIndex: number, row: ArrayLike<number>): Float32Array {
  const M = l.window;
  const map = partitionIndexMap(l);
  const out = new Float32Array(l.rows * l.cols).fill(NaN);
  for (let i = 0; i < M * M; i++) out[map[windowIndex * M * M + i]] = row[i];
  return out;
}

function mod(a: number, n: number): number {
  return ((a % n) + n) % n;
}

/** Shannon entropy (nats) of one probability row. */
export function rowEntropy(p: ArrayLike<number>, offset: number, n: number): number {
  let h = 0;
  for (let j = 0; j < n; j++) {
    const v = p[offset + j];
    if (v > 0) h -= v * Math.log(v);
  }
  return h;
}

/**
 * Mean attention entropy of every window (over heads and queries) for one block's window attention
 * [windows, heads, N, N]. Low entropy: the window's tokens attend to few others; the maximum is ln N.
 */
export function windowEntropy(data: ArrayLike<number>, windows: number, heads: number, n: number): Float32Array {
  const out = new Float32Array(windows);
  for (let w = 0; w < windows; w++) {
    let sum = 0;
    for (let h = 0; h < heads; h++) {
      for (let q = 0; q < n; q++) sum += rowEntropy(data, ((w * heads + h) * n + q) * n, n);
    }
    out[w] = sum / (heads * n);
  }
  return out;
}

/**
 * One query token's attention inside its window for a block's attention [windows, heads, M², M²]
 * (head −1: mean over heads), spread over the stage grid in original coordinates (NaN outside the window).
 */
export function patchWindowAttention(l: WindowLayout, data: ArrayLike<number>, heads: number, r: number, c: number, head: number): Float32Array {
  const n = l.window * l.window;
  const { window, index } = windowOf(l, r, c);
  const row = new Float32Array(n);
  const hs = head < 0 ? Array.from({ length: heads }, (_, h) => h) : [head];
  for (const h of hs) {
    const off = ((window * heads + h) * n + index) * n;
    for (let j = 0; j < n; j++) row[j] += data[off + j] / hs.length;
  }
  return windowAttentionToGrid(l, window, row);
}
