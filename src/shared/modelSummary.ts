/** Words about the model for the panel and the sidebar, computed from its detected structure. */
import type { AttentionLayer } from './attentionMaps';
import { classifierWords } from './classifierHead';
import { t } from './l10n';
import { describeInputSize, describePreprocess } from './modelCard';
import { describeOutputs } from './modelOutput';
import { layoutMismatches } from './tokenLayout';
import type { ModelPayload } from './protocol';

/** The model summary shown in the panel and the sidebar: [label, value] rows. */
export function summaryRows(m: ModelPayload, layers: AttentionLayer[]): [string, string][] {
  const s = m.structure;
  const rows: [string, string][] = [
    [t('Model'), t('{0} ({1}, {2} MB)', m.card.name, m.fileName, (m.fileSize / 1e6).toFixed(1))],
    [t('Family'), s.family === 'swin' ? t('Swin Transformer (hierarchical, shifted windows)') : s.family === 'deit' ? t('DeiT (CLS + distillation token)') : 'ViT'],
    [t('Input'), s.input.anySize
      ? t('{0}, {1} channels; this export runs at any size (its position embedding is resized in the graph), so each image is run at its own aspect ratio', describeInputSize(m.card.preprocess), s.input.channels)
      : t('{0}, {1} channels', describeInputSize(m.card.preprocess), s.input.channels)],
    [t('Patch size'), s.stem ? t('{0}×{0} input pixels per token ({1})', s.patchSize, stemWords(s.stem)) : t('{0}×{0} (Conv2d, kernel = stride)', s.patchSize)],
    [t('Grid'), s.swin ? t('{0} tokens (patch merging between stages)', s.swin.grids.map((g) => `${g}×${g}`).join(' → ')) : s.grid ? t('{0}×{1} = {2} patches', s.grid.rows, s.grid.cols, s.grid.rows * s.grid.cols) : t('dynamic')],
    s.swin
      ? [t('Windows'), t('{0}×{0} tokens; shifted by {1} in every second block (where the grid is larger than a window)', s.swin.window, Math.floor(s.swin.window / 2))]
      : [t('Tokens'), t('{0} ({1} prefix)', layers[0]?.tokens ?? s.tokens ?? '?', s.prefixTokens)],
    [t('Width'), String(s.embedDim)],
    s.swin
      ? [t('Stages'), t('{0}: depths {1}, heads {2}, widths {3}', s.swin.stages, s.swin.depths.join(', '), s.swin.heads.map((h) => h ?? '?').join(', '), s.swin.dims.map((d) => d ?? '?').join(', '))]
      : [t('Layers × heads'), `${s.layers} × ${layers[0]?.heads ?? s.heads ?? '?'}`],
    [t('Norm'), s.norm === 'pre' ? t('pre-norm: x + f(LN(x))') : s.norm === 'post' ? t('post-norm: LN(x + f(x))') : s.norm === 'res-post' ? t('res-post-norm: x + LN(f(x)) (Swin V2)') : t('unknown')],
    [t('Classifier'), !s.logits.classes ? t('none (a backbone: see Output)') : classifierWords(s.classifier)],
    [t('Output'), describeOutputs(s.outputs)],
    ...(s.swin?.cosine ? [[t('Attention'), t('cosine attention with a learned temperature: cos(q, k) × exp(clamp(logit_scale)) per head, plus a continuous position bias (Swin V2)')] as [string, string]] : []),
    [t('Attention tap'), s.attention[0]?.where ?? ''],
    [t('Preprocessing'), m.card.source === 'default' ? t('defaults — add a model card for exact values: {0}', describePreprocess(m.card.preprocess)) : describePreprocess(m.card.preprocess)],
  ];
  const notDrawn = layers.length ? layoutMismatches(s, layers) : [];
  if (notDrawn.length) rows.push([t('Not drawn'), notDrawn.join(' ')]);
  if (m.card.labelsAssumed) rows.push([t('Labels'), t('ImageNet-1k class names assumed ({0} outputs, no labels found)', m.card.labels.length)]);
  if (m.attentionMode === 'cls-rows') rows.push([t('Attention extracted'), t('CLS rows only, sliced in the graph: all layers in full would exceed vitLens.attentionMemoryBudgetMB')]);
  if (s.opset) rows.push([t('Opset'), String(s.opset)]);
  if (m.card.heldOutAccuracy !== undefined) rows.push([t('Held-out accuracy'), t('{0}% (from the model card)', (m.card.heldOutAccuracy * 100).toFixed(1))]);
  return rows;
}

