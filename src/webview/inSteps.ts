/** Long work on the panel's UI thread, cut into steps so the page keeps painting between them. */

/** The next task: the page paints (and handles input) before the caller goes on. */
export const nextTask = (): Promise<void> => new Promise((r) => setTimeout(r, 0));

/**
 * `parts` in pieces of at most 16 MB, in order, with a yield to the page after each piece when there is more than
 * one: copying a 346 MB ViT-B in one go stops the panel painting for a few hundred ms.
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
