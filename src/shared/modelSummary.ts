/** Words about the model for the panel and the sidebar, computed from its detected structure. */
import type { AttentionLayer } from './attentionMaps';
import { classifierWords } from './classifierHead';
import { describeInputSize, describePreprocess } from './modelCard';
import { describeOutputs } from './modelOutput';
import { layoutMismatches } from './tokenLayout';
import type { ModelPayload } from './protocol';

/** The model summary shown in the panel and the sidebar: [label, value] rows. */
export function summaryRows(m: ModelPayload, layers: AttentionLayer[]): [string, string][] {
  const s = m.structure;
  const rows: [string, string][] = [
    ['Model', `${m.card.name} (${m.fileName}, ${(m.fileSize / 1e6).toFixed(1)} MB)`],
    ['Family', s.family === 'swin' ? 'Swin Transformer (hierarchical, shifted windows)' : s.family === 'deit' ? 'DeiT (CLS + distillation token)' : 'ViT'],
    ['Input', `${describeInputSize(m.card.preprocess)}, ${s.input.channels} channels${s.input.anySize ? '; this export runs at any size (its position embedding is resized in the graph), so each image is run at its own aspect ratio' : ''}`],
    ['Patch size', s.stem ? `${s.patchSize}×${s.patchSize} input pixels per token (${stemWords(s.stem)})` : `${s.patchSize}×${s.patchSize} (Conv2d, kernel = stride)`],
    ['Grid', s.swin ? `${s.swin.grids.map((g) => `${g}×${g}`).join(' → ')} tokens (patch merging between stages)` : s.grid ? `${s.grid.rows}×${s.grid.cols} = ${s.grid.rows * s.grid.cols} patches` : 'dynamic'],
    s.swin
      ? ['Windows', `${s.swin.window}×${s.swin.window} tokens; shifted by ${Math.floor(s.swin.window / 2)} in every second block (where the grid is larger than a window)`]
      : ['Tokens', `${layers[0]?.tokens ?? s.tokens ?? '?'} (${s.prefixTokens} prefix)`],
    ['Width', String(s.embedDim)],
    s.swin
      ? ['Stages', `${s.swin.stages}: depths ${s.swin.depths.join(', ')}, heads ${s.swin.heads.map((h) => h ?? '?').join(', ')}, widths ${s.swin.dims.map((d) => d ?? '?').join(', ')}`]
      : ['Layers × heads', `${s.layers} × ${layers[0]?.heads ?? s.heads ?? '?'}`],
    ['Norm', s.norm === 'pre' ? 'pre-norm: x + f(LN(x))' : s.norm === 'post' ? 'post-norm: LN(x + f(x))' : s.norm === 'res-post' ? 'res-post-norm: x + LN(f(x)) (Swin V2)' : 'unknown'],
    ['Classifier', !s.logits.classes ? 'none (a backbone: see Output)' : classifierWords(s.classifier)],
    ['Output', describeOutputs(s.outputs)],
    ...(s.swin?.cosine ? [['Attention', 'cosine attention with a learned temperature: cos(q, k) × exp(clamp(logit_scale)) per head, plus a continuous position bias (Swin V2)'] as [string, string]] : []),
    ['Attention tap', s.attention[0]?.where ?? ''],
    ['Preprocessing', `${m.card.source === 'default' ? 'defaults — add a model card for exact values: ' : ''}${describePreprocess(m.card.preprocess)}`],
  ];
  const notDrawn = layers.length ? layoutMismatches(s, layers) : [];
  if (notDrawn.length) rows.push(['Not drawn', notDrawn.join(' ')]);
  if (m.card.labelsAssumed) rows.push(['Labels', `ImageNet-1k class names assumed (${m.card.labels.length} outputs, no labels found)`]);
  if (m.attentionMode === 'cls-rows') rows.push(['Attention extracted', 'CLS rows only, sliced in the graph: all layers in full would exceed vitLens.attentionMemoryBudgetMB']);
  if (s.opset) rows.push(['Opset', String(s.opset)]);
  if (m.card.heldOutAccuracy !== undefined) rows.push(['Held-out accuracy', `${(m.card.heldOutAccuracy * 100).toFixed(1)}% (from the model card)`]);
  return rows;
}

