/** Deterministic mutations of the demo model for the fuzz tests (same 1 000 models on every run). */
import { readFileSync } from 'node:fs';
import { DEMO_MODEL } from './fixtures';

const original = new Uint8Array(readFileSync(DEMO_MODEL));

/** Deterministic xorshift32 so every CI run sees the same 1 000 models. */
function rng(seed: number) {
  let x = seed >>> 0 || 1;
  return (n: number) => {
    x ^= x << 13; x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5; x >>>= 0;
    return x % n;
  };
}

export function mutate(i: number): { bytes: Uint8Array; how: string } {
  const r = rng(0x5eed + i * 7919);
  const kind = i % 4;
  if (kind === 0) {
    const cut = r(original.length);
    return { bytes: original.slice(0, cut), how: `truncated at ${cut}` };
  }
  const b = original.slice();
  if (kind === 1) {
    const n = 1 + r(16);
    // Flips land in the graph structure (the first 64 KiB and the tail hold nodes and names) half of the time.
    for (let k = 0; k < n; k++) b[r(2) ? r(Math.min(65536, b.length)) : b.length - 1 - r(65536)] ^= 1 << r(8);
    return { bytes: b, how: `${n} bit flips` };
  }
  const at = r(b.length);
  const len = 1 + r(64);
  if (kind === 2) {
    const junk = Uint8Array.from({ length: len }, () => r(256));
    const out = new Uint8Array(b.length + len);
    out.set(b.subarray(0, at));
    out.set(junk, at);
    out.set(b.subarray(at), at + len);
    return { bytes: out, how: `${len} random bytes inserted at ${at}` };
  }
  const out = new Uint8Array(b.length - Math.min(len, b.length - at));
  out.set(b.subarray(0, at));
  out.set(b.subarray(at + len), at);
  return { bytes: out, how: `${len} bytes deleted at ${at}` };
}

