/**
 * The CLI's class-specific views (relevance, Grad-CAM, attention × gradient, occlusion) for one class, and the
 * deletion/insertion areas that rank every map on this image: the panel's maths, run in Node.
 */
import { classMap, type ClassMapKind } from '../shared/classMaps';
import { rankMaps, runFaithfulness, type RankedMap } from '../shared/faithfulness';
import { perturbationGeometry, runOcclusion } from '../shared/occlusion';
import type { PreparedModel } from '../shared/prepareModel';
import { createGradientSession, type GradientSession } from './gradientRun';
import { createSession, logitsBatchRunner } from './runModel';
import { t } from '../shared/l10n';

export const CLASS_VIEWS = ['relevance', 'gradcam', 'attgrad', 'occlusion'] as const;
export type ClassView = (typeof CLASS_VIEWS)[number];

/** `--class`: an index (0-based, as the model's outputs) or a class name; default the top-1. */
export function resolveClass(arg: string | undefined, labels: readonly string[], top1: number): number {
  if (arg === undefined) return top1;
  if (/^\d+$/.test(arg)) {
    const i = Number(arg);
    if (i >= labels.length) throw new RangeError(t('--class {0} is out of range: this model has {1} classes (0–{2}).', i, labels.length, labels.length - 1));
    return i;
  }
  const i = labels.findIndex((l) => l.toLowerCase() === arg.toLowerCase());
  if (i < 0) throw new RangeError(t('--class "{0}" is not one of this model\'s {1} class names.', arg, labels.length));
  return i;
}

function geometry(model: PreparedModel, input: Float32Array) {
  if (!model.structure.grid) throw new Error(t('The patch grid of this model is not known.'));
  return { input, ...perturbationGeometry(model, 16) };
}

export interface ClassViews {
  /** One value per patch for `view`, with a caption. */
  map(view: ClassView, classIndex: number, at: { layer: number; head: number | 'mean' }): Promise<{ values: Float32Array; caption: string }>;
  /** Deletion/insertion areas of each named map for the class, ranked. */
  faithfulness(maps: { name: string; values: ArrayLike<number> }[], classIndex: number): Promise<{ ranking: RankedMap[]; explanation: string }>;
}

export function classViews(model: PreparedModel, input: Float32Array, progress: (what: string, done: number, total: number) => void = () => undefined): ClassViews {
  let gradients: Promise<GradientSession> | undefined;
  let logits: Promise<ReturnType<typeof logitsBatchRunner>> | undefined;
  const g = geometry(model, input);
  const runner = () => (logits ??= createSession(model).then((s) => logitsBatchRunner(s, model)));
  return {
    async map(view, classIndex, at) {
      const label = model.card.labels[classIndex];
      if (view === 'occlusion') {
        const r = await runOcclusion(g.input, g.dims, g.grid, g.patch, await runner(), { batchSize: g.batchSize, classIndex, onProgress: (done, total) => progress('occlusion', done, total) });
        return { values: r.map, caption: t('Occlusion for {0}: the drop in its probability ({1} %) when each patch is blanked to the training mean; {2} runs.', label, (r.baseProb * 100).toFixed(1), r.images) };
      }
      const session = await (gradients ??= createGradientSession(model));
      const run = await session.run(input, classIndex);
      const m = classMap(model.structure, run, view as ClassMapKind, label, at);
      return { values: m.values, caption: m.caption };
    },
    async faithfulness(maps, classIndex) {
      const run = await runner();
      const scores = [];
      for (const [i, m] of maps.entries()) {
        const r = await runFaithfulness(g.input, g.dims, g.grid, g.patch, m.values, run, { batchSize: g.batchSize, classIndex, onProgress: (done, total) => progress(t('deletion/insertion {0}/{1}', i + 1, maps.length), done, total) });
        scores.push({ name: m.name, deletionAuc: r.deletionAuc, insertionAuc: r.insertionAuc });
      }
      return rankMaps(scores);
    },
  };
}
