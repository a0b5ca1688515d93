/**
 * "Why this class": a class-specific map that works on every model (occlusion: the drop in the class probability
 * when each patch is blanked), the gradient maps where the model's graph can be differentiated (relevance, Grad-CAM,
 * attention × gradient, and the relevance of two classes compared), and "which map to trust on this image" (deletion
 * and insertion curves of every map shown, ranked by their areas). Runs go to the inference worker, with progress and
 * a Cancel button.
 */
import { classMap, type ClassMap, type ClassMapKind } from '../shared/classMaps';
import { NoGradientError } from '../shared/onnx/backward';
import { classDifference } from '../shared/relevance';
import { runFaithfulness, rankMaps, type FaithfulnessResult } from '../shared/faithfulness';
import { t } from '../shared/l10n';
import { inputSize } from '../shared/modelCard';
import { OcclusionCancelled, perturbationGeometry, runOcclusion, type RunBatch } from '../shared/occlusion';
import { toInputTensor } from '../shared/preprocess';
import { DEFAULT_VIEW, type ModelPayload, type Prediction } from '../shared/protocol';
import { computeView, type RunData } from '../shared/viewData';
import type { PageGradientResult } from './gradientClient';
import { heatmapFigure } from './heatmapFigure';

export interface ClassMapsHost {
  current(): { model: ModelPayload; run: RunData; top: Prediction[]; rgba: Uint8ClampedArray } | undefined;
  /** The model's logits for `batchSize` images laid out back to back (one per run call without a dynamic batch axis). */
  runBatch(model: ModelPayload, batch: Float32Array, batchSize: number): Promise<Float32Array[]>;
  /** d logit[classIndex] / d attention and token features on `input`, from the model's gradient session in the worker. */
  gradients(model: ModelPayload, input: Float32Array, classIndex: number): Promise<PageGradientResult>;
  /** Resolves when the panel holds the whole run (with the model in the host, the rest of the attention is fetched). */
  wholeRun(): Promise<void>;
  /** The panel's layer (0-based) and head choice ('mean', 'max', 'min' or a head index), for attention × gradient. */
  view(): { layer: number; head: string };
  /** A class map was drawn (or cleared): the inspector and the exports follow it. */
  changed(): void;
  /** Saves a file through the host (the panel's export path); `fileName` is a suggestion. */
  save(format: 'png', fileName: string, data: Uint8Array): Promise<void>;
}

/** The class map the card shows, for the inspector (the selected patch's value) and Export JSON. */
export interface ShownClassMap {
  kind: ClassMapKind | 'occlusion' | 'compare';
  classIndex: number;
  label: string;
  /** For 'compare': the class subtracted. */
  versus?: { classIndex: number; label: string };
  values: Float32Array;
  grid: { rows: number; cols: number };
  caption: string;
}

let shown: ShownClassMap | undefined;
let onChanged: () => void = () => undefined;

export function shownClassMap(): ShownClassMap | undefined {
  return shown;
}

function show(m: ShownClassMap | undefined): void {
  shown = m;
  ($('why-export') as HTMLElement & { disabled: boolean }).disabled = !m;
  onChanged();
}

const $ = (id: string) => document.getElementById(id)!;
/** Images per worker call where the batch axis is dynamic: large enough to amortize a call, small enough to cancel soon. */
const BATCH = 16;

let occlusion: { key: string; classIndex: number; map: Float32Array } | undefined;
let running: AbortController | undefined;
/** The last two classes' gradient runs of this image: a comparison needs two, and switching maps reuses them. */
let gradientRuns: { key: string; classIndex: number; r: PageGradientResult }[] = [];
/** Relevance and Grad-CAM maps computed for this image, by `${kind} ${classIndex}`: "Which map to trust" tests them too. */
const gradientMaps = new Map<string, ClassMap>();

