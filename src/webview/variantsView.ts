/**
 * Two experiments on the user's own model and image, each shown side by side with the native run: the model
 * at another input size (position embedding interpolated, see shared/resolution.ts) and the model without
 * position embeddings (a bag of patches). The rewritten copy is built here from the bytes the panel already
 * holds and run by the same worker.
 */
import { classPredictions } from '../shared/modelOutput';
import type { PreparedModel } from '../shared/prepareModel';
import { DEFAULT_VIEW, type ImagePayload, type ModelPayload, type Prediction } from '../shared/protocol';
import { modelAtResolution, modelWithoutPositionEmbedding, type ModelVariant, prepareVariant } from '../shared/resolution';
import { computeView, type RunData } from '../shared/viewData';
import { heatmapFigure } from './heatmapFigure';
import { loadImageInput } from './imageInput';
import { describeInputSize, inputSize } from '../shared/modelCard';
import { t } from '../shared/l10n';

export interface VariantRun { run: RunData; logits: Float32Array }

export interface VariantHost {
  /** The model, its (instrumented) bytes, the image and the native run now shown, or undefined before the first run. */
  /** `bytes`: the model file's bytes, fetched from the host if the page does not hold them (vitLens.runModelIn). */
  current(): { model: ModelPayload; bytes: () => Promise<Uint8Array>; image: ImagePayload; run: RunData; top: Prediction[] } | undefined;
  /** Runs a prepared model on an input tensor of its card's size. */
  run(model: PreparedModel, input: Float32Array): Promise<VariantRun>;
}

const $ = (id: string) => document.getElementById(id)!;

/** One column of a comparison: the last layer's view on the image at that size, a caption and the top 3. */
function column(title: string, rgba: Uint8ClampedArray, size: { width: number; height: number }, model: ModelPayload, run: RunData, top: Prediction[]): HTMLElement {
  const v = computeView(model.structure, run, { ...DEFAULT_VIEW, layer: run.layers.length - 1 });
  return heatmapFigure(title, rgba, size, v.values!, v.grid, top);
}

async function compare(host: VariantHost, outId: string, textId: string, tag: string, make: (bytes: Uint8Array, m: ModelPayload) => ModelVariant, describe: (v: ModelVariant, nativeTop: Prediction[], top: Prediction[]) => string): Promise<void> {
  const cur = host.current();
  const out = $(outId);
  const text = $(textId);
  if (!cur) return;
  out.replaceChildren();
  out.setAttribute('aria-busy', 'true');
  text.textContent = t('Rewriting a copy of the graph and running it…');
  try {
    const v = make(await cur.bytes(), cur.model);
    const prepared = prepareVariant(v, cur.model, tag);
    const [nativeInput, input] = await Promise.all([
      loadImageInput(cur.image.bytes, cur.image.mime, cur.model.card.preprocess),
      loadImageInput(cur.image.bytes, cur.image.mime, prepared.card.preprocess),
    ]);
    const r = await host.run(prepared, input.tensor);
    const top = classPredictions(prepared, r.logits, 5);
    const n = cur.model.structure;
    out.replaceChildren(
      column(t`Native: ${describeInputSize(cur.model.card.preprocess)}, ${n.tokens ?? '?'} tokens`, nativeInput.rgba, inputSize(cur.model.card.preprocess), cur.model, cur.run, cur.top),
      column(tag === 'nopos' ? t`No position embeddings, ${v.tokens} tokens` : t`${v.size}×${v.size}, ${v.tokens} tokens`, input.rgba, inputSize(prepared.card.preprocess), prepared, r.run, top),
    );
    out.dataset.top1 = top[0]?.label ?? '';
    out.dataset.tokens = String(v.tokens);
    text.textContent = t`${describe(v, cur.top, top)} Rewritten: ${v.changes.join('; ')}.`;
  } catch (e) {
    out.dataset.error = 'true';
    text.textContent = t`Could not run this variant: ${(e as { message?: string }).message ?? String(e)}`;
  } finally {
    out.removeAttribute('aria-busy');
  }
}

const sameTop = (a: Prediction[], b: Prediction[]) => a[0]?.label === b[0]?.label;
/** An embedding model has no top prediction to compare: say so instead of inventing one. */
const topSentence = (a: Prediction[], b: Prediction[], held: string, changed: string) =>
  !a.length ? t('This model outputs an embedding, not classes: compare the maps.') : sameTop(a, b) ? held : changed;

export function setupVariants(host: VariantHost): void {
  $('res-run').addEventListener('click', () => {
    const size = Number(($('res-size') as HTMLElement & { value: string }).value);
    void compare(host, 'res-out', 'res-text', String(size), (bytes, m) => modelAtResolution(bytes, m.structure, size), (v, a, b) => {
      const cost = (v.tokens / (host.current()?.model.structure.tokens ?? v.tokens)) ** 2;
      const sentence = topSentence(a, b, t('The top prediction holds with the interpolated position embedding.'), t`The top prediction changes from ${String(a[0]?.label)} to ${String(b[0]?.label)} with the interpolated position embedding.`);
      return t`${v.tokens} tokens instead of ${String(host.current()?.model.structure.tokens)}: attention costs ${cost.toFixed(2)}× as much per layer. ${sentence}`;
    });
  });
  $('nopos-run').addEventListener('click', () => {
    void compare(host, 'nopos-out', 'nopos-text', 'nopos', (bytes, m) => modelWithoutPositionEmbedding(bytes, m.structure), (_v, a, b) => {
      const sentence = topSentence(a, b, t`The top prediction (${String(b[0]?.label)}) survives, so this image is recognizable as a bag of patches.`, t`The top prediction changes from ${String(a[0]?.label)} to ${String(b[0]?.label)}: layout mattered for this image.`);
      return t`Without position embeddings self-attention cannot tell where a patch is: shuffling the patches would not change the prediction. ${sentence}`;
    });
  });
}

/** Enables the experiments for the model now shown, or says why they do not apply. */
export function updateVariants(m: ModelPayload): void {
  const s = m.structure;
  const why = s.swin ? t('Swin has no absolute position embedding (a relative bias inside each window instead), and its window masks are fixed for the exported size.')
    : !s.parameters.positionEmbedding ? t('No learned position embedding constant was found in this graph.') : '';
  for (const id of ['res-run', 'nopos-run']) ($(id) as HTMLElement & { disabled: boolean }).disabled = !!why;
  $('res-out').replaceChildren();
  $('nopos-out').replaceChildren();
  const native = m.card.preprocess.size;
  // 160, 288 and 384 for a 224 model (DeiT/ViT fine-tuning sizes), the same ratios for other native sizes.
  const sizes = [5 / 7, 9 / 7, 12 / 7].map((r) => Math.round((native * r) / s.patchSize) * s.patchSize).filter((x, i, a) => x > 0 && x !== native && a.indexOf(x) === i);
  const select = $('res-size') as HTMLElement & { value: string };
  select.replaceChildren(...sizes.map((x) => {
    const o = document.createElement('vscode-option');
    o.setAttribute('value', String(x));
    o.textContent = t`${x}×${x} (${(x / s.patchSize) ** 2 + s.prefixTokens} tokens)`;
    return o;
  }));
  select.value = String(sizes[1] ?? sizes[0]);
  $('res-text').textContent = why || t`Runs this model at another input size: the ${s.grid?.rows ?? '?'}×${s.grid?.cols ?? '?'} grid of learned position embeddings is resized bicubically (prefix tokens kept) in a copy of the graph, since there is one embedding per patch position it was trained with.`;
  $('nopos-text').textContent = why || t('Runs this model with its position embedding set to zero.');
}
