/**
 * The MAP head's probe (SigLIP): the one learned query the classifier pools with, its attention over the patch
 * grid on the image, per head and the mean. Hidden for models without a probe; refused (expected and found)
 * when the probe's tokens do not fit the patch grid (shared/mapProbe.ts).
 */
import { mapProbeMaps, mapProbeMismatch, mapProbeShares, mapProbeText } from '../shared/mapProbe';
import type { ModelPayload } from '../shared/protocol';
import type { RunData } from '../shared/viewData';
import { heatmapFigure } from './heatmapFigure';
import { inputSize } from '../shared/modelCard';
import { t } from '../shared/l10n';

const $ = (id: string) => document.getElementById(id)!;

export function renderMapProbe(m: ModelPayload, run: RunData, rgba: Uint8ClampedArray): void {
  const card = $('map-probe');
  const out = $('map-probe-out');
  const text = $('map-probe-text');
  const s = m.structure;
  // Only a model with a MAP head gets the card: the layer maps explain every other classifier.
  card.hidden = !s.mapProbe;
  out.replaceChildren();
  delete out.dataset.top;
  if (!s.mapProbe) {
    text.textContent = '';
    return;
  }
  const p = run.mapProbe;
  if (!p) {
    text.textContent = t('This run did not return the probe\'s attention, so it is not drawn.');
    return;
  }
  const problem = mapProbeMismatch(s, p);
  if (problem) {
    out.dataset.refused = 'true';
    text.textContent = problem;
    return;
  }
  delete out.dataset.refused;
  const maps = mapProbeMaps(s, p);
  const size = inputSize(m.card.preprocess);
  out.replaceChildren(
    heatmapFigure(p.heads > 1 ? t`Mean over ${p.heads} heads` : t('Probe attention'), rgba, size, maps.mean, maps.grid),
    ...(p.heads > 1 ? maps.heads.map((h, i) => heatmapFigure(t`Head ${i + 1}`, rgba, size, h, maps.grid)) : []),
  );
  // The share the sentence states, for the tests to compare with what they compute.
  out.dataset.top = mapProbeShares(s, maps).top.toFixed(4);
  text.textContent = mapProbeText(s, p, maps);
}
