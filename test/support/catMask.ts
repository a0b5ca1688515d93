/**
 * Which of the 14×14 patches of samples/cat_tabby.jpg (shorter side → 248 px, centre crop 224: the bundled
 * model's preprocessing) show the cat and which the blanket behind it. Drawn once by hand from the crop
 * with its patch grid: C cat (its out-of-focus back fills the top right), B background, . both or unsure (whiskers over the blanket).
 */
export const CAT_MASK = [
  'BB..CCCCCCCCCC',
  '.CCCCCCCCCCCCC',
  'CCCCCCCCCCCCCC',
  'CCCCCCCCCCCCCC',
  'CCCCCCCCCCCCCC',
  'CCCCCCCCCCCCCC',
  'CCCCCCCCCCCC..',
  'CCCCCCCCCCCC..',
  'CCCCCCCCCCCC..',
  'CCCCCCCCCCCCBB',
  'B.CCCCCCCCCC.B',
  'BB.CCCCC.CCC.B',
  'BBB.CCC.B.C.BB',
  'BBBB...BBBBBBB',
];

export function maskAt(index: number, cols = 14): string {
  return CAT_MASK[Math.floor(index / cols)][index % cols];
}

/** Mean of `values` over the cells marked `kind`. */
export function meanOver(values: ArrayLike<number>, kind: 'C' | 'B'): number {
  let s = 0;
  let n = 0;
  for (let i = 0; i < values.length; i++) if (maskAt(i) === kind) { s += values[i]; n++; }
  return s / n;
}
