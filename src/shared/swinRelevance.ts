/**
 * Class-specific maps for Swin Transformers from window attention A and its gradient ∇A = ∂logit_c/∂A (both
 * [nW, heads, M², M²] per block, batch 1, from src/cli/gradientRun.ts), and Grad-CAM on the last stage.
 *
 * - Per block: R = mean over heads of (∇A ⊙ A)⁺ ([nW, M², M²], Chefer et al.'s rule as in relevance.ts), read
 *   either as one query token's row (query map) or, for a class map (Swin has no CLS token to read a row of), as
 *   the relevance each key token receives: the mean of its column over the M² queries of its window. Every token
 *   is a key in exactly one window and only that window's queries can attend to it, so the column mean is the
 *   GAP classifier's analogue of the ViT's CLS row (the mean over all H·W queries would differ only by the factor
 *   nW). Attention positions are mapped back to the stage grid through the window partition and the cyclic shift
 *   (windowPartition.ts), then each stage-s token is repeated over the 2^s × 2^s stage-1 patches it covers.
 * - Grad-CAM: pytorch-grad-cam's recipe with its Swin reshape_transform on the last stage's final norm output
 *   ([H·W, C] token-major): weights = mean gradient over the stage's tokens, ReLU(Σ_c w_c·f_c) per token.
 *
 * Not provided: relevance rolled out through the stages (Chefer et al.'s R ← R + Ā·R). Patch merging concatenates
 * each 2×2 neighbourhood and mixes the 4C channels through a linear layer into one token, so there is no
 * token-to-token relevance matrix between stages without an extra assumption (e.g. splitting a merged token's
 * relevance equally among its 4 sources, or by gradient × input); a rollout built on one would not be exact.
 *
 * References: scripts/make_swin_gradient_refs.py → test/fixtures/swin-gradients (PyTorch, window_reverse and
 * torch.roll written independently).
 */
import { t } from './l10n';
import { gradCamTokens, type GradCam, minMax, type NormalizedMap } from './relevance';
import type { SwinBlock } from './swinStructure';
import { partitionIndexMap, windowCount, windowOf, type WindowLayout } from './windowPartition';

/** One block's (∇A ⊙ A)⁺ averaged over heads, in attention order. */
export interface SwinBlockRelevance {
  layout: WindowLayout;
  /** Stage index (0-based): a token covers 2^stage × 2^stage stage-1 patches. */
  stage: number;
  heads: number;
  /** Row-major [windows, M², M²] (query, key). */
  data: Float32Array;
}

export function swinLayout(block: SwinBlock): WindowLayout {
  if (block.grid % block.window !== 0) {
    // Padded windows (a grid that is not a multiple of M) would need the pad cropped back: not handled.
    throw new Error(t`Stage grid ${block.grid} is not a multiple of the ${block.window}-token window.`);
  }
  return { rows: block.grid, cols: block.grid, window: block.window, shift: block.shift };
}

/**
 * R = mean_h (∇A ⊙ A)⁺ of one block. Heads are read from the data length (a block's heads may be unknown);
 * only the first nW windows are read (batch item 0).
 */
export function swinBlockRelevance(block: SwinBlock, attention: ArrayLike<number>, grad: ArrayLike<number>): SwinBlockRelevance {
  const layout = swinLayout(block);
  const nW = windowCount(layout);
  const N = block.window * block.window;
  if (attention.length !== grad.length) throw new Error(t`Gradient of ${grad.length} values does not match attention of ${attention.length}.`);
  const heads = block.heads ?? attention.length / (nW * N * N);
  if (!Number.isInteger(heads) || heads < 1 || attention.length < nW * heads * N * N) {
    throw new Error(t`${attention.length} attention values do not hold ${nW} windows × ${block.heads ?? '?'} heads × ${N}×${N}.`);
  }
  const data = new Float32Array(nW * N * N);
  const acc = new Float64Array(N * N);
  for (let w = 0; w < nW; w++) {
    acc.fill(0);
    for (let h = 0; h < heads; h++) {
      const off = (w * heads + h) * N * N;
      for (let i = 0; i < N * N; i++) {
        const v = attention[off + i] * grad[off + i];
        if (v > 0) acc[i] += v;
      }
    }
    for (let i = 0; i < N * N; i++) data[w * N * N + i] = acc[i] / heads;
  }
  return { layout, stage: block.stage, heads, data };
}

