/**
 * Class-specific maps from attention A and its gradient ∇A = ∂logit_c/∂A (same [H, Q, T] layout as the attention,
 * computed elsewhere), and from token features with their gradient:
 *
 * - attention × gradient of one layer: (∇A ⊙ A)⁺, one head or the mean over heads;
 * - gradient-weighted relevance rollout (Chefer, Gur & Wolf, "Generic Attention-model Explainability for Interpreting
 *   Bi-Modal and Encoder-Decoder Transformers", ICCV 2021), as their `generate_relevance` for ViT
 *   (hila-chefer/Transformer-MM-Explainability, Transformer_MM_explainability_ViT.ipynb);
 * - Grad-CAM on token features, as pytorch-grad-cam's GradCAM with its ViT reshape_transform (jacobgil/pytorch-grad-cam);
 * - the difference of two classes' maps.
 *
 * Maps come back as row-major rows × cols patch values with the prefix tokens (CLS, distillation, registers) dropped.
 * References: scripts/make_relevance_refs.py → test/fixtures/relevance (PyTorch autograd).
 */
import { attentionRow, type AttentionLayer } from './attentionMaps';
import { t } from './l10n';

export interface Grid {
  rows: number;
  cols: number;
}

/** Per-token vectors of one layer (features or their gradient), row-major [tokens, dim]. */
export interface TokenFeatures {
  tokens: number;
  dim: number;
  data: Float32Array;
}

/** A map before and after the normalization its source method displays. */
export interface NormalizedMap {
  /** Un-normalized values: comparable across layers and images of one model and class, not across methods. */
  raw: Float32Array;
  /** Scaled to [0, 1] the way the cited implementation scales it for display. */
  normalized: Float32Array;
}

function queriesOf(a: AttentionLayer): number {
  return a.queries ?? a.tokens;
}

function checkPair(a: AttentionLayer | undefined, g: AttentionLayer | undefined, layer: number): void {
  if (!a || !g) throw new Error(t`Layer ${layer + 1}: attention or its gradient is missing.`);
  const shape = (x: AttentionLayer) => `${x.heads}×${queriesOf(x)}×${x.tokens}`;
  if (a.heads !== g.heads || a.tokens !== g.tokens || queriesOf(a) !== queriesOf(g) || a.data.length !== g.data.length) {
    throw new Error(t`Layer ${layer + 1}: gradient ${shape(g)} does not match attention ${shape(a)}.`);
  }
}

/** A patch map must fill the grid exactly: a map shifted by one token looks as plausible as the right one. */
function checkGrid(n: number, prefix: number, grid: Grid | undefined): void {
  if (grid && grid.rows * grid.cols !== n) {
    throw new Error(t`${prefix} prefix + ${n} patches do not fill a ${grid.rows}×${grid.cols} grid.`);
  }
}

/**
 * (∇A ⊙ A)⁺ of one layer: the elementwise product with negatives clipped to 0 (positive contributions to the class
 * only, Chefer et al.'s rule), for one head or averaged over heads after the clipping (their `avg_heads`).
 * Returned as a one-head layer in the input's [Q, T] layout, so attentionMaps' row/column readers apply.
 */
export function attentionTimesGradient(A: readonly AttentionLayer[], dA: readonly AttentionLayer[], layer: number, head: number | 'mean'): AttentionLayer {
  const a = A[layer];
  const g = dA[layer];
  checkPair(a, g, layer);
  if (head !== 'mean' && !(Number.isInteger(head) && head >= 0 && head < a.heads)) {
    throw new Error(t`Layer ${layer + 1} has ${a.heads} heads; head ${head} does not exist.`);
  }
  const n = queriesOf(a) * a.tokens;
  const heads = head === 'mean' ? Array.from({ length: a.heads }, (_, h) => h) : [head];
  const acc = new Float64Array(n);
  for (const h of heads) {
    const off = h * n;
    for (let i = 0; i < n; i++) {
      const v = a.data[off + i] * g.data[off + i];
      if (v > 0) acc[i] += v;
    }
  }
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = acc[i] / heads.length;
  return { heads: 1, tokens: a.tokens, queries: queriesOf(a), data: out };
}

/** One query row (default 0, the CLS token) of (∇A ⊙ A)⁺ as a patch map, prefix tokens dropped. */
export function attentionGradientMap(
  A: readonly AttentionLayer[],
  dA: readonly AttentionLayer[],
  layer: number,
  head: number | 'mean',
  o: { prefix: number; query?: number; grid?: Grid },
): Float32Array {
  const ag = attentionTimesGradient(A, dA, layer, head);
  const query = o.query ?? 0;
  if (query < 0 || query >= queriesOf(ag)) throw new Error(t`Layer ${layer + 1} has ${queriesOf(ag)} query rows; row ${query} is not among them.`);
  checkGrid(ag.tokens - o.prefix, o.prefix, o.grid);
  return attentionRow(ag, query, 0, o.prefix);
}

