/**
 * Occlusion maps (Zeiler & Fergus, 2014) for any image classifier: how much the class probability drops when one
 * patch of the model input is blanked. Model-agnostic: the model is reached only through an async `run` callback,
 * so the webview worker (onnxruntime-web) and the command-line tool (Node) share this code.
 *
 * "Blanked" means: the patch's values in the *normalized* input tensor are set to BLANK_VALUE = 0. Normalization is
 * (pixel/scale − mean)/std per channel, so 0 is exactly the per-channel mean colour of the training statistics —
 * the input the model saw most "on average", i.e. the closest thing to "no information" that stays inside the
 * training distribution. Black (or any fixed colour) would instead be a strong, out-of-place signal of its own.
 * It also needs no knowledge of mean/std here: 0 is the mean colour whatever the card says.
 */
import { argmax } from './attentionMaps';
import { t } from './l10n';
import { inputSize } from './modelCard';
import type { ModelPayload } from './protocol';

/** The normalized value of the per-channel mean colour: (mean − mean)/std. */
export const BLANK_VALUE = 0;

export interface PatchGrid { rows: number; cols: number }

/** Model input dims, NCHW with N = 1: [1, channels, height, width]. */
export type InputDims = readonly [number, number, number, number];

/** Thrown by the runners when their AbortSignal fired; the run stopped between two batches. */
export class OcclusionCancelled extends Error {
  constructor(message?: string) {
    super(message ?? t('Occlusion run cancelled.'));
    this.name = 'OcclusionCancelled';
  }
}

/**
 * Runs the model on `batchSize` images laid out back to back in `batch` ([batchSize, C, H, W], normalized) and
 * resolves to each image's logits. A model without a dynamic batch axis is called with batchSize 1.
 */
export type RunBatch = (batch: Float32Array, batchSize: number) => Promise<ArrayLike<number>[]>;

export interface RunOptions {
  /** Images per `run` call (≥ 1). Use 1 unless the model's batch axis is dynamic. */
  batchSize?: number;
  /** Called with images done so far and the total: 0 first, then after each batch, ending at the total. */
  onProgress?: (done: number, total: number) => void;
  /** Checked before and after every batch: an abort stops the run and rejects with OcclusionCancelled. */
  signal?: AbortSignal;
  /** The class whose probability is measured; default: the top-1 class of the unperturbed input. */
  classIndex?: number;
}

/** Throws a RangeError unless input, dims, grid and patch size describe one image the grid fits. */
export function checkGeometry(input: Float32Array, dims: InputDims, grid: PatchGrid, patch: number): void {
  const [n, c, h, w] = dims;
  if (n !== 1) throw new RangeError(t`occlusion takes one image (dims [1, C, H, W]), got batch ${n}`);
  if (input.length !== c * h * w) throw new RangeError(t`input has ${input.length} values, dims ${dims.join('×')} need ${c * h * w}`);
  if (!(patch >= 1) || !Number.isInteger(patch)) throw new RangeError(t`patch size ${patch} is not a positive integer`);
  // Every grid cell must start inside the image; the last row/column may be cut off by the image border.
  if (grid.rows < 1 || grid.cols < 1 || (grid.rows - 1) * patch >= h || (grid.cols - 1) * patch >= w) {
    throw new RangeError(t`a ${grid.rows}×${grid.cols} grid of ${patch}px patches does not fit a ${h}×${w} input`);
  }
}

/**
 * Sets the listed patches (row-major indices into the grid) of a normalized [1, C, H, W] tensor to BLANK_VALUE,
 * in place. Patches cut by the image border are blanked as far as they reach.
 */
export function blankPatches(x: Float32Array, dims: InputDims, grid: PatchGrid, patch: number, patches: Iterable<number>): Float32Array {
  const [, c, h, w] = dims;
  for (const p of patches) {
    if (!Number.isInteger(p) || p < 0 || p >= grid.rows * grid.cols) throw new RangeError(t`patch ${p} is outside the ${grid.rows}×${grid.cols} grid`);
    const r = Math.floor(p / grid.cols), col = p % grid.cols;
    const y0 = r * patch, y1 = Math.min(h, y0 + patch), x0 = col * patch, x1 = Math.min(w, x0 + patch);
    for (let ch = 0; ch < c; ch++) {
      for (let y = y0; y < y1; y++) x.fill(BLANK_VALUE, ch * h * w + y * w + x0, ch * h * w + y * w + x1);
    }
  }
  return x;
}

/** One copy of the input per listed patch, with that patch blanked. */
export function occlusionInputs(input: Float32Array, dims: InputDims, grid: PatchGrid, patch: number, which: number[]): Float32Array[] {
  checkGeometry(input, dims, grid, patch);
  return which.map((p) => blankPatches(Float32Array.from(input), dims, grid, patch, [p]));
}

