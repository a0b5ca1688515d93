/**
 * `vit-lens inspect [MODEL.onnx] [--image IMG --out heatmap.png] [--view attention|rollout|relevance|gradcam|attgrad|occlusion]
 *  [--class N|NAME] [--faithfulness] [--layer N] [--head H] [--json]`
 * The same detection, instrumentation and maths as the extension, for scripts and CI.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { argmax } from '../shared/attentionMaps';
import { DEFAULT_BUNDLED_MODEL } from '../shared/bundledModels';
import { classifierWords } from '../shared/classifierHead';
import { classPredictions, describeOutputs, mainOutput, noClassesNote } from '../shared/modelOutput';
import { toErrorInfo } from '../shared/errors';
import { compositeHeatmap } from '../shared/heatmapImage';
import { cardFileName, CardFiles, prepareModel } from '../shared/prepareModel';
import { compositeOnWhite, preprocessRgba, toInputTensor } from '../shared/preprocess';
import { describeInputSize, inputSize } from '../shared/modelCard';
import { atImageSize } from '../shared/anySize';
import { DEFAULT_VIEW } from '../shared/protocol';
import { computeView } from '../shared/viewData';
import { layoutMismatches } from '../shared/tokenLayout';
import { t } from '../shared/l10n';
import { decodeImage, encodePng } from './imageFile';
import { attachExternalData, createSession, runModel } from './runModel';
import { CLASS_VIEWS, classViews, resolveClass, type ClassView } from './classViews';

function usage(): string {
  return t(`Usage: vit-lens inspect [MODEL.onnx] [--image IMAGE] [--out HEATMAP.png]
                        [--view attention|rollout|relevance|gradcam|attgrad|occlusion] [--class N|NAME]
                        [--faithfulness] [--layer N] [--head H] [--json]

  Prints the Vision Transformer found in MODEL.onnx (default: the bundled ImageNet ViT-Ti/16): patch size,
  grid, width, layers, heads, prefix tokens, where attention is tapped, what the model outputs. With --image,
  runs the model with onnxruntime-web and prints the top-5 predictions (for a classifier) and the map of
  --view: the CLS attention of layer N (default: last; 1-based) and head H (default: mean of heads;
  1-based), or the attention rollout up to layer N; for one class (--class: index or name, default the
  top-1): relevance (gradient-weighted rollout, Chefer et al.), gradcam (Grad-CAM on the last block's
  tokens), attgrad (attention × gradient of layer N, head H) or occlusion (the probability drop when each
  patch is blanked). --faithfulness ranks the maps by their deletion and insertion areas for that class.
  With --out, writes the map over the image as a PNG. --json prints everything as JSON, with the map's values
  (heatmap.values: rows × cols, prefix tokens excluded) and its hottest patch.`);
}

/** A row of the text report: the label in a column 11 wide, then the value. */
const row = (label: string, value: string) => `  ${label.padEnd(11)} ${value}`;

/** The views the CLI draws: the panel's own maths, one value per patch. */
const CLI_VIEWS = ['attention', 'rollout', ...CLASS_VIEWS] as const;

interface Args { command?: string; model?: string; image?: string; out?: string; layer?: number; head?: number; view: (typeof CLI_VIEWS)[number]; cls?: string; faithfulness: boolean; json: boolean }

function parseArgs(argv: string[]): Args {
  const a: Args = { json: false, faithfulness: false, view: 'attention' };
  const rest: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const v = argv[i];
    const next = () => {
      if (i + 1 >= argv.length) throw new Error(t('{0} needs a value', v));
      return argv[++i];
    };
    if (v === '--image') a.image = next();
    else if (v === '--out') a.out = next();
    else if (v === '--layer') a.layer = Number(next());
    else if (v === '--head') a.head = Number(next());
    else if (v === '--json') a.json = true;
    else if (v === '--class') a.cls = next();
    else if (v === '--faithfulness') a.faithfulness = true;
    else if (v === '--view') {
      const view = next();
      const known = CLI_VIEWS.find((x) => x === view);
      if (!known) throw new Error(t('--view must be one of {0} (got {1})', CLI_VIEWS.join(', '), view));
      a.view = known;
    }
    else if (v === '-h' || v === '--help') a.command = 'help';
    else if (v.startsWith('--')) throw new Error(t('unknown option {0}', v));
    else rest.push(v);
  }
  a.command ??= rest[0];
  a.model = rest[1];
  return a;
}

