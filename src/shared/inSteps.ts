/**
 * Long work on a thread others wait for, cut into steps: the panel's UI thread (the page keeps painting) and the
 * extension host's (it serves every extension and the panel's messages).
 */

/** The next task: the page paints (and handles input), or the host handles its events, before the caller goes on. */
export const nextTask = (): Promise<void> => new Promise((r) => setTimeout(r, 0));

/**
 * `parts` in pieces of at most 16 MB, in order, with a yield to the page after each piece when there is more than
 * one: copying a 346 MB ViT-B in one go stops the panel painting for a few hundred ms, and the extension host for
 * 1.0–1.4 s in code-server on 2 cores.
 */
export async function* piecesWithYields(parts: Uint8Array[], size = 16 << 20): AsyncGenerator<Uint8Array> {
  const several = parts.reduce((n, p) => n + p.byteLength, 0) > size;
  for (const p of parts) {
    for (let i = 0; i < p.byteLength; i += size) {
      yield p.subarray(i, Math.min(p.byteLength, i + size));
      if (several) await nextTask();
    }
  }
}

/** One new buffer holding `parts`, copied in steps (a frame gap measured by bench/chromium.ts otherwise). */
export async function joinInSteps(parts: Uint8Array[]): Promise<Uint8Array> {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
  let o = 0;
  for await (const piece of piecesWithYields(parts)) {
    out.set(piece, o);
    o += piece.byteLength;
  }
  return out;
}