/** Āₗ = mean over heads of (∇Aₗ ⊙ Aₗ)⁺ as a [T, T] matrix; the rollout needs every query row. */
function fusedRelevanceLayer(A: readonly AttentionLayer[], dA: readonly AttentionLayer[], layer: number): Float32Array {
  const a = A[layer];
  if (a && queriesOf(a) !== a.tokens) {
    throw new Error(t`Layer ${layer + 1} holds ${queriesOf(a)} of ${a.tokens} query rows; gradient rollout needs full attention matrices.`);
  }
  if (a && A[0] && a.tokens !== A[0].tokens) throw new Error(t`Layer ${layer + 1} has ${a.tokens} tokens, layer 1 ${A[0].tokens}.`);
  return attentionTimesGradient(A, dA, layer, 'mean').data;
}

function lastLayer(A: readonly AttentionLayer[], dA: readonly AttentionLayer[], upToLayer: number | undefined): number {
  if (A.length === 0 || A.length !== dA.length) throw new Error(t`${A.length} attention layers but ${dA.length} gradients.`);
  return Math.min(A.length - 1, upToLayer ?? A.length - 1);
}

/**
 * Chefer et al.'s relevance matrix [T, T] through layers 0..upToLayer, exactly their loop: R = I; for each layer in
 * order, R ← R + Āₗ·R. O(L·T³): for tests and for reading many rows; gradientRollout reads one row in O(L·T²).
 */
export function relevanceMatrix(A: readonly AttentionLayer[], dA: readonly AttentionLayer[], upToLayer?: number): Float64Array {
  const last = lastLayer(A, dA, upToLayer);
  const T = A[0].tokens;
  const R = new Float64Array(T * T);
  for (let i = 0; i < T; i++) R[i * T + i] = 1;
  for (let l = 0; l <= last; l++) {
    const a = fusedRelevanceLayer(A, dA, l);
    const add = new Float64Array(T * T); // Āₗ·R must read the old R, so the sum is formed after the product
    for (let i = 0; i < T; i++) {
      for (let k = 0; k < T; k++) {
        const v = a[i * T + k];
        if (v === 0) continue;
        for (let j = 0; j < T; j++) add[i * T + j] += v * R[k * T + j];
      }
    }
    for (let i = 0; i < R.length; i++) R[i] += add[i];
  }
  return R;
}

/**
 * Which output token's relevance row is read: one token (0: CLS, as Chefer et al. read R[0, 1:]; DeiT's CLS is row 0
 * too), several tokens averaged (e.g. [0, 1] for a distilled DeiT whose logits average the CLS and distillation
 * heads), or 'mean': the mean of the patch rows (prefix..T−1), because a global-average-pooling classifier (timm's
 * global_pool='avg' drops prefix tokens) sees the mean of those tokens and R's rows combine linearly.
 */
export type RelevanceStart = number | readonly number[] | 'mean';

export interface GradientRolloutOptions {
  prefix: number;
  /** Default 0 (the CLS row). */
  start?: RelevanceStart;
  /** Last layer included (0-based); default: all. */
  upToLayer?: number;
  grid?: Grid;
}

export interface GradientRollout extends NormalizedMap {
  /** The full relevance row over all T tokens, prefix included (raw is its patch part). */
  row: Float64Array;
}

/**
 * The class relevance map of Chefer et al.: row `start` of R = (I + Ā_L)···(I + Ā_1) (their R ← R + Ā·R, unrolled),
 * prefix dropped. Computed as a row vector pushed from the last layer to the first (v ← v + v·Āₗ), O(L·T²).
 * `normalized` is min-max over the patches, (x − min)/(max − min), as their ViT visualisation does (there after a
 * bilinear ×16 upsampling, which the view does here): R keeps the identity's constant and its scale follows the
 * logit, so only the relative values mean something. A flat map normalizes to zeros, not NaN.
 */
export function gradientRollout(A: readonly AttentionLayer[], dA: readonly AttentionLayer[], o: GradientRolloutOptions): GradientRollout {
  const last = lastLayer(A, dA, o.upToLayer);
  const T = A[0].tokens;
  const n = T - o.prefix;
  checkGrid(n, o.prefix, o.grid);
  const start = o.start ?? 0;
  const rows = start === 'mean' ? Array.from({ length: n }, (_, i) => o.prefix + i) : typeof start === 'number' ? [start] : start;
  if (rows.length === 0 || rows.some((r) => !Number.isInteger(r) || r < 0 || r >= T)) {
    throw new Error(t`Relevance start rows [${rows.join(', ')}] are not tokens of 0..${T - 1}.`);
  }
  let v = new Float64Array(T);
  for (const r of rows) v[r] += 1 / rows.length;
  for (let l = last; l >= 0; l--) {
    const a = fusedRelevanceLayer(A, dA, l);
    const next = Float64Array.from(v);
    for (let i = 0; i < T; i++) {
      const w = v[i];
      if (w === 0) continue;
      for (let j = 0; j < T; j++) next[j] += w * a[i * T + j];
    }
    v = next;
  }
  const raw = Float32Array.from(v.subarray(o.prefix));
  return { row: v, raw, normalized: minMax(v.subarray(o.prefix)) };
}