const GRADIENT_BUTTONS = ['why-relevance', 'why-gradcam', 'why-attgrad', 'why-compare'];
/** The map's name as the card shows it (looked up when shown: the bundle is configured after this module loads). */
function kindName(kind: ClassMapKind): string {
  return { relevance: t('Relevance'), gradcam: t('Grad-CAM'), attgrad: t('Attention × gradient') }[kind];
}

/** The class index the card is set to: a label typed in the box wins over the top-5 choice. */
function chosenClass(m: ModelPayload): number {
  const typed = ($('why-class-name') as HTMLInputElement).value.trim().toLowerCase();
  if (typed) {
    const i = m.card.labels.findIndex((l) => l.toLowerCase() === typed);
    if (i < 0) throw new RangeError(t`"${typed}" is not one of this model's ${m.card.labels.length} class names.`);
    return i;
  }
  const v = Number(($('why-class') as HTMLElement & { value: string }).value);
  if (!Number.isInteger(v) || v < 0 || v >= m.card.labels.length) throw new RangeError(t`Class ${v} is out of range (0–${m.card.labels.length - 1}).`);
  return v;
}

function geometry(m: ModelPayload, rgba: Uint8ClampedArray) {
  return { input: toInputTensor(rgba, m.card.preprocess), ...perturbationGeometry(m, BATCH) };
}

/** Runs `work` with the progress bar and Cancel button; a cancel or error is said in the card, never thrown. */
async function withProgress(label: string, work: (opts: { signal: AbortSignal; onProgress: (done: number, total: number) => void }) => Promise<void>): Promise<void> {
  running?.abort();
  const ctl = new AbortController();
  running = ctl;
  const bar = $('why-progress') as HTMLProgressElement;
  const text = $('why-text');
  const out = $('why-out');
  bar.hidden = false;
  ($('why-cancel') as HTMLElement).hidden = false;
  out.setAttribute('aria-busy', 'true');
  delete out.dataset.error;
  try {
    await work({ signal: ctl.signal, onProgress: (done, total) => { bar.max = total; bar.value = done; text.textContent = t`${label}: ${done} of ${total} images…`; } });
  } catch (e) {
    out.dataset.error = e instanceof OcclusionCancelled ? 'cancelled' : 'true';
    text.textContent = e instanceof OcclusionCancelled ? t`${label} cancelled.` : t`${label} failed: ${(e as Error).message ?? String(e)}`;
  } finally {
    if (running === ctl) running = undefined;
    bar.hidden = true;
    ($('why-cancel') as HTMLElement).hidden = true;
    out.removeAttribute('aria-busy');
  }
}

async function showOcclusion(host: ClassMapsHost): Promise<void> {
  const cur = host.current();
  if (!cur) return;
  await withProgress(t('Occlusion'), async (opts) => {
    const classIndex = chosenClass(cur.model);
    const g = geometry(cur.model, cur.rgba);
    const run: RunBatch = (batch, b) => host.runBatch(cur.model, batch, b);
    const r = await runOcclusion(g.input, g.dims, g.grid, g.patch, run, { ...opts, batchSize: g.batchSize, classIndex });
    occlusion = { key: cur.model.key, classIndex, map: r.map };
    const label = cur.model.card.labels[classIndex];
    const out = $('why-out');
    out.replaceChildren(heatmapFigure(t`Occlusion: ${label}`, cur.rgba, inputSize(cur.model.card.preprocess), r.map.map((v) => Math.max(0, v)), g.grid));
    setMapData(out, 'occlusion', classIndex, r.map);
    const worst = r.map.reduce((a, v, i) => (v > r.map[a] ? i : a), 0);
    const [row, col] = [Math.floor(worst / g.grid.cols), worst % g.grid.cols];
    $('why-text').textContent = t`${label}: ${(r.baseProb * 100).toFixed(1)} % on the whole image. Blanking one patch (to the training mean) lowers it by up to ${(r.map[worst] * 100).toFixed(1)} points (row ${row}, column ${col}); patches that raise it when blanked are drawn empty. ${r.images} runs of the model.`;
    show({ kind: 'occlusion', classIndex, label, values: r.map, grid: g.grid, caption: $('why-text').textContent });
  });
}

