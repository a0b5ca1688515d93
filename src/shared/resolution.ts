/**
 * Why position embeddings must be interpolated: a ViT learned one embedding per patch position of its
 * training grid. To run it at another input size, the patch grid of embeddings is resized (bicubic, as timm
 * and DeiT do) while the prefix tokens' embeddings are kept, and the graph's input shape and any shape
 * constants that spell out the token count are rewritten. The same rewrite with zeros gives the ablation
 * "no position embedding": the model then sees a bag of patches.
 */
import { VitLensError } from './errors';
import { t } from './l10n';
import { GraphIndex } from './onnx/graphIndex';
import { OnnxNode, readOnnxModel, tensorValues } from './onnx/onnxModel';
import { ModelEdits, rewriteModel } from './onnx/rewriteModel';
import { PreparedModel, prepareModel } from './prepareModel';
import type { ModelPayload } from './protocol';
import type { VitStructure } from './vitStructure';

/** PyTorch's bicubic kernel (A = −0.75), the weights of the 4 taps around a sample at fraction t. */
function cubicWeights(t: number): [number, number, number, number] {
  const A = -0.75;
  const near = (x: number) => ((A + 2) * x - (A + 3)) * x * x + 1;
  const far = (x: number) => ((A * x - 5 * A) * x + 8 * A) * x - 4 * A;
  return [far(t + 1), near(t), near(1 - t), far(2 - t)];
}

/** One axis of F.interpolate(mode='bicubic', align_corners=False): per output index, 4 source indices and weights. */
function axisTaps(inSize: number, outSize: number): { idx: number[]; w: number[] }[] {
  const scale = inSize / outSize;
  return Array.from({ length: outSize }, (_, o) => {
    const src = scale * (o + 0.5) - 0.5;
    const i0 = Math.floor(src);
    const w = cubicWeights(src - i0);
    const idx = [-1, 0, 1, 2].map((k) => Math.min(inSize - 1, Math.max(0, i0 + k)));
    return { idx, w };
  });
}

/**
 * Bicubic resize of a [rows, cols, channels] grid (row-major, channels last) to [outRows, outCols, channels],
 * equal to torch.nn.functional.interpolate(mode='bicubic', align_corners=False) on the same grid.
 */
export function bicubicResize(grid: Float32Array, rows: number, cols: number, channels: number, outRows: number, outCols: number): Float32Array {
  const ty = axisTaps(rows, outRows);
  const tx = axisTaps(cols, outCols);
  // Along x first, then y; float64 accumulation as PyTorch's CPU kernel accumulates in the opmath type.
  const tmp = new Float64Array(rows * outCols * channels);
  for (let r = 0; r < rows; r++) {
    for (let x = 0; x < outCols; x++) {
      const { idx, w } = tx[x];
      for (let c = 0; c < channels; c++) {
        let s = 0;
        for (let k = 0; k < 4; k++) s += w[k] * grid[(r * cols + idx[k]) * channels + c];
        tmp[(r * outCols + x) * channels + c] = s;
      }
    }
  }
  const out = new Float32Array(outRows * outCols * channels);
  for (let y = 0; y < outRows; y++) {
    const { idx, w } = ty[y];
    for (let x = 0; x < outCols; x++) {
      for (let c = 0; c < channels; c++) {
        let s = 0;
        for (let k = 0; k < 4; k++) s += w[k] * tmp[(idx[k] * outCols + x) * channels + c];
        out[(y * outCols + x) * channels + c] = s;
      }
    }
  }
  return out;
}

/**
 * The position embedding [prefix + rows·cols, width] for another patch grid: prefix tokens' rows kept, the
 * patch grid resized bicubically.
 */
export function interpolatePositionEmbedding(pos: Float32Array, width: number, prefix: number, from: { rows: number; cols: number }, to: { rows: number; cols: number }): Float32Array {
  const out = new Float32Array((prefix + to.rows * to.cols) * width);
  out.set(pos.subarray(0, prefix * width));
  out.set(bicubicResize(pos.subarray(prefix * width), from.rows, from.cols, width, to.rows, to.cols), prefix * width);
  return out;
}

export class ResolutionError extends VitLensError {
  constructor(message: string) {
    super('model-format', message);
  }
}

interface PositionEmbedding { name: string; dims: number[]; values: Float32Array; width: number; prefix: number; grid: { rows: number; cols: number } }

