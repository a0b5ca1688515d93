/**
 * The class-specific maps of one gradient run (attention, its gradient and the last block's token features with
 * theirs): relevance (Chefer et al.'s gradient rollout), Grad-CAM on tokens and attention × gradient, each one value
 * per patch, with the start row the model's classifier reads. Shared by the panel and the CLI.
 */
import type { AttentionLayer } from './attentionMaps';
import { t } from './l10n';
import { attentionGradientMap, gradCamTokens, gradientRollout, type RelevanceStart } from './relevance';
import { swinBlockRelevance, swinClassMap, swinGradCam, upsampleToStage1 } from './swinRelevance';
import type { VitStructure } from './vitStructure';

/** One gradient run as the maths reads it: per layer [H, T, T] attention and d logit / d attention, token features [T, D]. */
export interface GradientArrays {
  attention: Float32Array[];
  attentionGrad: Float32Array[];
  /** [1, H, T, T] or [H, T, T] of layer 0 (every layer of a plain ViT has the same shape). */
  attentionDims: readonly number[];
  features?: Float32Array;
  featuresGrad?: Float32Array;
}

export type ClassMapKind = 'relevance' | 'gradcam' | 'attgrad';

export interface ClassMap {
  kind: ClassMapKind;
  /** rows × cols, row-major; min-max normalized for relevance and Grad-CAM (their scale follows the logit). */
  values: Float32Array;
  grid: { rows: number; cols: number };
  caption: string;
}

function layers(g: GradientArrays): { A: AttentionLayer[]; dA: AttentionLayer[] } {
  const d = g.attentionDims;
  const [heads, queries, tokens] = d.slice(-3);
  const layer = (data: Float32Array): AttentionLayer => ({ heads, tokens, queries, data });
  return { A: g.attention.map(layer), dA: g.attentionGrad.map(layer) };
}

/**
 * The rows of the relevance matrix the classifier reads: CLS (row 0); DeiT's CLS and distillation rows (its output
 * averages both heads); the patch rows for global average pooling; every row where the head averages all tokens or
 * reads CLS together with the patch mean (a row list is averaged) or pools with a learned query (MAP: the probe's
 * own attention is not in the layers, so its input tokens are weighed equally, said in the caption).
 */
export function relevanceStart(s: VitStructure, tokens: number): { start: RelevanceStart; words: string } {
  if (s.distillation) return { start: [0, 1], words: t('CLS and distillation rows (the output averages both heads)') };
  switch (s.classifier) {
    case 'cls': return { start: 0, words: t('CLS row') };
    case 'gap':
    case 'mean-patches': return { start: 'mean', words: t('mean of the patch rows (global average pooling)') };
    case 'mean-all': return { start: Array.from({ length: tokens }, (_, i) => i), words: t('mean of all rows (the head averages every token)') };
    case 'cls+mean': return { start: Array.from({ length: tokens }, (_, i) => i), words: t('mean of all rows (the head reads CLS and the patch mean)') };
    case 'map': return { start: Array.from({ length: tokens }, (_, i) => i), words: t('mean of all rows (an attention-pooling head; its own query is not weighed)') };
    default: return s.prefixTokens > 0 ? { start: 0, words: t('CLS row (classifier not identified)') } : { start: 'mean', words: t('mean of the patch rows (classifier not identified)') };
  }
}

/** A class map from one gradient run: `layer`/`head` for attention × gradient (0-based; 'mean' over heads). */
export function classMap(s: VitStructure, g: GradientArrays, kind: ClassMapKind, label: string, at: { layer?: number; head?: number | 'mean' } = {}): ClassMap {
  if (s.swin) return swinClassMapOf(s, g, kind, label, at.layer);
  const grid = s.grid;
  if (!grid) throw new Error(t('The patch grid of this model is not known, so a class map cannot be drawn on it.'));
  const prefix = s.prefixTokens;
  const { A, dA } = layers(g);
  if (kind === 'relevance') {
    const { start, words } = relevanceStart(s, A[0].tokens);
    const r = gradientRollout(A, dA, { prefix, start, grid });
    return { kind, values: r.normalized, grid, caption: t`Relevance for ${label}: gradient-weighted attention rollout through all ${A.length} layers (Chefer et al. 2021), ${words}; min-max normalized.` };
  }
  if (kind === 'gradcam') {
    if (!g.features || !g.featuresGrad) throw new Error(t('The last block\'s input tokens were not found in this graph, so Grad-CAM has nothing to weigh.'));
    const D = g.features.length / A[0].tokens;
    const cam = gradCamTokens({ tokens: A[0].tokens, dim: D, data: g.features }, { tokens: A[0].tokens, dim: D, data: g.featuresGrad }, prefix, grid);
    return { kind, values: cam.normalized, grid, caption: t`Grad-CAM for ${label} on the last block's input tokens: each channel weighed by its mean gradient, ReLU of the sum (pytorch-grad-cam's recipe for ViTs); normalized.` };
  }
  const layer = Math.min(A.length - 1, Math.max(0, at.layer ?? A.length - 1));
  const head = at.head ?? 'mean';
  const values = attentionGradientMap(A, dA, layer, head, { prefix, grid });
  return { kind, values, grid, caption: t`Attention × gradient for ${label}, layer ${layer + 1}, ${head === 'mean' ? t('mean of heads') : t`head ${head + 1}`}: (∇A ⊙ A)⁺, the CLS row.` };
}

/**
 * Swin: attention × gradient of one block (each token's received (∇A ⊙ A)⁺ within its window, mean over heads, the
 * shift undone) and Grad-CAM on the last stage, both shown on the stage-1 patch grid. Relevance through the stages is
 * refused: patch merging mixes four tokens through a linear layer, so no exact token-to-token matrix crosses it.
 */
function swinClassMapOf(s: VitStructure, g: GradientArrays, kind: ClassMapKind, label: string, layer?: number): ClassMap {
  const w = s.swin!;
  const grid = { rows: w.grids[0], cols: w.grids[0] };
  if (kind === 'relevance') throw new Error(t('Relevance through Swin\'s stages is not defined exactly (patch merging mixes four tokens through a linear layer): use attention × gradient per block, Grad-CAM or occlusion.'));
  if (kind === 'gradcam') {
    if (!g.features || !g.featuresGrad) throw new Error(t('The last stage\'s normalized tokens were not found in this graph, so Grad-CAM has nothing to weigh.'));
    const side = w.grids[w.grids.length - 1];
    const cam = swinGradCam(g.features, g.featuresGrad, { rows: side, cols: side });
    return { kind, grid, values: upsampleToStage1(cam.normalized, w.grids.length - 1, side, side, grid), caption: t`Grad-CAM for ${label} on the last stage's ${side}×${side} tokens (pytorch-grad-cam's recipe with Swin's reshape), shown on the ${grid.rows}×${grid.cols} patch grid; normalized.` };
  }
  const i = Math.min(w.blocks.length - 1, Math.max(0, layer ?? w.blocks.length - 1));
  const b = w.blocks[i];
  const r = swinBlockRelevance(b, g.attention[i], g.attentionGrad[i]);
  const m = swinClassMap(r);
  return { kind, grid, values: upsampleToStage1(m.normalized, b.stage, b.grid, b.grid, grid), caption: t`Attention × gradient for ${label}, stage ${b.stage + 1} block ${b.blockInStage + 1} (${b.shift ? t('shifted windows') : t('windows')}): each token's received (∇A ⊙ A)⁺ within its window, mean of heads, on the patch grid; normalized.` };
}
