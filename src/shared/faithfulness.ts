/**
 * Deletion and insertion curves (Petsiuk et al., 2018, "RISE"; the positive/negative perturbation test of
 * Chefer et al., 2021): does a saliency map point at the patches the prediction actually depends on?
 *
 * - Rank the map's patches hottest first; ties go to the lower patch index (row-major), so the order — and hence
 *   the curve — is deterministic and equal to a stable sort in NumPy/PyTorch.
 * - Steps k = 0, 1/steps, …, 1 (steps = 10 by default: 0 %, 10 %, …, 100 %). At step k the top
 *   round-half-up(k·n) patches are used, computed in integers so floating point never decides a patch.
 * - Deletion: blank those patches (see occlusion.ts for "blank": the mean colour, 0 after normalization) and record
 *   the class probability. A faithful map makes it fall fast: low area under the curve.
 * - Insertion: start from the fully blanked input and restore those patches. A faithful map makes it rise fast:
 *   high area under the curve.
 * - Area: the trapezoid rule over k ∈ [0, 1].
 */
import { argmax } from './attentionMaps';
import { t } from './l10n';
import { blankPatches, checkGeometry, classProbability, type InputDims, type PatchGrid, type RunBatch, runInBatches, type RunOptions } from './occlusion';

export const FAITHFULNESS_STEPS = 10;

/** Patch indices hottest first; ties (and NaN, treated as coldest) in increasing index order. */
export function rankPatches(map: ArrayLike<number>): number[] {
  const v = (i: number) => (Number.isNaN(map[i]) ? -Infinity : map[i]);
  return Array.from({ length: map.length }, (_, i) => i).sort((a, b) => v(b) - v(a) || a - b);
}

/** Patches used at step `step` of `steps` for n patches: round half up of step/steps·n, in integer arithmetic. */
export function patchCount(step: number, steps: number, n: number): number {
  return Math.floor((2 * step * n + steps) / (2 * steps));
}

/** Area under y over x evenly spaced on [0, 1] (x_i = i/(len−1)), by the trapezoid rule. */
export function trapezoidAuc(y: ArrayLike<number>): number {
  if (y.length < 2) throw new RangeError(t('a curve needs at least two points'));
  let s = 0;
  for (let i = 1; i < y.length; i++) s += (y[i] + y[i - 1]) / 2;
  return s / (y.length - 1);
}

export type PerturbationMode = 'deletion' | 'insertion';

/** The input with the first `count` patches of `order` blanked (deletion), or with only those kept (insertion). */
export function perturbedInput(input: Float32Array, dims: InputDims, grid: PatchGrid, patch: number, order: readonly number[], count: number, mode: PerturbationMode, into?: Float32Array): Float32Array {
  const x = into ?? Float32Array.from(input);
  if (into) into.set(input);
  return blankPatches(x, dims, grid, patch, mode === 'deletion' ? order.slice(0, count) : order.slice(count));
}

export interface FaithfulnessOptions extends RunOptions {
  /** Steps between 0 % and 100 % (default 10). */
  steps?: number;
}

export interface FaithfulnessResult {
  classIndex: number;
  /** k for each point: 0, 1/steps, …, 1. */
  fractions: number[];
  /** Patches blanked (deletion) or restored (insertion) at each point. */
  counts: number[];
  deletion: number[];
  insertion: number[];
  deletionAuc: number;
  insertionAuc: number;
  /** The patch ranking used, hottest first. */
  order: number[];
}

/**
 * Deletion and insertion curves of one map (rows×cols, row-major) for one image. Images are evaluated in the order
 * deletion 0…steps, then insertion 0…steps: 2·(steps+1) images, so progress counts run to 22 by default. (The two
 * shared end points — the input itself and the fully blanked input — are run twice; 2 extra images keep the
 * bookkeeping plain.) The default class is the top-1 of deletion step 0, i.e. of the unperturbed input.
 */
export async function runFaithfulness(input: Float32Array, dims: InputDims, grid: PatchGrid, patch: number, map: ArrayLike<number>, run: RunBatch, opts: FaithfulnessOptions = {}): Promise<FaithfulnessResult> {
  const n = grid.rows * grid.cols;
  if (map.length !== n) throw new RangeError(t`the map has ${map.length} values, the ${grid.rows}×${grid.cols} grid has ${n} patches`);
  const steps = opts.steps ?? FAITHFULNESS_STEPS;
  if (!Number.isInteger(steps) || steps < 1) throw new RangeError(t`steps ${steps} is not a positive integer`);
  checkGeometry(input, dims, grid, patch);
  const order = rankPatches(map);
  const counts = Array.from({ length: steps + 1 }, (_, s) => patchCount(s, steps, n));
  const logits = await runInBatches(2 * (steps + 1), input.length, (i, into) => {
    const mode: PerturbationMode = i <= steps ? 'deletion' : 'insertion';
    perturbedInput(input, dims, grid, patch, order, counts[i % (steps + 1)], mode, into);
  }, run, opts);
  const classIndex = opts.classIndex ?? argmax(logits[0]);
  const p = logits.map((z) => classProbability(z, classIndex));
  const deletion = p.slice(0, steps + 1), insertion = p.slice(steps + 1);
  return {
    classIndex,
    fractions: counts.map((_, s) => s / steps),
    counts,
    deletion,
    insertion,
    deletionAuc: trapezoidAuc(deletion),
    insertionAuc: trapezoidAuc(insertion),
    order,
  };
}

export interface MapScore { name: string; deletionAuc: number; insertionAuc: number }

export interface RankedMap extends MapScore {
  /** insertionAuc − deletionAuc: higher is more faithful. */
  score: number;
  /** 1 = most faithful. */
  rank: number;
}

/**
 * Orders maps by insertion AUC − deletion AUC (one number rewarding both a fast fall and a fast rise; each AUC is a
 * probability average, so the two are on the same scale). Equal scores keep the order given. The explanation is one
 * line for the panel and the CLI.
 */
export function rankMaps(scores: readonly MapScore[]): { ranking: RankedMap[]; explanation: string } {
  const ranking = scores
    .map((s, i) => ({ ...s, score: s.insertionAuc - s.deletionAuc, i }))
    .sort((a, b) => b.score - a.score || a.i - b.i)
    .map(({ i: _i, ...s }, r) => ({ ...s, rank: r + 1 }));
  if (!ranking.length) return { ranking, explanation: t('No maps to compare.') };
  const f = (x: number) => x.toFixed(3);
  const [best, ...rest] = ranking;
  const others = rest.map((m) => `${m.name} ${f(m.score)}`).join(', ');
  const explanation = others
    ? t`Most faithful: ${best.name} (insertion − deletion AUC ${f(best.score)}: deletion ${f(best.deletionAuc)}, insertion ${f(best.insertionAuc)}), then ${others}; a faithful map's hottest patches make the class probability fall fast when deleted (low deletion AUC) and rise fast when restored (high insertion AUC).`
    : t`Most faithful: ${best.name} (insertion − deletion AUC ${f(best.score)}: deletion ${f(best.deletionAuc)}, insertion ${f(best.insertionAuc)}); a faithful map's hottest patches make the class probability fall fast when deleted (low deletion AUC) and rise fast when restored (high insertion AUC).`;
  return { ranking, explanation };
}