/** A hybrid ViT's stem in words: what sets the token grid's stride. */
export function stemWords(stem: NonNullable<ModelPayload['structure']['stem']>): string {
  const p = stem.projection;
  const proj = p.kernel === 1 && p.stride === 1 ? t('a 1×1 patch projection') : t('a {0}×{0} stride-{1} patch projection', p.kernel, p.stride);
  const total = stem.stride * p.stride;
  return total !== stem.stride
    ? t('hybrid: CNN stem, stride {0} ({1} convolutions; {2}), then {3}: token stride {4}', stem.stride, stem.convs, stem.where, proj, total)
    : t('hybrid: CNN stem, stride {0} ({1} convolutions; {2}), then {3}', stem.stride, stem.convs, stem.where, proj);
}

/** Name of a layer, or of a Swin block with its stage and window kind. */
export function layerLabel(m: ModelPayload, i: number): string {
  const b = m.structure.swin?.blocks[i];
  if (!b) return t('Layer {0}', i + 1);
  return t('Stage {0} · block {1} ({2}, {3}×{3} tokens)', b.stage + 1, b.blockInStage + 1, b.shift ? t('SW-MSA, shift {0}', b.shift) : 'W-MSA', b.grid);
}

/** One paragraph on what this model family does differently, computed from its structure. */
export function explanation(m: ModelPayload): string {
  const s = m.structure;
  if (s.swin) {
    const w = s.swin;
    const n0 = w.grids[0] * w.grids[0];
    return `${t('Swin computes attention only inside {0}×{0}-token windows, so its cost grows linearly with the image ({1} tokens at stage 1 attend to {2} each, not {1}).', w.window, n0, w.window * w.window)} ` +
      `${t('Every second block shifts the windows by {0} tokens so information crosses window borders; the mask keeps apart tokens that the cyclic shift brought together from opposite edges.', Math.floor(w.window / 2))} ` +
      t('Patch merging halves the grid between stages ({0}). There is no CLS token: the classifier averages all final tokens (global average pooling).', w.grids.join(' → '));
  }
  if (s.classifier === 'gap') return t('This model has no CLS token: it classifies the average of all patch tokens (global average pooling), so the map shows the mean attention each patch receives.');
  // The CLS token exists but is not (only) what the head reads: say what is.
  if (s.classifier === 'mean-all') return t('The CLS token is a learned vector prepended to the patch tokens, but this model classifies the mean of all final tokens, CLS included, so CLS is one voice among many; its map shows where CLS looks, not what the classifier reads.');
  if (s.classifier === 'mean-patches') return t('This model has a CLS token but its head never reads it: it classifies the mean of the final patch tokens (global average pooling), so the CLS map shows where CLS looks, not what the classifier reads.');
  if (s.classifier === 'cls+mean') return t('The head reads the CLS token\'s final state concatenated with the mean of the final patch tokens (DINOv2\'s linear classifier), so both the CLS map and the patches as a whole matter.');
  if (s.classifier === 'map') {
    return s.mapProbe?.heads
      ? t('The head pools the final tokens by attention (MAP): one learned query, not derived from the image, attends over all tokens with {0} heads, and an MLP reads the result. That probe\'s attention is what the classifier sees; the layer maps show attention inside the transformer.', s.mapProbe.heads)
      : t('The head pools the final tokens by attention (MAP): one learned query, not derived from the image, attends over all tokens, and an MLP reads the result. That probe\'s attention is what the classifier sees; the layer maps show attention inside the transformer.');
  }
  if (s.family === 'deit') return t('DeiT adds a distillation token next to CLS: it is trained to match a teacher network\'s predictions, and the two heads are averaged at inference.');
  return s.logits.classes
    ? t('The CLS token is a learned vector prepended to the patch tokens; it gathers information from all patches through attention, and its final state alone is classified. The map shows how much it attends to each patch.')
    : t('The CLS token is a learned vector prepended to the patch tokens; it gathers information from all patches through attention, and this backbone outputs features rather than classes, and a probe or a similarity search reads them. The map shows how much it attends to each patch.');
}
