/**
 * The first heatmap first, with the model in the extension host (vitLens.runModelIn): its full attention matrices
 * (ViT-B/16: 12 layers × 12 heads × 197², 22 MB) cross to the panel at a few MB/s in a remote window, but the first
 * heatmap, CLS attention, reads only row 0 of each. The host sends those rows first, marked with the full shape so
 * the panel cannot mistake them for a model that extracts CLS rows only, and keeps the full matrices until the
 * panel's next run: they cross only when a view needs other rows (a patch as the query, rollout, …), and the ideas'
 * attention distance is computed here from them. Every layer is present in the first reply, so no layer is renumbered.
 */
import { attentionLayerOf } from './attentionMaps';
import { nextTask } from './inSteps';
import { t } from './l10n';
import { meanAttentionDistance } from './locality';
import type { HostRun, WorkerTensor } from './protocol';

/** Row 0 of every [.., Q, T] matrix, as [.., 1, T]; undefined when it is not a full square matrix (nothing to save). */
export function firstRowOf(x: WorkerTensor): WorkerTensor | undefined {
  const [q, k] = x.dims.slice(-2);
  if (x.dims.length < 3 || q !== k || q < 2 || x.data.length % (q * k) !== 0) return undefined;
  const lead = x.data.length / (q * k);
  const rows = new Float32Array(lead * k);
  for (let i = 0; i < lead; i++) rows.set(x.data.subarray(i * q * k, i * q * k + k), i * k);
  return { name: x.name, dims: [...x.dims.slice(0, -2), 1, k], data: rows, fullDims: [...x.dims] };
}

/** The full matrices of one run, kept by the host for the panel that was sent their first rows (its latest run only). */
export class HeldAttention {
  private held?: { runId: number; tensors: WorkerTensor[] };
  private nextId = 1;

  /** Replaces each of `names` by its row 0 and keeps the full tensor; the run says what is held (`rest`). */
  firstRows(run: HostRun, names: readonly string[] | undefined): HostRun {
    // Runs that hold nothing back (occlusion, a folder's average) leave an earlier run's rest in place.
    if (!names?.length) return run;
    this.held = undefined;
    const kept: WorkerTensor[] = [];
    const tensors = run.tensors.map((x) => {
      const rows = names.includes(x.name) ? firstRowOf(x) : undefined;
      if (rows) kept.push(x);
      return rows ?? x;
    });
    if (!kept.length) return run;
    const runId = this.nextId++;
    this.held = { runId, tensors: kept };
    return { ...run, tensors, rest: { runId, names: kept.map((x) => x.name) } };
  }

  /** The full tensors of run `runId`: the panel merges them over the first rows. */
  rest(runId: number): WorkerTensor[] {
    return this.of(runId);
  }

  /**
   * Each head's mean attention distance per layer (`names` order) of run `runId`: see locality.ts. A layer at a time,
   * letting the host's other work in between: ViT-B/16 takes about 13 ms a layer, and the extension host's thread
   * serves every extension.
   */
  async distances(runId: number, names: readonly string[], grid: { rows: number; cols: number }, prefix: number, patchSize: number): Promise<number[][]> {
    const held = new Map(this.of(runId).map((x) => [x.name, x]));
    const out: number[][] = [];
    for (const n of names) {
      const x = held.get(n);
      if (!x) throw new Error(t`The extension host holds no full attention named ${n} for that run.`);
      const layer = attentionLayerOf(x.dims, x.data);
      if (layer.tokens !== prefix + grid.rows * grid.cols) throw new Error(t`Attention output ${n} has ${layer.tokens} tokens; the ${grid.rows}×${grid.cols} grid and ${prefix} prefix tokens make ${prefix + grid.rows * grid.cols}.`);
      out.push(meanAttentionDistance(layer, grid, prefix, patchSize));
      await nextTask();
    }
    return out;
  }

  private of(runId: number): WorkerTensor[] {
    const held = this.held;
    if (held?.runId !== runId) throw new Error(t('The panel has moved on: the full attention of that run is no longer held.'));
    return held.tensors;
  }

  /** Bytes held now (the panel's dispose and the tests). */
  heldBytes(): number {
    return (this.held?.tensors ?? []).reduce((s, x) => s + x.data.byteLength, 0);
  }

  clear(): void {
    this.held = undefined;
  }
}