/** Gradients of `classIndex` on the card's image, reused when this image's class was run already; `timing` says what it cost. */
async function gradientsFor(host: ClassMapsHost, cur: NonNullable<ReturnType<ClassMapsHost['current']>>, classIndex: number): Promise<{ r: PageGradientResult; timing: string }> {
  const kept = gradientRuns.find((g) => g.key === cur.model.key && g.classIndex === classIndex);
  if (kept) return { r: kept.r, timing: t('Gradients reused.') };
  const r = await host.gradients(cur.model, geometry(cur.model, cur.rgba).input, classIndex);
  gradientRuns = [...gradientRuns.filter((g) => g.key === cur.model.key).slice(-1), { key: cur.model.key, classIndex, r }];
  const steps = [t`Gradients in ${r.ms.toFixed(0)} ms`, ...(r.setupMs ? [t`gradient model probed and built in ${r.setupMs.toFixed(0)} ms`] : []), r.sessionMs ? t`its session created in ${r.sessionMs.toFixed(0)} ms` : t('session reused')];
  const timing = `${steps.join(' · ')}.`;
  const out = $('why-out');
  out.dataset.gradientMs = r.ms.toFixed(1);
  if (r.setupMs) out.dataset.setupMs = r.setupMs.toFixed(1);
  if (r.sessionMs) out.dataset.sessionMs = r.sessionMs.toFixed(1);
  return { r, timing };
}

/** Attention × gradient is defined per head or averaged over heads; the max and min fusions fall back to the mean. */
function headOf(choice: string): number | 'mean' {
  const h = Number(choice);
  return choice !== '' && Number.isInteger(h) ? h : 'mean';
}

async function gradientMap(host: ClassMapsHost, cur: NonNullable<ReturnType<ClassMapsHost['current']>>, kind: ClassMapKind, classIndex: number): Promise<{ map: ClassMap; timing: string }> {
  const { r, timing } = await gradientsFor(host, cur, classIndex);
  const v = host.view();
  const map = classMap(cur.model.structure, r, kind, cur.model.card.labels[classIndex], kind === 'attgrad' ? { layer: v.layer, head: headOf(v.head) } : {});
  if (kind !== 'attgrad') gradientMaps.set(`${kind} ${classIndex}`, map);
  return { map, timing };
}

/** Says in the card that this model's graph cannot be differentiated (naming the op) and turns the gradient buttons off. */
function showNoGradient(e: NoGradientError): void {
  const out = $('why-out');
  out.replaceChildren();
  out.dataset.error = 'no-gradient';
  out.dataset.op = e.opType;
  const reason = t`${e.message} ${e.hint ?? ''} Occlusion still works: it only runs the model.`;
  $('why-text').textContent = reason;
  setGradientButtons(reason);
}

/** Turns the gradient buttons in `ids` off with `reason` as their tooltip, or on when it is empty. */
function setGradientButtons(reason: string, ids = GRADIENT_BUTTONS): void {
  for (const id of ids) {
    const b = $(id) as HTMLElement & { disabled: boolean };
    b.disabled = !!reason;
    if (reason) b.title = reason;
    else b.removeAttribute('title');
  }
}

/** Runs `work` as a gradient action: an indeterminate bar, and a model without gradient rules said in the card. */
async function withGradients(label: string, work: (signal: AbortSignal) => Promise<void>): Promise<void> {
  await withProgress(label, async ({ signal }) => {
    $('why-progress').removeAttribute('value');
    $('why-text').textContent = t`${label}: computing the class gradients…`;
    try {
      await work(signal);
    } catch (e) {
      if (!(e instanceof NoGradientError)) throw e;
      showNoGradient(e);
    }
  });
}

