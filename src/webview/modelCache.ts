/**
 * Copies of recently used models in the panel's own storage (IndexedDB). VS Code gives a panel type a stable
 * origin, so a new panel, or the same panel after a window reload, finds them there instead of receiving the
 * model from the extension host again (about 20 MB/s in a remote window: 17 s for a ViT-B/16). Best effort:
 * any storage error just means the host sends the bytes. The least recently used copies go beyond the budget
 * (vitLens.modelCacheMB).
 */

import { piecesWithYields } from '../shared/inSteps';

const DB = 'vit-lens-models';
const STORE = 'models';

interface Entry { blob: Blob; size: number; lastUsed: number }

let opening: Promise<IDBDatabase> | undefined;

function db(): Promise<IDBDatabase> {
  opening ??= new Promise<IDBDatabase>((resolve, reject) => {
    const r = indexedDB.open(DB, 1);
    r.onupgradeneeded = () => r.result.createObjectStore(STORE);
    r.onsuccess = () => resolve(r.result);
    // l10n-ignore: never shown (every caller catches storage errors and the host sends the bytes instead)
    r.onerror = () => reject(r.error ?? new Error('IndexedDB unavailable'));
  });
  opening.catch(() => (opening = undefined));
  return opening;
}

function request<T>(r: IDBRequest<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    r.onsuccess = () => resolve(r.result);
    // l10n-ignore: never shown (every caller catches storage errors)
    r.onerror = () => reject(r.error ?? new Error('IndexedDB request failed'));
  });
}

async function store(mode: IDBTransactionMode): Promise<IDBObjectStore> {
  return (await db()).transaction(STORE, mode).objectStore(STORE);
}

/** The ids of the models kept here (told to the host in 'ready', so it need not send their bytes). */
export async function cachedModelIds(): Promise<string[]> {
  try {
    return (await request((await store('readonly')).getAllKeys())).map(String);
  } catch {
    return [];
  }
}

/** The kept bytes of model `id`, or undefined (not kept, or unreadable). */
export async function readCachedModel(id: string, size: number): Promise<Uint8Array | undefined> {
  try {
    const e = (await request((await store('readonly')).get(id))) as Entry | undefined;
    if (!e || e.size !== size) return undefined;
    const bytes = new Uint8Array(await e.blob.arrayBuffer());
    void store('readwrite').then((s) => s.put({ ...e, lastUsed: Date.now() }, id)).catch(() => undefined);
    return bytes.byteLength === size ? bytes : undefined;
  } catch {
    return undefined;
  }
}

/**
 * A Blob of `bytes`, built in steps: the Blob constructor copies on the UI thread. Chromium keeps the earlier
 * pieces by reference when a Blob is built from a Blob.
 */
async function toBlob(bytes: Uint8Array): Promise<Blob> {
  let blob = new Blob([]);
  for await (const piece of piecesWithYields([bytes])) blob = new Blob([blob, piece as BlobPart]);
  return blob;
}

/** Keeps `bytes` as model `id`, then drops the least recently used copies until all fit in `budget` bytes. */
export async function cacheModel(id: string, bytes: Uint8Array, budget: number): Promise<void> {
  try {
    const s = await store('readwrite');
    if (bytes.byteLength > budget) {
      await request(s.delete(id));
      return;
    }
    const entries: [string, Entry][] = [];
    await new Promise<void>((resolve, reject) => {
      const c = s.openCursor();
      c.onsuccess = () => {
        const cur = c.result;
        if (!cur) return resolve();
        if (String(cur.key) !== id) entries.push([String(cur.key), cur.value as Entry]);
        cur.continue();
      };
      // l10n-ignore: never shown (cacheModel catches storage errors)
      c.onerror = () => reject(c.error ?? new Error('IndexedDB cursor failed'));
    });
    entries.sort((a, b) => a[1].lastUsed - b[1].lastUsed);
    let total = bytes.byteLength + entries.reduce((n, [, e]) => n + e.size, 0);
    for (const [key, e] of entries) {
      if (total <= budget) break;
      s.delete(key);
      total -= e.size;
    }
    const blob = await toBlob(bytes);
    await request((await store('readwrite')).put({ blob, size: bytes.byteLength, lastUsed: Date.now() } satisfies Entry, id));
  } catch {
    // Storage full or unavailable: the host sends the bytes next time.
  }
}

/** Drops every copy (the user set vitLens.modelCacheMB to 0). */
export async function clearCachedModels(): Promise<void> {
  try {
    await request((await store('readwrite')).clear());
  } catch {
    // nothing kept
  }
}
