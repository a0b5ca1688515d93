/**
 * DeiT's distillation token, side by side with CLS: where each attends in the chosen layer, and what each
 * token's own head predicts (CLS head: the true label; distillation head: the teacher's answer).
 */
import { attentionRow, topK } from '../shared/attentionMaps';
import { heatmapFigure } from './heatmapFigure';
import { t } from '../shared/l10n';
import type { ModelPayload } from '../shared/protocol';
import type { RunData } from '../shared/viewData';
import { fusionLabel, fusionOf, gridOf } from '../shared/viewData';
import { inputSize } from '../shared/modelCard';

const $ = (id: string) => document.getElementById(id)!;

export function renderDistillation(m: ModelPayload, run: RunData, rgba: Uint8ClampedArray, layer: number, head: string): void {
  const out = $('distill-out');
  const text = $('distill-text');
  const s = m.structure;
  const a = run.layers[layer];
  // Row 1 is on its way from the extension host (the panel asks for it with a distillation token).
  if (s.prefixTokens >= 2 && a?.pendingQueries && (a.queries ?? a.tokens) < 2) {
    out.replaceChildren();
    delete out.dataset.clsTop1;
    text.textContent = t('Waiting for the full attention matrices from the extension host…');
    return;
  }
  if (s.prefixTokens < 2 || s.swin || !a || (a.queries ?? a.tokens) < 2) {
    out.replaceChildren();
    delete out.dataset.clsTop1;
    text.textContent = s.family === 'deit'
      ? t('This DeiT\'s distillation-token attention was not extracted.')
      : t('This model has no distillation token. DeiT adds one next to CLS: its head is trained to reproduce a teacher\'s (often a CNN\'s) prediction while CLS learns the label, and the two heads are averaged at inference. Select the bundled DeiT demo to compare them.');
    return;
  }
  const grid = gridOf(s, run.layers, layer);
  const fusion = fusionOf(head);
  const size = inputSize(m.card.preprocess);
  const cls = attentionRow(a, 0, fusion, s.prefixTokens);
  const dist = attentionRow(a, 1, fusion, s.prefixTokens);
  const d = run.distillation;
  out.replaceChildren(
    heatmapFigure(t('CLS token (head: the label)'), rgba, size, cls, grid, d && topK(d.cls, m.card.labels, 3)),
    heatmapFigure(t('Distillation token (head: the teacher)'), rgba, size, dist, grid, d && topK(d.dist, m.card.labels, 3)),
  );
  let dot = 0, nc = 0, nd = 0;
  for (let i = 0; i < cls.length; i++) {
    dot += cls[i] * dist[i];
    nc += cls[i] ** 2;
    nd += dist[i] ** 2;
  }
  const sim = dot / Math.sqrt(nc * nd || 1);
  const top = (l?: Float32Array) => (l ? topK(l, m.card.labels, 1)[0] : undefined);
  const [tc, td] = [top(d?.cls), top(d?.dist)];
  out.dataset.clsTop1 = tc?.label ?? '';
  out.dataset.distTop1 = td?.label ?? '';
  out.dataset.similarity = sim.toFixed(4);
  const [l, how, cos] = [layer + 1, fusionLabel(head), sim.toFixed(2)];
  const heads = !tc || !td
    ? t('Layer {0}, {1}: the two tokens\' attention maps have cosine similarity {2}.', l, how, cos)
    : tc.label === td.label
      ? t('Layer {0}, {1}: the two tokens\' attention maps have cosine similarity {2}; the CLS head says {3} ({4}%), the distillation head {5} ({6}%).', l, how, cos, tc.label, (tc.prob * 100).toFixed(0), td.label, (td.prob * 100).toFixed(0))
      : t('Layer {0}, {1}: the two tokens\' attention maps have cosine similarity {2}; the CLS head says {3} ({4}%), the distillation head {5} ({6}%): they disagree, and the averaged output weighs both.', l, how, cos, tc.label, (tc.prob * 100).toFixed(0), td.label, (td.prob * 100).toFixed(0));
  text.textContent = `${heads} ${t('The distillation token learns from the teacher\'s outputs rather than the labels, so it can carry a convolution\'s habits into the transformer.')}`;
}