function positionEmbedding(bytes: Uint8Array, s: VitStructure): { pe: PositionEmbedding; g: GraphIndex } {
  if (s.swin) throw new ResolutionError(t('Swin has no absolute position embedding to interpolate: its relative position bias is per window, and its window masks are fixed for the exported size.'));
  const name = s.parameters.positionEmbedding;
  if (!name) throw new ResolutionError(t('No learned position embedding constant was found on the token path (it may be computed, e.g. sinusoidal, or added inside a fused operator), so there is nothing to interpolate.'));
  const g = new GraphIndex(readOnnxModel(bytes).graph);
  const c = g.constant(name);
  if (!c) throw new ResolutionError(t`The position embedding "${name}" is not a constant of the graph.`);
  // fp16 and quantized exports reach it through Cast/Identity: the stored initializer is what gets rewritten.
  let stored = name;
  for (let p = g.producer.get(stored); p && (p.opType === 'Cast' || p.opType === 'Identity'); p = g.producer.get(stored)) stored = p.inputs[0];
  const op = g.producer.get(stored)?.opType ?? 'Constant';
  if (!g.graph.initializers.has(stored)) throw new ResolutionError(t`The position embedding "${name}" is computed by a ${op} node, not stored as an initializer; ViT Lens rewrites only initializers.`);
  if (c.external) throw new ResolutionError(t`The position embedding "${name}" is stored in an external data file; ViT Lens rewrites only embedded initializers.`);
  if (!s.grid) throw new ResolutionError(t('The patch grid is not fixed in this graph (dynamic input size), so the native grid of the position embedding is unknown.'));
  const width = c.dims[c.dims.length - 1];
  const tokens = c.dims[c.dims.length - 2];
  const n = s.grid.rows * s.grid.cols;
  const prefix = tokens - n;
  if (prefix < 0) throw new ResolutionError(t`The position embedding has ${tokens} rows, fewer than the ${n} patches of the ${s.grid.rows}×${s.grid.cols} grid.`);
  return { pe: { name: stored, dims: c.dims, values: Float32Array.from(tensorValues(c)), width, prefix, grid: s.grid }, g };
}

/**
 * Shape constants that spell out the native token or patch count (or the patch grid) as the shape argument of
 * Reshape/Expand (static-batch exports bake [1, T, C] into the graph): the same values at the new size.
 */
function shapeConstantEdits(g: GraphIndex, s: VitStructure, to: { rows: number; cols: number }): Map<string, number[]> {
  const from = s.grid!;
  const n0 = from.rows * from.cols, n1 = to.rows * to.cols;
  const t0 = n0 + s.prefixTokens, t1 = n1 + s.prefixTokens;
  const edits = new Map<string, number[]>();
  const beforeTokens = patchConvInputs(g, s);
  for (const node of g.graph.nodes) {
    if ((node.opType !== 'Reshape' && node.opType !== 'Expand') || beforeTokens.has(node)) continue;
    const shape = node.inputs[1];
    const c = shape ? g.constant(shape) : undefined;
    if (!c || c.dims.length !== 1 || c.external) continue;
    const v = tensorValues(c);
    // A shape holds the token count ([1, T, H, d]) or, before the prefix tokens are added, the patch count
    // ([1, C, N]); a patch count equal to some other dimension (a head width of 16 next to 4×4 patches) is
    // left alone when the token count is present.
    const next = v.includes(t0) ? v.map((x) => (x === t0 ? t1 : x)) : v.map((x) => (x === n0 ? n1 : x));
    for (let i = 0; i + 1 < v.length; i++) if (v[i] === from.rows && v[i + 1] === from.cols && !v.includes(t0) && !v.includes(n0)) [next[i], next[i + 1]] = [to.rows, to.cols];
    if (next.some((x, i) => x !== v[i])) edits.set(shape, next);
  }
  return edits;
}

/**
 * Nodes that compute the patch Conv's inputs: a hybrid's CNN stem, whose reshapes (GroupNorm's [0, G, -1], a
 * weight standardization's [1, C, -1]) may hold a channel count equal to the patch count but never a token count.
 */
function patchConvInputs(g: GraphIndex, s: VitStructure): Set<OnnxNode> {
  const conv = g.consumersOf(s.parameters.patchWeight).find((n) => n.opType === 'Conv');
  return g.ancestors(conv ? conv.inputs.filter(Boolean) : []);
}

export interface ModelVariant {
  bytes: Uint8Array;
  /** Input height (the side, when square). */
  size: number;
  /** Input width where it differs from the height. */
  width?: number;
  grid: { rows: number; cols: number };
  tokens: number;
  /** What was rewritten, for the panel. */
  changes: string[];
}