/** (x − min)/(max − min) as Chefer et al. normalize; zeros when the map is flat (their code would give NaN). */
export function minMax(v: ArrayLike<number>): Float32Array {
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < v.length; i++) {
    lo = Math.min(lo, v[i]);
    hi = Math.max(hi, v[i]);
  }
  const out = new Float32Array(v.length);
  if (hi > lo) for (let i = 0; i < v.length; i++) out[i] = (v[i] - lo) / (hi - lo);
  return out;
}

/** pytorch-grad-cam's scale_cam_image: (x − min) / (1e-7 + max(x − min)); the epsilon makes an all-zero CAM stay 0. */
export function scaleCamImage(v: ArrayLike<number>): Float32Array {
  let lo = Infinity;
  for (let i = 0; i < v.length; i++) lo = Math.min(lo, v[i]);
  const shifted = Float64Array.from(v, (x) => x - lo);
  let hi = -Infinity;
  for (const x of shifted) hi = Math.max(hi, x);
  return Float32Array.from(shifted, (x) => x / (1e-7 + hi));
}

export interface GradCam extends NormalizedMap {
  /** Channel weights w_c: the gradient averaged over the patch tokens. */
  weights: Float32Array;
  /** Σ_c w_c·feature_c before the ReLU (negative: evidence against the class). */
  signed: Float32Array;
}

/**
 * Grad-CAM on token features [T, D] (pytorch-grad-cam's ViT recipe, target e.g. blocks[-1].norm1): reshape_transform
 * drops the prefix tokens and lays the patches on the grid; GradCAM.get_cam_weights averages the gradient over the
 * spatial positions (the patch tokens) per channel; BaseCAM sums w_c·feature_c over channels and applies the ReLU
 * (raw); scale_cam_image normalizes per image (normalized). It scales twice, per target layer and again after
 * aggregate_multi_layers (a no-op mean for one layer); the second pass is kept because, through the 1e-7 epsilon, it
 * changes values by about 1e-7/max(raw) relative, which is visible against the reference for small CAMs.
 */
export function gradCamTokens(features: TokenFeatures, grads: TokenFeatures, prefix: number, grid?: Grid): GradCam {
  if (features.tokens !== grads.tokens || features.dim !== grads.dim || features.data.length !== grads.data.length) {
    throw new Error(t`Feature gradient ${grads.tokens}×${grads.dim} does not match features ${features.tokens}×${features.dim}.`);
  }
  const { tokens: T, dim: D } = features;
  const n = T - prefix;
  if (n <= 0) throw new Error(t`${T} tokens leave no patches after ${prefix} prefix tokens.`);
  checkGrid(n, prefix, grid);
  const w = new Float64Array(D);
  for (let t = prefix; t < T; t++) for (let c = 0; c < D; c++) w[c] += grads.data[t * D + c];
  for (let c = 0; c < D; c++) w[c] /= n;
  const signed = new Float32Array(n);
  for (let p = 0; p < n; p++) {
    let s = 0;
    const off = (p + prefix) * D;
    for (let c = 0; c < D; c++) s += w[c] * features.data[off + c];
    signed[p] = s;
  }
  const raw = signed.map((x) => Math.max(x, 0));
  return { weights: Float32Array.from(w), signed, raw, normalized: scaleCamImage(scaleCamImage(raw)) };
}

export interface ClassDifference {
  /** a − b per patch: > 0 where class A's map is higher (e.g. tabby cat), < 0 where class B's is (Egyptian Mau). */
  signed: Float32Array;
  /** max(a − b, 0): where A is favoured over B, for a sequential colormap. */
  positive: Float32Array;
  /** max(b − a, 0): where B is favoured over A. */
  negative: Float32Array;
  /** max |a − b|: the symmetric range for a diverging colormap (0 when the maps agree). */
  maxAbs: number;
}

/**
 * Difference of two classes' maps ("tabby cat vs Egyptian Mau"). Both maps must be on one scale: pass the normalized
 * maps of one method, since raw relevance and Grad-CAM scale with each class's logit and gradient, so a raw
 * difference would mostly show which logit is larger.
 */
export function classDifference(a: ArrayLike<number>, b: ArrayLike<number>): ClassDifference {
  if (a.length !== b.length) throw new Error(t`Maps of ${a.length} and ${b.length} patches cannot be compared.`);
  const signed = new Float32Array(a.length);
  let maxAbs = 0;
  for (let i = 0; i < a.length; i++) {
    signed[i] = a[i] - b[i];
    maxAbs = Math.max(maxAbs, Math.abs(signed[i]));
  }
  return { signed, positive: signed.map((x) => Math.max(x, 0)), negative: signed.map((x) => Math.max(-x, 0)), maxAbs };
}
