/**
 * The panel's model in the extension host (vitLens.runModelIn = "extensionHost"), as the webview asks for it: the
 * reply carries the same tensors as the webview's worker would, or, when asked, each attention output's row 0 first
 * and the full tensors, or each head's attention distance computed from them, on demand (src/shared/firstRows.ts).
 * When the host ran the model ahead on its own decode of the image (src/host/runAhead.ts), the page asks for that run
 * with its pixels' SHA-256 first, and sends its input only if the host's pixels differ or it has no such run.
 */
import { t } from '../shared/l10n';
import type { RunResult } from '../shared/runnerClient';
import type { AheadMissed, HostRun, RequestChannel, WebviewRequest, WorkerTensor } from '../shared/protocol';

/** The full tensors the host held back from a run. */
export interface HeldInHost {
  /** Fetches them and returns the whole run. */
  rest(): Promise<RunResult>;
  /** Each head's mean attention distance per layer (`names` order), computed by the host from them. */
  distances(names: string[], grid: { rows: number; cols: number }, prefix: number, patchSize: number): Promise<number[][]>;
}

export interface HostRunResult extends RunResult {
  /** Set when the host held full tensors back. */
  held?: HeldInHost;
  /** The run the host started on its own decode of the image, with the page's pixels the same. */
  ranAhead?: boolean;
  /** Why the host's run ahead could not serve this run (the page's input was run instead). */
  aheadMissed?: AheadMissed;
}

/** `ahead`: visualize `seq`'s run ahead, asked for with the SHA-256 of the page's model-input pixels. */
export async function runInExtensionHost(requests: RequestChannel<WebviewRequest>, r: Extract<WebviewRequest, { kind: 'run' }>, ahead?: { seq: number; sha256: string }): Promise<HostRunResult> {
  const first = ahead && ((await requests.request({ ...r, input: undefined, ahead })) as HostRun | AheadMissed);
  const aheadMissed = first && 'differs' in first ? first : undefined;
  if (aheadMissed) console.warn(`ViT Lens: the extension host's run ahead was not used (${aheadMissed.differs}${aheadMissed.detail ? `: ${aheadMissed.detail}` : ''}); running the panel's input`);
  const h = first && !aheadMissed ? (first as HostRun) : ((await requests.request(r)) as HostRun);
  const tensors = new Map(h.tensors.map((x) => [x.name, x]));
  const result: HostRunResult = { tensors, backend: h.backend, threads: h.threads, inferenceMs: h.inferenceMs, sessionMs: h.sessionMs, warmUpMs: h.warmUpMs, ranAhead: h.ranAhead, aheadMissed };
  const held = h.rest;
  if (!held) return result;
  return {
    ...result,
    held: {
      rest: async () => {
        const full = (await requests.request({ kind: 'runRest', runId: held.runId })) as WorkerTensor[];
        const all = new Map(tensors);
        for (const x of full) all.set(x.name, x);
        // Every held tensor must come back whole, or the views would read first rows as a CLS-rows-only export.
        const missing = held.names.filter((n) => all.get(n)?.fullDims);
        if (missing.length) throw new Error(t`The extension host did not send the full attention of ${missing.join(', ')}.`);
        return { ...result, tensors: all };
      },
      distances: async (names, grid, prefix, patchSize) => (await requests.request({ kind: 'attentionDistance', runId: held.runId, names, grid, prefix, patchSize })) as number[][],
    },
  };
}