/** The model at `size`×`size` pixels: interpolated position embedding, new input shape, shape constants fixed. */
export function modelAtResolution(bytes: Uint8Array, s: VitStructure, size: number): ModelVariant {
  // A hybrid's stem pads each step so its grid is size / stride exactly only at multiples of its total stride.
  if (size % s.patchSize !== 0) {
    throw new ResolutionError(s.stem
      ? t`${size} px is not a multiple of the ${s.patchSize}-pixel token stride of the CNN stem and patch projection.`
      : t`${size} px is not a multiple of the ${s.patchSize}-pixel patch.`);
  }
  if (s.stem?.computedPads && size !== s.input.height) {
    throw new ResolutionError(s.input.height !== undefined
      ? t`The CNN stem pads by amounts computed in the graph (TF-"SAME" padding, as timm's pad_same exports), which the exporter traced at ${s.input.height} px; at ${size} px they would be wrong, so this hybrid is not rewritten to another size.`
      : t`The CNN stem pads by amounts computed in the graph (TF-"SAME" padding, as timm's pad_same exports), which the exporter traced at its px; at ${size} px they would be wrong, so this hybrid is not rewritten to another size.`);
  }
  const { pe, g } = positionEmbedding(bytes, s);
  const to = { rows: size / s.patchSize, cols: size / s.patchSize };
  const pos = interpolatePositionEmbedding(pe.values, pe.width, pe.prefix, pe.grid, to);
  const dims = [...pe.dims.slice(0, -2), pe.prefix + to.rows * to.cols, pe.width];
  const shapes = shapeConstantEdits(g, s, to);
  const input = g.graph.inputs.find((i) => i.name === s.input.name)!;
  const inputDims = (input.shape ?? []).map((d, i) => (i >= 2 ? size : d ?? `d${i}`));
  const edits: ModelEdits = { initializers: new Map([[pe.name, { dims, data: pos }]]), int64Constants: shapes, inputDims: new Map([[s.input.name, inputDims]]), dropValueInfo: true };
  const from = `${pe.grid.rows}×${pe.grid.cols}`, at = `${to.rows}×${to.cols}`;
  const changes = [
    !pe.prefix ? t`position embedding ${from} → ${at} (bicubic)`
      : pe.prefix > 1 ? t`position embedding ${from} → ${at} (bicubic, ${pe.prefix} prefix tokens kept)`
        : t`position embedding ${from} → ${at} (bicubic, ${pe.prefix} prefix token kept)`,
    t`input ${s.input.height ?? '?'}×${s.input.width ?? '?'} → ${size}×${size}`,
    ...(shapes.size ? [shapes.size > 1 ? t`${shapes.size} shape constants with the token count` : t`${shapes.size} shape constant with the token count`] : []),
  ];
  return { bytes: rewriteModel(bytes, edits), size, grid: to, tokens: pe.prefix + to.rows * to.cols + (s.prefixTokens - pe.prefix), changes };
}

/** The model with its position embedding set to zero: what it computes when it cannot tell where a patch is. */
export function modelWithoutPositionEmbedding(bytes: Uint8Array, s: VitStructure): ModelVariant {
  const { pe } = positionEmbedding(bytes, s);
  const zeros = new Float32Array(pe.values.length);
  return {
    bytes: rewriteModel(bytes, { initializers: new Map([[pe.name, { dims: pe.dims, data: zeros }]]) }),
    size: s.input.height ?? 0,
    ...(s.input.width !== s.input.height ? { width: s.input.width } : {}),
    grid: pe.grid,
    tokens: s.tokens ?? 0,
    changes: [t`position embedding (${pe.dims.join('×')}) set to zero`],
  };
}

/**
 * A variant prepared like any model (detected, instrumented under the original's memory budget: 384 px has
 * (577/197)² ≈ 8.6× the attention of 224 px), keeping the original's card at the variant's size.
 */
export function prepareVariant(v: ModelVariant, original: Pick<ModelPayload, 'fileName' | 'key' | 'card' | 'attentionBudgetBytes'>, tag: string): PreparedModel {
  const card = { ...original.card, preprocess: { ...original.card.preprocess, size: v.width !== undefined ? [v.size, v.width] : v.size } };
  return prepareModel(v.bytes, original.fileName, `${original.key}#${tag}`, { own: card as unknown as Record<string, unknown> }, original.attentionBudgetBytes ?? Infinity);
}
