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
import { decodeImage, encodePng } from './imageFile';
import { attachExternalData, createSession, runModel } from './runModel';
import { CLASS_VIEWS, classViews, resolveClass, type ClassView } from './classViews';

const USAGE = `Usage: vit-lens inspect [MODEL.onnx] [--image IMAGE] [--out HEATMAP.png]
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
  (heatmap.values: rows × cols, prefix tokens excluded) and its hottest patch.`;

/** The views the CLI draws: the panel's own maths, one value per patch. */
const CLI_VIEWS = ['attention', 'rollout', ...CLASS_VIEWS] as const;

interface Args { command?: string; model?: string; image?: string; out?: string; layer?: number; head?: number; view: (typeof CLI_VIEWS)[number]; cls?: string; faithfulness: boolean; json: boolean }

function parseArgs(argv: string[]): Args {
  const a: Args = { json: false, faithfulness: false, view: 'attention' };
  const rest: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const v = argv[i];
    const next = () => {
      if (i + 1 >= argv.length) throw new Error(`${v} needs a value`);
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
      if (!known) throw new Error(`--view must be one of ${CLI_VIEWS.join(', ')} (got ${view})`);
      a.view = known;
    }
    else if (v === '-h' || v === '--help') a.command = 'help';
    else if (v.startsWith('--')) throw new Error(`unknown option ${v}`);
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
    console.error(`error: ${(e as Error).message}\n\n${USAGE}`);
    return 2;
  }
  if (args.command === 'help' || !args.command) {
    console.log(USAGE);
    return args.command ? 0 : 2;
  }
  if (args.command !== 'inspect') {
    console.error(USAGE);
    return 2;
  }
  args.model ??= defaultModelPath();
  try {
    if (!existsSync(args.model)) throw new Error(`model file not found: ${args.model}`);
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
        console.log(`${model.card.name}: Swin Transformer with ${w.stages} stages (depths ${w.depths.join(', ')}; heads ${w.heads.map((h) => h ?? '?').join(', ')}), width ${s.embedDim}`);
        console.log(`  windows     ${w.window}×${w.window} tokens; grids ${w.grids.map((g) => `${g}×${g}`).join(' → ')}; shifted blocks ${w.blocks.flatMap((b, i) => (b.shift ? [`${i + 1} (by ${b.shift})`] : [])).join(', ') || 'none'}`);
      } else {
        console.log(`${model.card.name}: ${s.family === 'deit' ? 'DeiT' : 'ViT'} with ${s.layers} layers × ${s.heads ?? '?'} heads, width ${s.embedDim}`);
      }
      console.log(`  input       ${s.input.name} [${s.input.dynamicBatch ? 'batch' : 1}, ${s.input.channels}, ${s.input.height ?? '?'}, ${s.input.width ?? '?'}]`);
      console.log(`  patches     ${s.patchSize}×${s.patchSize} → grid ${s.grid ? `${s.grid.rows}×${s.grid.cols}` : '?'}, ${s.prefixTokens} prefix token(s), ${s.tokens ?? '?'} tokens`);
      console.log(`  norm        ${s.norm}-norm${s.swin?.cosine ? '; cosine attention with a learned temperature' : ''}; classifier: ${!s.logits.classes ? 'none' : classifierWords(s.classifier)}`);
      console.log(`  output      ${describeOutputs(s.outputs)}`);
      console.log(`  attention   ${s.attention.length} taps: ${s.attention[0].where}`);
      console.log(`  card        ${model.card.source} (${model.card.labels.length} labels)`);
    }
    if (args.image) {
      if (!existsSync(args.image)) throw new Error(`image file not found: ${args.image}`);
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
        if (!args.json) for (const m of notDrawn) console.log(`  not drawn   ${m}`);
      }
      if (args.view === 'rollout' && sized.structure.swin) throw new Error('--view rollout needs global attention; a Swin model attends inside windows (use --view attention).');
      const isClassView = (CLASS_VIEWS as readonly string[]).includes(args.view);
      if ((isClassView || args.faithfulness || args.cls !== undefined) && !top.length) throw new Error(`--${args.cls !== undefined ? 'class' : isClassView ? `view ${args.view}` : 'faithfulness'} needs class scores; ${noClassesNote(s.outputs)}`);
      const classIndex = top.length ? resolveClass(args.cls, model.card.labels, top[0].index) : -1;
      // Progress of the many-run views on stderr, so --json stays parseable.
      const progress = (what: string, done: number, total: number) => { if (process.stderr.isTTY || done === total) process.stderr.write(`\r  ${what}: ${done}/${total}${done === total ? '\n' : ''}`); };
      const classes = top.length ? classViews(sized, input, progress) : undefined;
      // The panel's own view maths, so the PNG is what the panel draws for this view, layer and head.
      const view = isClassView
        ? { ...(await classes!.map(args.view as ClassView, classIndex, { layer, head: head < 0 ? 'mean' : head })), grid: sized.structure.grid! }
        : computeView(sized.structure, run, { ...DEFAULT_VIEW, mode: args.view as 'attention' | 'rollout', layer, head: head < 0 ? 'mean' : String(head) });
      const grid = view.grid;
      if (!view.values) throw new Error(`the ${args.view} view has no values for this model: ${view.caption}`);
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
        const f = await classes.faithfulness(maps, classIndex);
        report.faithfulness = { classIndex, label: model.card.labels[classIndex], ranking: f.ranking, explanation: f.explanation, ...(skipped.length ? { skipped } : {}) };
        faithLines = [`  faithfulness for ${model.card.labels[classIndex]} (lower deletion and higher insertion area = more faithful):`,
          ...f.ranking.map((m) => `    ${m.rank}. ${m.name.padEnd(10)} deletion ${m.deletionAuc.toFixed(3)}  insertion ${m.insertionAuc.toFixed(3)}`),
          ...skipped.map((k) => `    not ranked: ${k}`)];
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
        console.log(`  image       ${args.image} (${img.width}×${img.height}) → model input ${describeInputSize(p)}, in ${run.ms.toFixed(0)} ms`);
        for (const t of top) console.log(`    ${(t.prob * 100).toFixed(1).padStart(5)}%  ${t.label}`);
        if (!top.length) console.log(`  predictions none: ${noClassesNote(s.outputs)}`);
        console.log(`  view        ${view.caption}`);
        const where = isClassView ? `${args.view} for ${model.card.labels[classIndex]}` : `${args.view === 'rollout' ? `rollout to layer ${layer + 1}` : `layer ${layer + 1}`}, ${head < 0 ? 'mean of heads' : `head ${head + 1}`}`;
        console.log(`  ${where}: hottest patch row ${Math.floor(hot / grid.cols)}, col ${hot % grid.cols} (${values[hot].toFixed(4)})`);
        for (const l of faithLines) console.log(l);
      }
      if (args.out) {
        const out = compositeHeatmap(rgba, inputSize(p), values, grid);
        writeFileSync(args.out, encodePng(out.data, out.width, out.height));
        report.out = args.out;
        if (!args.json) console.log(`  wrote       ${args.out}`);
      }
    }
    if (args.json) console.log(JSON.stringify(report, null, 2));
    return 0;
  } catch (e) {
    const info = toErrorInfo(e);
    console.error(`error: ${info.message}${info.hint ? `\n  ${info.hint}` : ''}`);
    return 1;
  }
}

if (require.main === module) {
  main(process.argv.slice(2)).then((code) => process.exit(code));
}