function setMapData(out: HTMLElement, kind: string, classIndex: number, map: ArrayLike<number>): void {
  out.dataset.kind = kind;
  out.dataset.classIndex = String(classIndex);
  out.dataset.map = Array.from(map, (v) => v.toPrecision(6)).join(',');
}

async function showGradientMap(host: ClassMapsHost, kind: ClassMapKind): Promise<void> {
  const cur = host.current();
  if (!cur) return;
  await withGradients(kindName(kind), async (signal) => {
    const classIndex = chosenClass(cur.model);
    const { map, timing } = await gradientMap(host, cur, kind, classIndex);
    // The worker run cannot be interrupted; a cancel drops its result.
    if (signal.aborted) throw new OcclusionCancelled();
    const out = $('why-out');
    out.replaceChildren(heatmapFigure(`${kindName(kind)}: ${cur.model.card.labels[classIndex]}`, cur.rgba, inputSize(cur.model.card.preprocess), map.values, map.grid));
    setMapData(out, kind, classIndex, map.values);
    $('why-text').textContent = `${map.caption} ${timing}`;
    show({ kind, classIndex, label: cur.model.card.labels[classIndex], values: map.values, grid: map.grid, caption: map.caption });
  });
}

/** The class to compare with: a typed name, else the first of the top 5 that is not `a`. */
function secondClass(m: ModelPayload, a: number, top: Prediction[]): number {
  const typed = ($('why-compare-name') as HTMLInputElement).value.trim().toLowerCase();
  if (typed) {
    const i = m.card.labels.findIndex((l) => l.toLowerCase() === typed);
    if (i < 0) throw new RangeError(t`"${typed}" is not one of this model's ${m.card.labels.length} class names.`);
    return i;
  }
  const other = top.find((p) => p.index !== a);
  if (!other) throw new RangeError(t('Type a second class to compare with.'));
  return other.index;
}

/**
 * The signed difference a − b over the image: one theme colour where A's map is higher, another where B's is, opaque
 * in proportion to |a − b| / max |a − b| (heatmapFigure draws one-signed values only).
 */
function differenceFigure(title: string, rgba: Uint8ClampedArray, size: { width: number; height: number }, signed: Float32Array, maxAbs: number, grid: { rows: number; cols: number }): HTMLElement {
  // The same look as heatmapFigure's: its figure, canvas class and caption, at its 2× zoom.
  const fig = heatmapFigure(title, rgba, size, new Float32Array(signed.length), grid);
  const canvas = fig.querySelector('canvas')!;
  canvas.setAttribute('aria-label', t`${title}: signed difference`);
  const ctx = canvas.getContext('2d')!;
  const base = document.createElement('canvas');
  base.width = size.width;
  base.height = size.height;
  base.getContext('2d')!.putImageData(new ImageData(new Uint8ClampedArray(rgba), size.width, size.height), 0, 0);
  ctx.drawImage(base, 0, 0, canvas.width, canvas.height);
  const style = getComputedStyle(document.body);
  const [pos, neg] = [['--vscode-charts-orange', '#d18616'], ['--vscode-charts-blue', '#3794ff']].map(([v, d]) => style.getPropertyValue(v).trim() || d);
  const pw = canvas.width / grid.cols;
  const ph = canvas.height / grid.rows;
  for (let i = 0; i < signed.length; i++) {
    if (!maxAbs || !signed[i]) continue;
    // sqrt: most differences are small next to the largest one, and a linear ramp would leave them invisible.
    ctx.globalAlpha = 0.85 * Math.sqrt(Math.abs(signed[i]) / maxAbs);
    ctx.fillStyle = signed[i] > 0 ? pos : neg;
    ctx.fillRect((i % grid.cols) * pw, Math.floor(i / grid.cols) * ph, pw, ph);
  }
  ctx.globalAlpha = 1;
  return fig;
}

