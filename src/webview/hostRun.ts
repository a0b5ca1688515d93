/**
 * The panel's model in the extension host (vitLens.runModelIn = "extensionHost"), as the webview asks for it: the
 * reply carries the same tensors as the webview's worker would, or, when asked, each attention output's row 0 first
 * and the full tensors, or each head's attention distance computed from them, on demand (src/shared/firstRows.ts).
 */
import { t } from '../shared/l10n';
import type { RunResult } from '../shared/runnerClient';
import type { HostRun, RequestChannel, WebviewRequest, WorkerTensor } from '../shared/protocol';

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
}

export async function runInExtensionHost(requests: RequestChannel<WebviewRequest>, r: Extract<WebviewRequest, { kind: 'run' }>): Promise<HostRunResult> {
  const h = (await requests.request(r)) as HostRun;
  const tensors = new Map(h.tensors.map((x) => [x.name, x]));
  const result: RunResult = { tensors, backend: h.backend, threads: h.threads, inferenceMs: h.inferenceMs, sessionMs: h.sessionMs, warmUpMs: h.warmUpMs };
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