function readJson(p: string): Record<string, unknown> | undefined {
  try {
    return existsSync(p) ? (JSON.parse(readFileSync(p, 'utf8')) as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

function cardFiles(modelPath: string): CardFiles {
  const dir = path.dirname(modelPath);
  // All three are read: each fills what the ones before it leave out (prepareModel's chooseCard).
  return { own: readJson(path.join(dir, cardFileName(path.basename(modelPath)))), config: readJson(path.join(dir, 'config.json')), preprocessor: readJson(path.join(dir, 'preprocessor_config.json')) };
}

/** The bundled default model: beside dist/cli.js in the package, or two levels up from src/cli when run from source. */
function defaultModelPath(): string {
  const file = `${DEFAULT_BUNDLED_MODEL}.onnx`;
  const candidates = [path.join(__dirname, '..', 'models', file), path.join(__dirname, '..', '..', 'models', file)];
  return candidates.find((p) => existsSync(p)) ?? candidates[0];
}

export async function main(argv: string[]): Promise<number> {
  let args: Args;
  try {
    args = parseArgs(argv);
  } catch (e) {
    console.error(`${t('error: {0}', (e as Error).message)}\n\n${usage()}`);
    return 2;
  }
  if (args.command === 'help' || !args.command) {
    console.log(usage());
    return args.command ? 0 : 2;
  }
  if (args.command !== 'inspect') {
    console.error(usage());
    return 2;
  }
  args.model ??= defaultModelPath();
  try {
    if (!existsSync(args.model)) throw new Error(t('model file not found: {0}', args.model));
    const bytes = new Uint8Array(readFileSync(args.model));
    const model = attachExternalData(prepareModel(bytes, path.basename(args.model), args.model, cardFiles(args.model)), args.model);
    const s = model.structure;
    const report: Record<string, unknown> = {
      model: args.model,
      family: s.family,
      input: s.input,
      patchSize: s.patchSize,
      grid: s.grid,
      embedDim: s.embedDim,
      layers: s.layers,
      heads: s.heads,
      prefixTokens: s.prefixTokens,
      tokens: s.tokens,
      norm: s.norm,
      classifier: s.logits.classes ? s.classifier : 'none',
      output: mainOutput(s.outputs).describe,
      outputs: s.outputs,
      attentionTaps: s.attention,
      ...(s.swin ? { swin: s.swin } : {}),
      card: { name: model.card.name, source: model.card.source, preprocess: model.card.preprocess, classes: model.card.labels.length },
    };
    if (!args.json) {
      if (s.swin) {
        const w = s.swin;
        console.log(t('{0}: Swin Transformer with {1} stages (depths {2}; heads {3}), width {4}', model.card.name, w.stages, w.depths.join(', '), w.heads.map((h) => h ?? '?').join(', '), s.embedDim));
        const shifted = w.blocks.flatMap((b, i) => (b.shift ? [t('{0} (by {1})', i + 1, b.shift)] : [])).join(', ');
        console.log(row(t('windows'), t('{0}×{0} tokens; grids {1}; shifted blocks {2}', w.window, w.grids.map((g) => `${g}×${g}`).join(' → '), shifted || t('none'))));
      } else {
        const heads = s.heads ?? '?';
        console.log(s.family === 'deit'
          ? t('{0}: DeiT with {1} layers × {2} heads, width {3}', model.card.name, s.layers, heads, s.embedDim)
          : t('{0}: ViT with {1} layers × {2} heads, width {3}', model.card.name, s.layers, heads, s.embedDim));
      }
      console.log(row(t('input'), `${s.input.name} [${s.input.dynamicBatch ? t('batch') : 1}, ${s.input.channels}, ${s.input.height ?? '?'}, ${s.input.width ?? '?'}]`));
      console.log(row(t('patches'), t('{0}×{0} → grid {1}, {2} prefix token(s), {3} tokens', s.patchSize, s.grid ? `${s.grid.rows}×${s.grid.cols}` : '?', s.prefixTokens, s.tokens ?? '?')));
      const classifier = !s.logits.classes ? t('none') : classifierWords(s.classifier);
      console.log(row(t('norm'), s.swin?.cosine
        ? t('{0}-norm; cosine attention with a learned temperature; classifier: {1}', s.norm, classifier)
        : t('{0}-norm; classifier: {1}', s.norm, classifier)));
      console.log(row(t('output'), describeOutputs(s.outputs)));
      console.log(row(t('attention'), t('{0} taps: {1}', s.attention.length, s.attention[0].where)));
      console.log(row(t('card'), t('{0} ({1} labels)', model.card.source, model.card.labels.length)));
    }
    if (args.image) {
      if (!existsSync(args.image)) throw new Error(t('image file not found: {0}', args.image));
      const img = decodeImage(new Uint8Array(readFileSync(args.image)), path.basename(args.image));
      // A model that runs at any size is run at this image's aspect ratio (as the panel does).
      const sized = atImageSize(model, img.width, img.height);
      const p = sized.card.preprocess;
      // Transparent pixels onto white, as the webview does, then resized as PIL would.
      compositeOnWhite(img.rgba);
      const rgba = preprocessRgba(img.rgba, img.width, img.height, p);
      const session = await createSession(model);
      const input = toInputTensor(rgba, p);
      const run = await runModel(session, sized, input);
      const top = classPredictions(model, run.logits, 5);
      const layer = Math.min(s.layers, Math.max(1, args.layer ?? s.layers)) - 1;
      const head = args.head ? args.head - 1 : -1;
      // Layers whose attention does not fit their grid on this run are never drawn (src/shared/tokenLayout.ts).
      const notDrawn = layoutMismatches(sized.structure, run.layers);
      if (notDrawn.length) {
        report.notDrawn = notDrawn;
        if (!args.json) for (const m of notDrawn) console.log(row(t('not drawn'), m));
      }
      if (args.view === 'rollout' && sized.structure.swin) throw new Error(t('--view rollout needs global attention; a Swin model attends inside windows (use --view attention).'));
      const isClassView = (CLASS_VIEWS as readonly string[]).includes(args.view);
      if ((isClassView || args.faithfulness || args.cls !== undefined) && !top.length) {
        const note = noClassesNote(s.outputs);
        throw new Error(args.cls !== undefined ? t('--class needs class scores; {0}', note)
          : isClassView ? t('--view {0} needs class scores; {1}', args.view, note) : t('--faithfulness needs class scores; {0}', note));
      }
      const classIndex = top.length ? resolveClass(args.cls, model.card.labels, top[0].index) : -1;
      // Progress of the many-run views on stderr, so --json stays parseable.
      const progress = (what: string, done: number, total: number) => { if (process.stderr.isTTY || done === total) process.stderr.write(`\r  ${what}: ${done}/${total}${done === total ? '\n' : ''}`); };
      const classes = top.length ? classViews(sized, input, progress) : undefined;
      // The panel's own view maths, so the PNG is what the panel draws for this view, layer and head.
      const view = isClassView
        ? { ...(await classes!.map(args.view as ClassView, classIndex, { layer, head: head < 0 ? 'mean' : head })), grid: sized.structure.grid! }
        : computeView(sized.structure, run, { ...DEFAULT_VIEW, mode: args.view as 'attention' | 'rollout', layer, head: head < 0 ? 'mean' : String(head) });
      const grid = view.grid;
      if (!view.values) throw new Error(t('the {0} view has no values for this model: {1}', args.view, view.caption));
      const values = view.values;
      let faithLines: string[] = [];
      if (args.faithfulness && classes) {
        // Every map with one value per patch: the one asked for, attention and rollout, and the gradient maps where the graph allows.
        const maps = [{ name: args.view, values }];
        const last = computeView(sized.structure, run, { ...DEFAULT_VIEW, layer: s.layers - 1 });
        if (args.view !== 'attention' && last.values) maps.push({ name: 'attention', values: last.values });
        if (!sized.structure.swin && args.view !== 'rollout') {
          const r = computeView(sized.structure, run, { ...DEFAULT_VIEW, mode: 'rollout', layer: s.layers - 1 });
          if (r.values) maps.push({ name: 'rollout', values: r.values });
        }
        const skipped: string[] = [];
        for (const v of ['relevance', 'gradcam'] as const) {
          if (v === args.view || sized.structure.swin) continue;
          try {
            maps.push({ name: v, values: (await classes.map(v, classIndex, { layer, head: 'mean' })).values });
          } catch (e) {
            skipped.push(`${v}: ${(e as Error).message}`);
          }
        }
        // Deletion and insertion perturb the patch grid: a map at another resolution (a Swin stage's, 7×7 at the last
        // stage) has no order over its patches, so it is named, not ranked (as in the panel).
        const { rows, cols } = sized.structure.grid!;
        for (const m of maps.filter((x) => x.values.length !== rows * cols)) skipped.push(t('{0}: {1} values, not one per patch of the {2}×{3} grid', m.name, m.values.length, rows, cols));
        const f = await classes.faithfulness(maps.filter((x) => x.values.length === rows * cols), classIndex);
        report.faithfulness = { classIndex, label: model.card.labels[classIndex], ranking: f.ranking, explanation: f.explanation, ...(skipped.length ? { skipped } : {}) };
        faithLines = [`  ${t('faithfulness for {0} (lower deletion and higher insertion area = more faithful):', model.card.labels[classIndex])}`,
          ...f.ranking.map((m) => `    ${m.rank}. ${m.name.padEnd(10)} ${t('deletion {0}  insertion {1}', m.deletionAuc.toFixed(3), m.insertionAuc.toFixed(3))}`),
          ...skipped.map((k) => `    ${t('not ranked: {0}', k)}`)];
      }
      const hot = argmax(values);
      Object.assign(report, {
        image: args.image,
        inputSize: inputSize(p),
        inferenceMs: run.ms,
        ...(top.length ? { top5: top } : { predictions: noClassesNote(s.outputs) }),
        heatmap: {
          view: args.view, ...(isClassView ? { classIndex, label: model.card.labels[classIndex] } : {}), layer: layer + 1, head: head < 0 ? 'mean' : head + 1, caption: view.caption, rows: grid.rows, cols: grid.cols,
          hottestPatch: { index: hot, row: Math.floor(hot / grid.cols), col: hot % grid.cols, value: values[hot] },
          values: Array.from({ length: grid.rows }, (_, r) => Array.from(values.subarray(r * grid.cols, (r + 1) * grid.cols))),
        },
      });
      if (!args.json) {
        console.log(row(t('image'), t('{0} ({1}×{2}) → model input {3}, in {4} ms', args.image, img.width, img.height, describeInputSize(p), run.ms.toFixed(0))));
        for (const c of top) console.log(`    ${(c.prob * 100).toFixed(1).padStart(5)}%  ${c.label}`);
        if (!top.length) console.log(row(t('predictions'), t('none: {0}', noClassesNote(s.outputs))));
        console.log(row(t('view'), view.caption));
        const where = isClassView ? t('{0} for {1}', args.view, model.card.labels[classIndex])
          : `${args.view === 'rollout' ? t('rollout to layer {0}', layer + 1) : t('layer {0}', layer + 1)}, ${head < 0 ? t('mean of heads') : t('head {0}', head + 1)}`;
        console.log(`  ${t('{0}: hottest patch row {1}, col {2} ({3})', where, Math.floor(hot / grid.cols), hot % grid.cols, values[hot].toFixed(4))}`);
        for (const l of faithLines) console.log(l);
      }
      if (args.out) {
        const out = compositeHeatmap(rgba, inputSize(p), values, grid);
        writeFileSync(args.out, encodePng(out.data, out.width, out.height));
        report.out = args.out;
        if (!args.json) console.log(row(t('wrote'), args.out));
      }
    }
    if (args.json) console.log(JSON.stringify(report, null, 2));
    return 0;
  } catch (e) {
    const info = toErrorInfo(e);
    console.error(`${t('error: {0}', info.message)}${info.hint ? `\n  ${info.hint}` : ''}`);
    return 1;
  }
}

if (require.main === module) {
  main(process.argv.slice(2)).then((code) => process.exit(code));
}