async function showComparison(host: ClassMapsHost): Promise<void> {
  const cur = host.current();
  if (!cur) return;
  await withGradients(t('Compare'), async (signal) => {
    const a = chosenClass(cur.model);
    const b = secondClass(cur.model, a, cur.top);
    const [la, lb] = [a, b].map((c) => cur.model.card.labels[c]);
    const ma = await gradientMap(host, cur, 'relevance', a);
    const mb = await gradientMap(host, cur, 'relevance', b);
    if (signal.aborted) throw new OcclusionCancelled();
    // Both maps are min-max normalized, so the difference compares where each class looks, not which logit is larger.
    const d = classDifference(ma.map.values, mb.map.values);
    const size = inputSize(cur.model.card.preprocess);
    const out = $('why-out');
    out.replaceChildren(
      heatmapFigure(t`Relevance: ${la}`, cur.rgba, size, ma.map.values, ma.map.grid),
      heatmapFigure(t`Relevance: ${lb}`, cur.rgba, size, mb.map.values, mb.map.grid),
      differenceFigure(t`${la} vs ${lb}`, cur.rgba, size, d.signed, d.maxAbs, ma.map.grid),
    );
    setMapData(out, 'compare', a, d.signed);
    out.dataset.classB = String(b);
    out.dataset.mapA = Array.from(ma.map.values, (v) => v.toPrecision(6)).join(',');
    out.dataset.mapB = Array.from(mb.map.values, (v) => v.toPrecision(6)).join(',');
    $('why-text').textContent = t`Relevance of ${la} minus that of ${lb} (each min-max normalized): orange where ${la} is favoured, blue where ${lb} is; the largest difference is ${d.maxAbs.toFixed(2)}. ${mb.timing}`;
    show({ kind: 'compare', classIndex: a, label: la, versus: { classIndex: b, label: lb }, values: d.signed, grid: ma.map.grid, caption: t`Relevance of ${la} minus that of ${lb}, each min-max normalized.` });
  });
}

/** Deletion (solid) and insertion (dashed) curves of each map, class probability against the fraction of patches. */
function drawCurves(canvas: HTMLCanvasElement, curves: { name: string; r: FaithfulnessResult }[]): void {
  canvas.hidden = false;
  const ctx = canvas.getContext('2d')!;
  const W = canvas.width, H = canvas.height, pad = 24;
  const style = getComputedStyle(document.body);
  const fg = style.getPropertyValue('--vscode-foreground').trim() || '#ccc';
  // Series colours from the theme's chart palette, so they follow light, dark and high-contrast themes.
  const palette = ['--vscode-charts-blue', '--vscode-charts-orange', '--vscode-charts-green', '--vscode-charts-purple', '--vscode-charts-red'].map((v, i) => style.getPropertyValue(v).trim() || ['#3794ff', '#d18616', '#89d185', '#b180d7', '#f14c4c'][i]);
  ctx.clearRect(0, 0, W, H);
  ctx.strokeStyle = fg;
  ctx.globalAlpha = 0.5;
  ctx.strokeRect(pad, 4, W - pad - 4, H - pad - 4);
  ctx.globalAlpha = 1;
  const max = Math.max(1e-9, ...curves.flatMap((c) => [...c.r.deletion, ...c.r.insertion]));
  const x = (f: number) => pad + f * (W - pad - 4);
  const y = (p: number) => H - pad - (p / max) * (H - pad - 8);
  curves.forEach((c, i) => {
    ctx.strokeStyle = palette[i % palette.length];
    for (const [series, dash] of [[c.r.deletion, []], [c.r.insertion, [4, 3]]] as const) {
      ctx.setLineDash(dash);
      ctx.beginPath();
      series.forEach((p, k) => (k ? ctx.lineTo(x(c.r.fractions[k]), y(p)) : ctx.moveTo(x(c.r.fractions[k]), y(p))));
      ctx.stroke();
    }
  });
  ctx.setLineDash([]);
  ctx.fillStyle = fg;
  ctx.font = '10px sans-serif';
  ctx.fillText('0 %', pad, H - 8);
  ctx.fillText(t('100 % of patches'), W - 90, H - 8);
}