/** A hybrid ViT's stem in words: what sets the token grid's stride. */
export function stemWords(stem: NonNullable<ModelPayload['structure']['stem']>): string {
  const p = stem.projection;
  const proj = p.kernel === 1 && p.stride === 1 ? 'a 1×1 patch projection' : `a ${p.kernel}×${p.kernel} stride-${p.stride} patch projection`;
  const total = stem.stride * p.stride;
  return `hybrid: CNN stem, stride ${stem.stride} (${stem.convs} convolutions; ${stem.where}), then ${proj}${total !== stem.stride ? `: token stride ${total}` : ''}`;
}

/** Name of a layer, or of a Swin block with its stage and window kind. */
export function layerLabel(m: ModelPayload, i: number): string {
  const b = m.structure.swin?.blocks[i];
  if (!b) return `Layer ${i + 1}`;
  return `Stage ${b.stage + 1} · block ${b.blockInStage + 1} (${b.shift ? `SW-MSA, shift ${b.shift}` : 'W-MSA'}, ${b.grid}×${b.grid} tokens)`;
}

/** One paragraph on what this model family does differently, computed from its structure. */
export function explanation(m: ModelPayload): string {
  const s = m.structure;
  if (s.swin) {
    const w = s.swin;
    const n0 = w.grids[0] * w.grids[0];
    return `Swin computes attention only inside ${w.window}×${w.window}-token windows, so its cost grows linearly with the image (${n0} tokens at stage 1 attend to ${w.window * w.window} each, not ${n0}). ` +
      `Every second block shifts the windows by ${Math.floor(w.window / 2)} tokens so information crosses window borders; the mask keeps apart tokens that the cyclic shift brought together from opposite edges. ` +
      `Patch merging halves the grid between stages (${w.grids.join(' → ')}). There is no CLS token: the classifier averages all final tokens (global average pooling).`;
  }
  if (s.classifier === 'gap') return 'This model has no CLS token: it classifies the average of all patch tokens (global average pooling), so the map shows the mean attention each patch receives.';
  // The CLS token exists but is not (only) what the head reads: say what is.
  if (s.classifier === 'mean-all') return 'The CLS token is a learned vector prepended to the patch tokens, but this model classifies the mean of all final tokens, CLS included, so CLS is one voice among many; its map shows where CLS looks, not what the classifier reads.';
  if (s.classifier === 'mean-patches') return 'This model has a CLS token but its head never reads it: it classifies the mean of the final patch tokens (global average pooling), so the CLS map shows where CLS looks, not what the classifier reads.';
  if (s.classifier === 'cls+mean') return 'The head reads the CLS token\'s final state concatenated with the mean of the final patch tokens (DINOv2\'s linear classifier), so both the CLS map and the patches as a whole matter.';
  if (s.classifier === 'map') return `The head pools the final tokens by attention (MAP): one learned query, not derived from the image, attends over all tokens${s.mapProbe?.heads ? ` with ${s.mapProbe.heads} heads` : ''}, and an MLP reads the result. That probe's attention is what the classifier sees; the layer maps show attention inside the transformer.`;
  if (s.family === 'deit') return 'DeiT adds a distillation token next to CLS: it is trained to match a teacher network\'s predictions, and the two heads are averaged at inference.';
  const fate = s.logits.classes ? 'its final state alone is classified' : 'this backbone outputs features rather than classes, and a probe or a similarity search reads them';
  return `The CLS token is a learned vector prepended to the patch tokens; it gathers information from all patches through attention, and ${fate}. The map shows how much it attends to each patch.`;
}