/** softmax(logits)[k], in float64 with the max subtracted so large logits do not overflow. */
export function classProbability(logits: ArrayLike<number>, k: number): number {
  if (!(k >= 0 && k < logits.length)) throw new RangeError(t`class ${k} is outside the model's ${logits.length} logits`);
  let m = -Infinity;
  for (let i = 0; i < logits.length; i++) m = Math.max(m, logits[i]);
  let s = 0;
  for (let i = 0; i < logits.length; i++) s += Math.exp(logits[i] - m);
  return Math.exp(logits[k] - m) / s;
}

/**
 * The occlusion map: baseProb − probs[i] per patch (row-major over the grid). Positive where blanking the patch
 * lowers the class probability (evidence for the class), negative where it raises it (evidence against).
 */
export function occlusionMap(baseProb: number, probs: ArrayLike<number>): Float32Array {
  return Float32Array.from({ length: probs.length }, (_, i) => baseProb - probs[i]);
}

/**
 * Evaluates `count` images in batches: `make(i, into)` writes image i (imageSize values) into `into`. A fresh batch
 * buffer per call, because the callback may keep or transfer it (e.g. postMessage to a worker). Shared with the
 * faithfulness runner so both cancel and report progress the same way.
 */
export async function runInBatches(count: number, imageSize: number, make: (i: number, into: Float32Array) => void, run: RunBatch, opts: RunOptions = {}): Promise<ArrayLike<number>[]> {
  const batchSize = Math.max(1, Math.floor(opts.batchSize ?? 1));
  const cancelled = () => { if (opts.signal?.aborted) throw new OcclusionCancelled(); };
  const logits: ArrayLike<number>[] = [];
  opts.onProgress?.(0, count);
  for (let start = 0; start < count; start += batchSize) {
    cancelled();
    const b = Math.min(batchSize, count - start);
    const batch = new Float32Array(b * imageSize);
    for (let j = 0; j < b; j++) make(start + j, batch.subarray(j * imageSize, (j + 1) * imageSize));
    const out = await run(batch, b);
    if (out.length !== b) throw new Error(t`the model run returned ${out.length} logit vectors for a batch of ${b}`);
    // Checked again so an abort during the batch is honoured as soon as it returns, not one batch later.
    cancelled();
    logits.push(...out);
    opts.onProgress?.(start + b, count);
  }
  return logits;
}

export interface OcclusionResult {
  classIndex: number;
  /** Class probability of the unperturbed input. */
  baseProb: number;
  /** Class probability with each patch blanked, row-major. */
  probs: Float64Array;
  /** baseProb − probs, rows×cols row-major. */
  map: Float32Array;
  grid: PatchGrid;
  /** Images evaluated: 1 + rows×cols. */
  images: number;
}

/**
 * Occlusion of every patch of the grid. Image 0 is the unperturbed input (its top-1 is the default class), then one
 * image per patch, so progress counts run from 0 to 1 + rows×cols.
 */
export async function runOcclusion(input: Float32Array, dims: InputDims, grid: PatchGrid, patch: number, run: RunBatch, opts: RunOptions = {}): Promise<OcclusionResult> {
  checkGeometry(input, dims, grid, patch);
  const n = grid.rows * grid.cols;
  const logits = await runInBatches(1 + n, input.length, (i, into) => {
    into.set(input);
    if (i > 0) blankPatches(into, dims, grid, patch, [i - 1]);
  }, run, opts);
  const classIndex = opts.classIndex ?? argmax(logits[0]);
  const baseProb = classProbability(logits[0], classIndex);
  const probs = Float64Array.from({ length: n }, (_, i) => classProbability(logits[i + 1], classIndex));
  return { classIndex, baseProb, probs, map: occlusionMap(baseProb, probs), grid, images: 1 + n };
}

/**
 * Where a model's patches lie in its input, for occlusion and the faithfulness curves: the input dims, the patch
 * grid (the model's, else the one its input size gives) and the images per run (`batch` where the batch axis is
 * dynamic, else 1). Shared by the panel and the CLI.
 */
export function perturbationGeometry(m: Pick<ModelPayload, 'card' | 'structure'>, batch: number): { dims: InputDims; grid: PatchGrid; patch: number; batchSize: number } {
  const { height, width } = inputSize(m.card.preprocess);
  const s = m.structure;
  return {
    dims: [1, s.input.channels, height, width],
    grid: s.grid ?? { rows: Math.floor(height / s.patchSize), cols: Math.floor(width / s.patchSize) },
    patch: s.patchSize,
    batchSize: s.input.dynamicBatch ? batch : 1,
  };
}