async function showFaithfulness(host: ClassMapsHost): Promise<void> {
  // Rollout is among the maps ranked: it needs every row of every layer.
  await host.wholeRun();
  const cur = host.current();
  if (!cur) return;
  await withProgress(t('Deletion and insertion'), async (opts) => {
    const classIndex = chosenClass(cur.model);
    const g = geometry(cur.model, cur.rgba);
    const s = cur.model.structure;
    const last = cur.run.layers.length - 1;
    // Every map shown for this image that has one value per patch: the default view, rollout, and occlusion once computed.
    // `id`: the English name, kept as the list items' data-name whatever the display language; `name`: what the card says.
    const maps: { id: string; name: string; values: ArrayLike<number> }[] = [];
    const attention = computeView(s, cur.run, { ...DEFAULT_VIEW, layer: last });
    // l10n-ignore: the id (data-name, read by the tests); the name beside it is looked up
    if (attention.values && attention.values.length === g.grid.rows * g.grid.cols) maps.push({ id: 'attention (last layer)', name: t('attention (last layer)'), values: attention.values });
    if (!s.swin) {
      const rollout = computeView(s, cur.run, { ...DEFAULT_VIEW, mode: 'rollout', layer: last });
      if (rollout.values && rollout.values.length === g.grid.rows * g.grid.cols) maps.push({ id: 'rollout', name: t('rollout'), values: rollout.values });
    }
    if (occlusion?.key === cur.model.key && occlusion.classIndex === classIndex) maps.push({ id: 'occlusion', name: t('occlusion'), values: occlusion.map });
    for (const kind of ['relevance', 'gradcam'] as const) {
      const m = gradientMaps.get(`${kind} ${classIndex}`);
      if (m && m.values.length === g.grid.rows * g.grid.cols) maps.push({ id: { relevance: 'Relevance', gradcam: 'Grad-CAM' }[kind], name: kindName(kind), values: m.values });
    }
    if (!maps.length) throw new Error(t('no map of this model has one value per patch to test.'));
    const run: RunBatch = (batch, b) => host.runBatch(cur.model, batch, b);
    const total = maps.length * 22;
    const results: { id: string; name: string; r: FaithfulnessResult }[] = [];
    for (const [i, m] of maps.entries()) {
      const r = await runFaithfulness(g.input, g.dims, g.grid, g.patch, m.values, run, { ...opts, batchSize: g.batchSize, classIndex, onProgress: (d) => opts.onProgress(i * 22 + d, total) });
      results.push({ id: m.id, name: m.name, r });
    }
    const { ranking, explanation } = rankMaps(results.map((c) => ({ name: c.name, deletionAuc: c.r.deletionAuc, insertionAuc: c.r.insertionAuc })));
    drawCurves($('why-curves') as HTMLCanvasElement, results);
    const list = document.createElement('ol');
    list.id = 'why-ranking';
    for (const m of ranking) {
      const li = document.createElement('li');
      li.dataset.name = results.find((c) => c.name === m.name)?.id ?? m.name;
      li.dataset.deletion = m.deletionAuc.toFixed(6);
      li.dataset.insertion = m.insertionAuc.toFixed(6);
      li.textContent = t`${m.name}: deletion AUC ${m.deletionAuc.toFixed(3)}, insertion AUC ${m.insertionAuc.toFixed(3)}`;
      list.append(li);
    }
    $('why-out').replaceChildren(list);
    const label = cur.model.card.labels[classIndex];
    $('why-text').textContent = occlusion?.key === cur.model.key && occlusion.classIndex === classIndex
      ? t`For ${label}. ${explanation} Solid: deletion; dashed: insertion.`
      : t`For ${label}. ${explanation} Solid: deletion; dashed: insertion. Run Occlusion first to include it.`;
  });
}

