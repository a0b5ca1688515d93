/**
 * DINO's attention mask: the smallest set of patches that together hold a fraction `mass` of the attention
 * (values renormalized to sum to 1 over the patches).
 */
export function massThresholdMask(values: ArrayLike<number>, mass: number): Uint8Array {
  const n = values.length;
  let total = 0;
  for (let i = 0; i < n; i++) total += Math.max(0, values[i]);
  const mask = new Uint8Array(n);
  if (total <= 0) return mask;
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => values[b] - values[a] || a - b);
  let acc = 0;
  for (const i of order) {
    if (acc >= mass * total - 1e-12) break;
    mask[i] = 1;
    acc += Math.max(0, values[i]);
  }
  return mask;
}
