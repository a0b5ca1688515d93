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

/**
 * Where a class map puts its mass on this photo. The cat fills 149 of the 175 patches marked cat or background, so a
 * share of the mass says little on its own: `share` is compared with the plain last-layer attention's (about 0.43,
 * held by the corner patches, high-norm tokens), and `ratio` (mean over cat patches ÷ mean over background patches)
 * says whether the map is denser on the cat than around it.
 */
export function catStats(values: ArrayLike<number>): { share: number; ratio: number; hottest20: string } {
  let c = 0, b = 0;
  for (let i = 0; i < values.length; i++) {
    if (maskAt(i) === 'C') c += values[i];
    else if (maskAt(i) === 'B') b += values[i];
  }
  const hottest20 = Array.from({ length: values.length }, (_, i) => i).sort((i, j) => values[j] - values[i]).slice(0, 20).map((i) => maskAt(i)).join('');
  return { share: c / (c + b), ratio: meanOver(values, 'C') / meanOver(values, 'B'), hottest20 };
}