/** The card's figures side by side in one PNG (what the card shows), named after the map and the class. */
async function saveCardPng(host: ClassMapsHost): Promise<void> {
  const canvases = [...$('why-out').querySelectorAll('canvas')];
  if (!shown || !canvases.length) return;
  const gap = 8;
  const out = new OffscreenCanvas(canvases.reduce((w, c) => w + c.width + gap, -gap), Math.max(...canvases.map((c) => c.height)));
  const ctx = out.getContext('2d')!;
  canvases.reduce((x, c) => (ctx.drawImage(c, x, 0), x + c.width + gap), 0);
  const blob = await out.convertToBlob({ type: 'image/png' });
  const slug = (s: string) => s.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '');
  const name = `${slug(shown.kind)}-${slug(shown.label)}${shown.versus ? `-vs-${slug(shown.versus.label)}` : ''}.png`;
  await host.save('png', name, new Uint8Array(await blob.arrayBuffer()));
}

export function setupClassMaps(host: ClassMapsHost): void {
  onChanged = () => host.changed();
  $('why-export').addEventListener('click', () => void saveCardPng(host));
  $('why-occlusion').addEventListener('click', () => void showOcclusion(host));
  $('why-trust').addEventListener('click', () => void showFaithfulness(host));
  $('why-cancel').addEventListener('click', () => running?.abort());
  for (const kind of ['relevance', 'gradcam', 'attgrad'] as const) $(`why-${kind}`).addEventListener('click', () => void showGradientMap(host, kind));
  $('why-compare').addEventListener('click', () => void showComparison(host));
}

/** A new image or model: the top-5 become the class choices, every label can be typed; old results are cleared. */
export function updateClassMaps(m: ModelPayload, top: Prediction[]): void {
  running?.abort();
  occlusion = undefined;
  shown = undefined;
  ($('why-export') as HTMLElement & { disabled: boolean }).disabled = true;
  gradientRuns = [];
  gradientMaps.clear();
  const select = $('why-class') as HTMLElement & { value: string };
  select.replaceChildren(...top.map((p) => {
    const o = document.createElement('vscode-option');
    o.setAttribute('value', String(p.index));
    o.textContent = `${p.label} (${(p.prob * 100).toFixed(1)} %)`;
    return o;
  }));
  if (top[0]) select.value = String(top[0].index);
  ($('why-labels') as HTMLDataListElement).replaceChildren(...m.card.labels.map((l) => Object.assign(document.createElement('option'), { value: l })));
  ($('why-class-name') as HTMLInputElement).value = '';
  ($('why-compare-name') as HTMLInputElement).value = '';
  const out = $('why-out');
  out.replaceChildren();
  for (const k of Object.keys(out.dataset)) delete out.dataset[k];
  const curves = $('why-curves') as HTMLCanvasElement;
  curves.getContext('2d')?.clearRect(0, 0, 1e4, 1e4);
  // Shown once there are curves: an empty canvas would leave a gap under a single map.
  curves.hidden = true;
  const why = top.length ? '' : t('This model outputs an embedding, not classes: there is no class probability to explain.');
  for (const id of ['why-occlusion', 'why-trust']) ($(id) as HTMLElement & { disabled: boolean }).disabled = !!why;
  setGradientButtons(why);
  // Swin: patch merging leaves no token-to-token relevance across stages (classMaps.ts); per-block maps and Grad-CAM stay.
  const noRelevance = !why && m.structure.swin ? t('Relevance through Swin\'s stages is not defined exactly (patch merging mixes four tokens through a linear layer): use attention × gradient per block, Grad-CAM or occlusion.') : '';
  if (noRelevance) setGradientButtons(noRelevance, ['why-relevance', 'why-compare']);
  $('why-text').textContent = why || t('Occlusion blanks each patch in turn and measures how much the class probability drops; relevance, Grad-CAM and attention × gradient follow the class gradient through the model; then compare every map by deleting and inserting patches in its order.') +
    (noRelevance ? ` ${noRelevance}` : '');
}