/**
 * Class map of one block on its stage grid (row-major, original token order): each key token's received
 * relevance, the mean of its column of R over the M² queries of its window (see the module comment).
 */
export function swinClassMap(r: SwinBlockRelevance): NormalizedMap {
  const { layout } = r;
  const N = layout.window * layout.window;
  const map = partitionIndexMap(layout);
  const raw = new Float32Array(layout.rows * layout.cols);
  for (let w = 0; w < windowCount(layout); w++) {
    for (let k = 0; k < N; k++) {
      let s = 0;
      for (let q = 0; q < N; q++) s += r.data[(w * N + q) * N + k];
      raw[map[w * N + k]] = s / N;
    }
  }
  return { raw, normalized: minMax(raw) };
}

/** The stage token covering stage-1 patch (row, col): patch merging halves the grid at each stage. */
export function stageToken(r: SwinBlockRelevance, row: number, col: number): [number, number] {
  const f = 2 ** r.stage;
  const token: [number, number] = [Math.floor(row / f), Math.floor(col / f)];
  if (!(token[0] >= 0 && token[0] < r.layout.rows && token[1] >= 0 && token[1] < r.layout.cols)) {
    throw new Error(t`Patch (${row}, ${col}) is outside stage ${r.stage + 1}'s ${r.layout.rows}×${r.layout.cols} grid.`);
  }
  return token;
}

/**
 * Query map of one block on its stage grid: R's row for the stage token covering stage-1 patch (row, col), laid on
 * the grid in original coordinates. Tokens outside the query's window get 0: the query cannot attend to them, so
 * this block gives them no relevance (patchWindowAttention's NaN marks the same tokens for raw attention).
 */
export function swinQueryMap(r: SwinBlockRelevance, row: number, col: number): NormalizedMap {
  const { layout } = r;
  const N = layout.window * layout.window;
  const [tr, tc] = stageToken(r, row, col);
  const { window, index } = windowOf(layout, tr, tc);
  const map = partitionIndexMap(layout);
  const raw = new Float32Array(layout.rows * layout.cols);
  const off = (window * N + index) * N;
  for (let k = 0; k < N; k++) raw[map[window * N + k]] = r.data[off + k];
  return { raw, normalized: minMax(raw) };
}

/**
 * A stage-s map (rows × cols, row-major) on the stage-1 grid: each token repeated over its 2^s × 2^s patches,
 * cropped to the stage-1 grid where patch merging padded an odd grid.
 */
export function upsampleToStage1(map: ArrayLike<number>, stage: number, rows: number, cols: number, stage1: { rows: number; cols: number }): Float32Array {
  if (map.length !== rows * cols) throw new Error(t`A map of ${map.length} values does not fill a ${rows}×${cols} grid.`);
  const f = 2 ** stage;
  const out = new Float32Array(stage1.rows * stage1.cols);
  for (let i = 0; i < stage1.rows; i++) {
    const r = Math.min(Math.floor(i / f), rows - 1);
    for (let j = 0; j < stage1.cols; j++) out[i * stage1.cols + j] = map[r * cols + Math.min(Math.floor(j / f), cols - 1)];
  }
  return out;
}

/**
 * Grad-CAM on the last stage's final norm output F ([rows·cols, C] or [1, rows, cols, C]: the same token-major
 * values) and its gradient: relevance.ts's gradCamTokens with no prefix tokens, i.e. pytorch-grad-cam's GradCAM with
 * the Swin reshape_transform. The map is on the last stage's grid (upsampleToStage1 for display).
 */
export function swinGradCam(features: Float32Array, grads: Float32Array, grid: { rows: number; cols: number }): GradCam {
  const tokens = grid.rows * grid.cols;
  const dim = features.length / tokens;
  if (!Number.isInteger(dim)) throw new Error(t`${features.length} feature values do not fill ${tokens} tokens of the last stage.`);
  return gradCamTokens({ tokens, dim, data: features }, { tokens, dim: grads.length / tokens, data: grads }, 0, grid);
}
