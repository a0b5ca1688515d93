/** The visualize panel: receives a model and an image from the host, runs the model in a worker, draws. */
import './l10nBoot';
import '@vscode-elements/elements/dist/vscode-single-select/index.js';
import '@vscode-elements/elements/dist/vscode-option/index.js';
import '@vscode-elements/elements/dist/vscode-checkbox/index.js';
import '@vscode-elements/elements/dist/vscode-button/index.js';
import { attentionColumn, attentionRow, queriesHeld, rowEntropyPerHead, topIndices } from '../shared/attentionMaps';
import type { ErrorInfo } from '../shared/errors';
import { t } from '../shared/l10n';
import type { Backend, BackendSetting, HostToWebview, ImagePayload, InspectorInfo, ModelBytes, ModelPayload, PanelAction, PersistedState, Prediction, RunModelIn, ViewState, WebviewRequest, WebviewToHost } from '../shared/protocol';
import { DEFAULT_VIEW, RequestChannel, runOutputs } from '../shared/protocol';
import { clsRowSuffices, computeView, displayValues, fusionOf, gridOf, RunData, runDataOf, ViewData } from '../shared/viewData';
import { HeatmapView } from './heatmapView';
import { loadImageInput } from './imageInput';
import { InferenceClient, RunResult, WebviewConfig } from './inferenceClient';
import { modelParts } from '../shared/runnerClient';
import { type HeldInHost, HostRunResult, runInExtensionHost } from './hostRun';
import { HAND_OVER_AFTER_MS, handOver } from './handOver';
import type { VitStructure } from '../shared/vitStructure';
import { renderIdeas } from './ideasView';
import { setupVariants, updateVariants } from './variantsView';
import { headDistances, showFolderDistance } from './distanceView';
import { renderDistillation } from './distillationView';
import { renderMapProbe } from './mapProbeView';
import { Overview } from './overview';
import { explanation, layerLabel, summaryRows } from '../shared/modelSummary';
import { classPredictions, mainOutput, noClassesNote } from '../shared/modelOutput';
import { sinkNote } from '../shared/tokenNorms';
import { layoutMismatch } from '../shared/tokenLayout';
import { inputSize } from '../shared/modelCard';
import { atImageSize } from '../shared/anySize';
import { setupClassMaps, shownClassMap, updateClassMaps } from './classMapsView';
import { GradientClient } from './gradientClient';
import { drawWindows, layoutOf } from './swinView';
import { cacheModel, cachedModelIds, clearCachedModels, readCachedModel } from './modelCache';
import { valuesCsv } from '../shared/valuesCsv';
import { headChoices, stepHead, stepLayer } from '../shared/viewSteps';

interface VsCodeApi {
  postMessage(msg: WebviewToHost): void;
  getState(): PersistedState | undefined;
  setState(s: PersistedState): void;
}
declare function acquireVsCodeApi(): VsCodeApi;

const vscode = acquireVsCodeApi();
const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const app = $('vit-lens-app');
const config = JSON.parse(app.dataset.config ?? '{}') as WebviewConfig;
const client = new InferenceClient(config);
const gradients = new GradientClient(client);
const view = new HeatmapView($('image'), $('heatmap'), $('grid'), $('colorbar'));
const overview = new Overview($('overview'), (layer, head) => setView({ layer, head: String(head), mode: state.mode === 'features' ? 'attention' : state.mode }));

type Select = HTMLElement & { value: string };
type Checkbox = HTMLElement & { checked: boolean };
const selects = { mode: $<Select>('mode'), layer: $<Select>('layer'), head: $<Select>('head'), direction: $<Select>('direction'), cmap: $<Select>('cmap'), scale: $<Select>('scale') };
const ranges = { opacity: $<HTMLInputElement>('opacity'), discard: $<HTMLInputElement>('discard'), mass: $<HTMLInputElement>('mass') };
const checks = { showGrid: $<Checkbox>('show-grid'), smooth: $<Checkbox>('smooth'), showWindows: $<Checkbox>('show-windows') };
const shiftToggle = $<Checkbox>('preview-shift');
const stack = $('stack');

const saved = vscode.getState();
const state: ViewState = { ...DEFAULT_VIEW, ...saved?.view };

interface Current {
  model: ModelPayload;
  run: RunData;
  imageUri: string;
  imageName: string;
  backend: Backend;
  threads: number;
  inferenceMs: number;
  sessionMs: number;
  top: Prediction[];
  image: ImagePayload;
  timeoutMs?: number;
  /** The size×size pixels the model saw. */
  rgba: Uint8ClampedArray;
  /**
   * With the model in the extension host: `run` holds each layer's first row until a view needs other rows (a patch
   * as the query or key, rollout, the distillation token); then `fetchRest` brings the full matrices once.
   */
  rest?: { held: HeldInHost; names: string[]; arriving?: Promise<void> };
}
let current: Current | undefined;
/**
 * The model on screen: its bytes as the host sent them (once per model) or as read from the panel's kept copy,
 * with its output patch, external weights and drawn parameters. Only this one stays in memory: a session that
 * moves between large models must not hold them all (the host re-sends another, or the kept copy is read).
 */
let held: Required<Pick<ModelPayload, 'key' | 'bytes'>> & Pick<ModelPayload, 'graphPatch' | 'externalData'> | undefined;
/** The model's drawn parameters (patch filters, position embeddings), sent once per model, whether or not its bytes are. */
let drawn: { key: string; parameters: ModelPayload['parameters'] } | undefined;
/** Parameters announced by a visualize message ('parametersFollow'), until their own message arrives. */
let drawnArrives: { key: string; promise: Promise<void>; arrived: () => void } | undefined;
function expectParameters(key: string): void {
  let arrived = () => {};
  const promise = new Promise<void>((r) => (arrived = r));
  drawnArrives = { key, promise, arrived };
}
/** The model's drawn parameters, waiting for them when they are on their way. */
async function parametersOf(key: string): Promise<ModelPayload['parameters']> {
  if (drawnArrives?.key === key) await drawnArrives.promise;
  return drawn?.key === key ? drawn.parameters : undefined;
}
const heldFor = (key: string) => (held?.key === key ? held : undefined);
/**
 * The output patch and external weights of the model whose first message came without its bytes (a start in the host,
 * src/host/startInHost.ts): the host sends them once per model, and the page joins them to the bytes it gets later.
 */
let graphOf: Pick<ModelPayload, 'key' | 'graphPatch' | 'externalData'> | undefined;
/** The model whose bytes came ahead of its visualize message ('modelAhead'). */
let arrivedAhead: string | undefined;
/** The highest visualize `seq` received: the host may send one again when it was posted before the page listened. */
let seenVisualize = 0;
/** Where the panel's model runs (vitLens.runModelIn, from the last visualize). */
let runIn: RunModelIn = 'webview';
let lastView: ViewData | undefined;

function post(msg: WebviewToHost): void {
  vscode.postMessage(msg);
}

const requests = new RequestChannel<WebviewRequest>((id, request) => post({ type: 'request', id, request }));

function setStatus(s: 'loading' | 'running' | 'done' | 'error', text: string): void {
  const el = $('status');
  el.dataset.state = s;
  $('status-text').textContent = text;
  el.querySelector('.codicon')!.className = s === 'done' ? 'codicon codicon-check' : s === 'error' ? 'codicon codicon-error' : 'codicon codicon-loading codicon-modifier-spin';
}

function showError(error: ErrorInfo): void {
  setStatus('error', t('Could not visualize this image.'));
  const el = $('error');
  el.hidden = false;
  el.replaceChildren();
  const msg = document.createElement('p');
  msg.textContent = error.message;
  el.append(msg);
  if (error.hint) {
    const hint = document.createElement('p');
    hint.className = 'muted';
    hint.textContent = error.hint;
    el.append(hint);
  }
  if (error.kind === 'not-a-vit' || error.kind === 'model-format' || error.kind === 'fused-attention' || error.kind === 'file') {
    const b = document.createElement('button');
    b.textContent = t('Select another model…');
    b.addEventListener('click', () => void requests.request({ kind: 'selectModel' }).catch(() => undefined));
    el.append(b);
  }
}

$('distance-folder').addEventListener('click', () => void requests.request({ kind: 'distanceOverFolder' }).catch(() => undefined));

function fillSelect(select: Select, options: { value: string; label: string }[], value: string): void {
  select.replaceChildren(...options.map((o) => {
    const opt = document.createElement('vscode-option');
    opt.textContent = o.label;
    opt.setAttribute('value', o.value);
    if (o.value === value) opt.setAttribute('selected', '');
    return opt;
  }));
  select.value = value;
}

/** Head choices for the selected layer/block (Swin stages have different head counts). */
function fillHeads(): void {
  const heads = current!.run.layers[state.layer].heads;
  const f = fusionOf(state.head);
  if (typeof f === 'number' && f >= heads) state.head = 'mean';
  fillSelect(selects.head, headChoices(heads), state.head);
}

/** Puts the state into the controls (after a load or a change from the sidebar). */
function syncControls(): void {
  for (const k of ['mode', 'direction', 'cmap', 'scale'] as const) selects[k].value = state[k];
  selects.layer.value = String(state.layer);
  selects.head.value = state.head;
  ranges.opacity.value = String(state.opacity);
  ranges.discard.value = String(state.discard);
  ranges.mass.value = String(state.mass);
  $('discard-value').textContent = `${Math.round(state.discard * 100)}%`;
  $('mass-value').textContent = state.mass > 0 ? `${Math.round(state.mass * 100)}%` : t('off');
  checks.showGrid.checked = state.showGrid;
  checks.smooth.checked = state.smooth;
  checks.showWindows.checked = state.showWindows;
  const swin = !!current?.model.structure.swin;
  app.classList.toggle('is-swin', swin);
  app.classList.toggle('is-rollout', state.mode === 'rollout');
  stack.classList.toggle('smooth', state.smooth);
}

function setView(patch: Partial<ViewState>): void {
  const layerChanged = patch.layer !== undefined && patch.layer !== state.layer;
  Object.assign(state, patch);
  if (current && layerChanged) fillHeads();
  syncControls();
  redraw();
}

function redraw(): void {
  if (!current) return;
  const t0 = performance.now();
  const { model, run } = current;
  const s = model.structure;
  const grid = gridOf(s, run.layers, state.layer);
  if (state.selected && (state.selected.row >= grid.rows || state.selected.col >= grid.cols)) state.selected = undefined;
  if (state.mode === 'features' && !run.features) state.mode = 'attention';
  const data = computeView(s, run, state);
  lastView = data;
  if (data.pending) void fetchRest();
  renderDistillation(model, run, current.rgba, state.layer, state.head);
  paintView(s, data, grid, state, current.imageName);
  // Plain CLS attention reads the previous block's output: name the sinks there if the map is mostly on them.
  const sinks = state.mode === 'attention' && !state.selected && data.values && state.layer > 0 ? sinkNote(data.values, run.tokenNorms?.[state.layer - 1]?.data, s.prefixTokens) : undefined;
  $('view-caption').textContent = sinks ? `${data.caption} ${sinks}` : data.caption;
  const sel = state.selected;
  $('selection').textContent = sel
    ? t`Selected patch row ${sel.row}, column ${sel.col} (token ${sel.row * grid.cols + sel.col + s.prefixTokens}). Arrow keys move it; Escape clears.`
    : t('Click a patch (or focus the image and use the arrow keys) to see what it attends to.');
  renderOverview(grid);
  $('heatmap').dataset.redrawMs = (performance.now() - t0).toFixed(2);
  vscode.setState({ imageUri: current.imageUri, view: state });
  post({ type: 'viewState', view: { ...state }, info: inspectorInfo(grid) });
}

/** Draws a computed view over the image: heatmap or RGB, colour bar, patch grid or Swin windows, mask, selection. */
function paintView(s: VitStructure, data: ViewData, grid: { rows: number; cols: number }, v: ViewState, imageName: string): void {
  // Which image the map on screen belongs to (the benchmark's first-heatmap clock).
  if (data.refused) delete $('heatmap').dataset.shown;
  else $('heatmap').dataset.shown = imageName;
  if (data.refused) {
    view.clearHeatmap();
    $('colorbar-min').textContent = '';
    $('colorbar-max').textContent = '';
  } else if (data.rgb) {
    view.drawRgb(data.rgb, grid, v.opacity);
    $('colorbar-min').textContent = '';
    $('colorbar-max').textContent = t('PC1–3 → RGB');
  } else if (data.values) {
    const floor = data.floor ?? 0;
    const shown = floor ? data.values.map((x) => x - floor) : data.values;
    const { max } = view.drawHeatmap(displayValues(shown, v.scale), grid, v.opacity, v.cmap, v.smooth);
    let raw = 0;
    for (const x of data.values) if (x > raw) raw = x;
    $('colorbar-min').textContent = floor ? floor.toPrecision(3) : '0';
    $('colorbar-max').textContent = v.scale === 'log' ? t`${raw.toPrecision(3)} (log)` : (max + floor).toPrecision(3);
  }
  const block = s.swin?.blocks[v.layer];
  if (block) {
    const previewShift = shiftToggle.checked && block.grid > block.window;
    const layout = { ...layoutOf(block), shift: previewShift ? Math.floor(block.window / 2) : block.shift };
    if (v.showWindows) drawWindows($('grid'), layout, { labels: true });
    else view.clearGrid();
    $('grid').dataset.windowShift = String(layout.shift);
  } else {
    view.drawGrid(grid, v.showGrid);
  }
  if (data.mask) view.drawMaskContour(data.mask, grid);
  view.drawSelection(grid, v.selected);
}

let overviewKey = '';
function renderOverview(grid: { rows: number; cols: number }): void {
  const { model, run } = current!;
  const s = model.structure;
  const section = $('overview-section');
  section.hidden = !!s.swin;
  if (s.swin) return;
  // CLS rows only (memory budget): the thumbnails stay on CLS, as the main view does.
  const query = state.selected && queriesHeld(run.layers[0]) === run.layers[0].tokens ? s.prefixTokens + state.selected.row * grid.cols + state.selected.col : 0;
  const key = `${current!.imageUri}|${model.key}|${query}|${state.cmap}|${current!.inferenceMs}`;
  if (key !== overviewKey) {
    overviewKey = key;
    overview.render({ layers: run.layers, grid, prefix: s.prefixTokens, query, activeLayer: state.layer, activeHead: state.head, cmap: state.cmap, notDrawn: run.layers.map((a, l) => layoutMismatch(s, run.layers, l) ?? (query >= queriesHeld(a) ? t`Layer ${l + 1} holds the CLS query only: a patch's attention is not in it.` : undefined)) });
  } else {
    for (const cell of $('overview').querySelectorAll<HTMLElement>('.cell')) {
      cell.classList.toggle('active', Number(cell.dataset.layer) === state.layer && cell.dataset.head === state.head);
    }
  }
}

function tokenLabel(token: number, prefix: number, cols: number): string {
  if (token < prefix) return token === 0 ? 'CLS' : prefix === 2 && token === 1 ? 'DIST' : t`prefix ${token}`;
  const p = token - prefix;
  return `(${Math.floor(p / cols)}, ${p % cols})`;
}

function inspectorInfo(grid: { rows: number; cols: number }): InspectorInfo {
  const { model, run } = current!;
  const s = model.structure;
  const info: InspectorInfo = {
    image: current!.imageName,
    model: model.card.name,
    summary: summaryRows(model, run.layers),
    layers: run.layers.map((_, i) => layerLabel(model, i)),
    heads: run.layers[state.layer].heads,
    swin: !!s.swin,
    hasFeatures: !!run.features,
  };
  const sel = state.selected;
  const layer = run.layers[state.layer];
  // A model that exports CLS rows only (memory budget) has no patch rows to inspect.
  if (sel && !s.swin && queriesHeld(layer) === layer.tokens) {
    const token = s.prefixTokens + sel.row * grid.cols + sel.col;
    const fusion = fusionOf(state.head);
    const to = attentionRow(layer, token, fusion, 0);
    const from = attentionColumn(layer, token, fusion, 0);
    const label = (x: number) => tokenLabel(x, s.prefixTokens, grid.cols);
    info.patch = {
      row: sel.row,
      col: sel.col,
      token,
      pixels: patchPixels(sel, grid),
      attendsTo: topIndices(to, 5).map((x) => ({ token: x.index, label: label(x.index), value: x.value })),
      attendedBy: topIndices(from, 5).map((x) => ({ token: x.index, label: label(x.index), value: x.value })),
      entropy: rowEntropyPerHead(layer, token),
      classMap: selectedInClassMap(sel, grid),
    };
  }
  return info;
}

/** The selected patch's value and rank in the card's class map, when that map is on the panel's grid. */
function selectedInClassMap(sel: { row: number; col: number }, grid: { rows: number; cols: number }): NonNullable<InspectorInfo['patch']>['classMap'] {
  const m = shownClassMap();
  if (!m || m.grid.rows !== grid.rows || m.grid.cols !== grid.cols) return undefined;
  const i = sel.row * grid.cols + sel.col;
  const rank = 1 + Array.from(m.values).filter((v) => v > m.values[i]).length;
  const kind = { relevance: t('Relevance'), gradcam: t('Grad-CAM'), attgrad: t('Attention × gradient'), occlusion: t('Occlusion'), compare: t('Relevance difference') }[m.kind];
  return { what: m.versus ? t`${kind} for ${m.label} vs ${m.versus.label}` : t`${kind} for ${m.label}`, value: m.values[i], rank, of: m.values.length };
}

/** The selected patch's pixels, scaled up, as a PNG data URL for the sidebar. */
function patchPixels(sel: { row: number; col: number }, grid: { rows: number; cols: number }): string {
  const src = $<HTMLCanvasElement>('image');
  const pw = src.width / grid.cols;
  const ph = src.height / grid.rows;
  const c = document.createElement('canvas');
  c.width = 64;
  c.height = 64;
  const ctx = c.getContext('2d')!;
  ctx.imageSmoothingEnabled = false;
  ctx.drawImage(src, sel.col * pw, sel.row * ph, pw, ph, 0, 0, 64, 64);
  return c.toDataURL('image/png');
}

function renderPredictions(top: Prediction[], model: ModelPayload): void {
  if (!top.length) {
    const li = document.createElement('li');
    li.className = 'no-classes';
    li.textContent = noClassesNote(model.structure.outputs);
    $('predictions').replaceChildren(li);
    return;
  }
  $('predictions').replaceChildren(...top.map((p) => {
    const li = document.createElement('li');
    const label = document.createElement('span');
    label.className = 'label';
    label.textContent = p.label;
    const prob = document.createElement('span');
    prob.className = 'prob';
    prob.textContent = `${(p.prob * 100).toFixed(1)}%`;
    const bar = document.createElement('span');
    bar.className = 'bar';
    bar.style.setProperty('--p', String(p.prob));
    li.append(label, prob, bar);
    return li;
  }));
}

function renderSummary(rows: [string, string][]): void {
  $('summary').replaceChildren(...rows.flatMap(([k, v]) => {
    const dt = document.createElement('dt');
    dt.textContent = k;
    const dd = document.createElement('dd');
    dd.textContent = v;
    return [dt, dd];
  }));
}

function toRunData(r: RunResult, m: ModelPayload): RunData {
  return runDataOf(m, (n) => r.tensors.get(n));
}

let runSeq = 0;

/**
 * The rest of the attention from the extension host, once, when a view needs rows other than the first
 * (src/shared/firstRows.ts): the panel then holds the whole run and redraws. A failure is the panel's error.
 */
function fetchRest(cur = current): Promise<void> {
  const rest = cur?.rest;
  if (!cur || !rest) return Promise.resolve();
  rest.arriving ??= rest.held.rest().then((full) => {
    performance.mark('vitlens-rest');
    if (current !== cur) return;
    cur.run = toRunData(full, cur.model);
    cur.rest = undefined;
    redraw();
  }, (e: unknown) => {
    if (current !== cur) return;
    const error = plainError(e);
    showError(error);
    post({ type: 'failed', error });
  });
  return rest.arriving;
}

/**
 * The ideas' attention distance while the full matrices are in the host: computed there (a few numbers), or from the
 * rest when the host can no longer compute it. Undefined when the panel holds the whole run.
 */
async function distancesWhileInHost(cur: Current): Promise<number[][] | undefined> {
  const s = cur.model.structure;
  const rest = cur.rest;
  if (!rest || !s.grid || s.swin) return undefined;
  try {
    return await rest.held.distances(rest.names, s.grid, s.prefixTokens, s.patchSize);
  } catch {
    await fetchRest(cur);
    return undefined;
  }
}

/**
 * Runs `model` in the worker on an input of its card's size. `stored`: the model's bytes, output patch and external
 * weights (the client joins bytes and patch for the worker, only when the worker does not hold this model already).
 */
function runInWorker(model: ModelPayload, stored: Pick<ModelPayload, 'bytes' | 'graphPatch' | 'externalData'> | undefined, input: Float32Array, backend: Backend, timeoutMs?: number, batch = 1, outputs = runOutputs(model)): Promise<RunResult> {
  const { height, width } = inputSize(model.card.preprocess);
  return client.run(model.key, () => {
    if (!stored?.bytes) throw new Error(t('Model bytes missing in the webview.'));
    return modelParts({ ...stored, bytes: stored.bytes });
  }, input, model.structure.input.name, [batch, model.structure.input.channels, height, width], outputs, backend, timeoutMs);
}

/**
 * The panel's own model on `input`: in the webview's worker, or in the extension host's model thread (whose reply
 * carries the same tensors). `batch`: images laid back to back (occlusion); `outputs`: default, every view's.
 * `ahead`: in the host, the run it started on its own decode of this image, if its pixels have this SHA-256.
 */
async function runPanelModel(model: ModelPayload, input: Float32Array, backend: Backend, timeoutMs?: number, batch = 1, outputs = runOutputs(model), firstRowsOnly?: string[], ahead?: { seq: number; sha256: string }): Promise<HostRunResult> {
  if (runIn === 'webview') return runInWorker(model, heldFor(model.key), input, backend, timeoutMs, batch, outputs);
  const { height, width } = inputSize(model.card.preprocess);
  const dims = [batch, model.structure.input.channels, height, width];
  return runInExtensionHost(requests, { kind: 'run', modelKey: model.key, input, inputName: model.structure.input.name, dims, outputs, timeoutMs, firstRowsOnly }, ahead);
}

/**
 * The model's bytes in the page, for what rewrites or differentiates its graph (variants, class gradients, the
 * export's SHA-256): when the model runs in the host they cross only now, when such a view asks for them.
 */
async function ensureHeld(model: ModelPayload): Promise<NonNullable<typeof held>> {
  const have = heldFor(model.key);
  if (have) return have;
  const got = (await requests.request({ kind: 'modelBytes', modelKey: model.key })) as ModelBytes;
  held = { key: model.key, bytes: got.bytes, graphPatch: model.graphPatch ?? got.graphPatch, externalData: model.externalData ?? got.externalData };
  return held;
}

/** Where a model runs in this page for the backend setting: WebGPU when asked for ('auto' or 'webgpu') and available. */
async function pageBackend(setting: BackendSetting): Promise<Backend> {
  const b = setting === 'wasm' ? 'wasm' : await client.pickBackend();
  return setting === 'webgpu' && b !== 'webgpu' ? 'wasm' : b;
}

/**
 * The model's bytes in the page, not sent with its message: its kept copy from an earlier panel, else from the host.
 * `fromHost`: they crossed now (worth keeping a copy of).
 */
async function holdModel(model: ModelPayload): Promise<{ stored: NonNullable<typeof held>; fromHost: boolean }> {
  const kept = model.bytesId ? await readCachedModel(model.bytesId, model.fileSize) : undefined;
  if (kept) performance.mark('vitlens-kept-read');
  const got = kept ? { bytes: kept } : ((await requests.request({ kind: 'modelBytes', modelKey: model.key })) as ModelBytes);
  const sent = graphOf?.key === model.key ? graphOf : undefined;
  held = { key: model.key, bytes: got.bytes, graphPatch: model.graphPatch ?? sent?.graphPatch ?? got.graphPatch, externalData: model.externalData ?? sent?.externalData ?? got.externalData };
  return { stored: held, fromHost: !kept };
}

/** A take-over waiting for the panel to be idle (HAND_OVER_AFTER_MS). */
let handOverTimer: ReturnType<typeof setTimeout> | undefined;

/** Whether onnxruntime's WASM has been started in this page. */
let warmedUp = false;
function warmUp(setting: BackendSetting): void {
  if (warmedUp) return;
  warmedUp = true;
  void pageBackend(setting).then((b) => client.warmUp(b)).catch(() => undefined);
}

/**
 * After a first run in the host while this page started (msg.handOver): the page creates its own session on the image
 * on screen, compares its logits with the host's, and tells the host (src/webview/handOver.ts).
 */
function takeOver(model: ModelPayload, msg: Extract<HostToWebview, { type: 'visualize' }>, input: Float32Array, hostLogits: ArrayLike<number>): void {
  let keep: Uint8Array | undefined;
  void handOver(model.key, {
    hold: async () => {
      if (heldFor(model.key)) return;
      const { stored, fromHost } = await holdModel(model);
      if (fromHost) keep = stored.bytes;
    },
    runInPage: async () => {
      const backend = await pageBackend(msg.backend);
      // Every output a run of the panel asks for: the session must serve the next image's views.
      const r = await runInWorker(model, heldFor(model.key), input, backend, msg.timeoutMs);
      return r.tensors.get(model.logitsOutput)!.data;
    },
    hostLogits,
    done: (check) => {
      app.dataset.handOver = `${model.key} ${check.maxDiff}`;
      post({ type: 'pageSession', modelKey: model.key });
    },
  }).then(() => {
    // As for bytes the host sent with a visualize: a copy for the next panel.
    if (keep) keepCopy(model, keep, msg.modelCacheBytes ?? 0);
  });
}

/** A small model's bytes, sent while this page started: held, and its session created before the image arrives. */
function modelAhead(msg: Extract<HostToWebview, { type: 'modelAhead' }>): void {
  const stored = { key: msg.modelKey, bytes: msg.bytes, graphPatch: msg.graphPatch, externalData: msg.externalData };
  held = stored;
  arrivedAhead = msg.modelKey;
  performance.mark('vitlens-ahead');
  post({ type: 'received', modelKey: msg.modelKey });
  void pageBackend(msg.backend).then((b) => client.prepare(stored.key, () => modelParts(stored), b)).catch(() => undefined);
}

/** The panel's model on another image, for a folder average: its mean attention distance per layer and head. */
async function measureDistances(image: ImagePayload): Promise<{ modelKey: string; distances: number[][] }> {
  if (!current) throw new Error(t('The panel has no model loaded.'));
  const { model } = current;
  const input = await loadImageInput(image.bytes, image.mime, model.card.preprocess);
  const r = await runPanelModel(model, input.tensor, current.backend, current.timeoutMs);
  const run = toRunData(r, model);
  const distances = headDistances(model, run.layers, run.headDistance);
  if (!distances) throw new Error(model.structure.swin ? t('Swin attends within windows; attention distance over a folder is for global-attention ViTs.') : t('Attention distance needs the attention matrices, which this model does not expose.'));
  return { modelKey: model.key, distances };
}

/** What the panel's variants are compared with, and how a variant is run (the same worker, another model key). */
setupVariants({
  current: () => {
    const cur = current;
    return cur && { model: cur.model, bytes: async () => (await ensureHeld(cur.model)).bytes, image: cur.image, run: cur.run, top: cur.top };
  },
  run: async (model, input) => {
    // A variant is rewritten from the bytes; its external weights are the original's.
    const r = await runInWorker(model, { ...model, externalData: current && heldFor(current.model.key)?.externalData }, input, current?.backend ?? 'wasm', current?.timeoutMs);
    return { run: toRunData(r, model), logits: r.tensors.get(model.logitsOutput)!.data };
  },
});

/** Class-specific maps and faithfulness: batched logits-only runs of the panel's model in the same worker. */
setupClassMaps({
  current: () => current && { model: current.model, run: current.run, top: current.top, rgba: current.rgba },
  runBatch: async (model, batch, batchSize) => {
    const r = await runPanelModel(model, batch, current?.backend ?? 'wasm', current?.timeoutMs, batchSize, [model.logitsOutput]);
    const z = r.tensors.get(model.logitsOutput)!.data;
    const k = z.length / batchSize;
    return Array.from({ length: batchSize }, (_, i) => z.subarray(i * k, (i + 1) * k));
  },
  // The gradient model is built from the file's bytes (not ViT Lens's output patch), in the same worker.
  gradients: async (model, input, classIndex) => {
    const stored = await ensureHeld(model);
    return gradients.run({ model, bytes: stored.bytes, externalData: stored.externalData, backend: current?.backend ?? 'wasm', timeoutMs: current?.timeoutMs }, input, classIndex);
  },
  view: () => ({ layer: state.layer, head: state.head }),
  wholeRun: () => fetchRest(),
  changed: () => { if (current) redraw(); },
  save: (format, fileName, data) => save(format, `${imageBase()}-${fileName}`, data),
});

async function visualize(msg: Extract<HostToWebview, { type: 'visualize' }>): Promise<void> {
  const seq = ++runSeq;
  clearTimeout(handOverTimer);
  // Marks for the benchmark's time-to-first-heatmap breakdown (bench/vscodeFirstHeatmap.ts).
  performance.mark('vitlens-visualize');
  const { image } = msg;
  let model = msg.model;
  $('error').hidden = true;
  delete $('heatmap').dataset.shown;
  $('image-name').textContent = image.name;
  runIn = msg.runIn ?? 'webview';
  if (model.parameters) drawn = { key: model.key, parameters: model.parameters };
  // Messages arrive in order: without the flag, any parameters announced earlier have come (or never will).
  if (msg.parametersFollow) expectParameters(model.key);
  else {
    drawnArrives?.arrived();
    drawnArrives = undefined;
  }
  if (model.bytes) post({ type: 'received', modelKey: model.key });
  if (!model.bytes && (model.graphPatch || model.externalData)) graphOf = { key: model.key, graphPatch: model.graphPatch, externalData: model.externalData };
  if (model.bytes) {
    held = { key: model.key, bytes: model.bytes, graphPatch: model.graphPatch, externalData: model.externalData };
  } else if (runIn === 'webview' && !heldFor(model.key)) {
    // Not sent: the host knows this page keeps a copy from an earlier panel (else ask it for the bytes).
    setStatus('loading', t`Reading ${model.fileName} from the panel's storage…`);
    await holdModel(model);
    if (seq !== runSeq) return;
  }
  setStatus('loading', t`Preparing ${image.name}…`);
  // A model that runs at any size is run at this image's aspect ratio: its card and grid follow the decoded image.
  const input = await loadImageInput(image.bytes, image.mime, (w, h) => (model = atImageSize(msg.model, w, h)).card.preprocess);
  if (seq !== runSeq) return;
  view.drawInput(input.rgba, inputSize(model.card.preprocess));
  // In the host the model runs on WASM, and the status says where.
  const backend: Backend = runIn === 'extensionHost' ? 'wasm' : await pageBackend(msg.backend);
  setStatus('running', runIn === 'extensionHost' ? t`Running ${model.card.name} in the extension host…` : t`Running ${model.card.name} on ${backend === 'webgpu' ? t('WebGPU') : t('WASM')}…`);
  performance.mark('vitlens-running');
  const layers = model.attentionOutputs.length;
  const firstLayer = state.layer >= 0 && state.layer < layers ? state.layer : layers - 1;
  // In the host, a first heatmap of CLS attention needs row 0 of each layer only: the full matrices follow.
  const firstRows = runIn === 'extensionHost' && layers > 0 && clsRowSuffices(model.structure, { ...state, layer: firstLayer }) ? model.attentionOutputs : undefined;
  // The host ran the model on its own decode of the image: that run is used if its pixels are these, bit for bit.
  const ahead = runIn === 'extensionHost' && msg.runAhead && msg.seq !== undefined ? { seq: msg.seq, sha256: await sha256Hex(input.rgba) } : undefined;
  const r: HostRunResult = await runPanelModel(model, input.tensor, backend, msg.timeoutMs, 1, runOutputs(model), firstRows, ahead);
  if (seq !== runSeq) return;
  performance.mark('vitlens-ran');
  const top = classPredictions(model, r.tensors.get(model.logitsOutput)!.data, 5);
  const run = toRunData(r, model);
  // First rows only: the panel works on them, and fetches the rest when a view needs other rows.
  const rest = r.held && { held: r.held, names: model.attentionOutputs.filter((n) => r.tensors.has(n)) };
  current = { model, run, imageUri: image.uri, imageName: image.name, backend: r.backend, threads: r.threads, inferenceMs: r.inferenceMs, sessionMs: r.sessionMs, top, image, timeoutMs: msg.timeoutMs, rgba: input.rgba, rest };
  if (state.layer < 0 || state.layer >= run.layers.length) state.layer = run.layers.length - 1;
  $('layer-label').textContent = model.structure.swin ? t('Block') : t('Layer');
  $('swin-controls').hidden = !model.structure.swin;
  fillSelect(selects.layer, run.layers.map((_, i) => ({ value: String(i), label: layerLabel(model, i) })), String(state.layer));
  fillHeads();
  fillSelect(selects.mode, [
    { value: 'attention', label: model.structure.swin ? t('Window attention') : t('Attention') },
    ...(model.structure.swin ? [] : [{ value: 'rollout', label: t('Attention rollout') }]),
    ...(run.features ? [{ value: 'features', label: t('Token features (PCA)') }] : []),
  ], state.mode);
  if (model.structure.swin && state.mode === 'rollout') state.mode = 'attention';
  $('explain').textContent = explanation(model);
  renderPredictions(top, model);
  renderSummary(summaryRows(model, run.layers));
  // Per run, not per redraw: the probe's map does not depend on the chosen layer or head.
  renderMapProbe(model, run, input.rgba);
  updateClassMaps(model, top);
  syncControls();
  redraw();
  if (rest) performance.mark('vitlens-first-heatmap');
  // The distillation token's view reads its own row (row 1).
  if (rest && model.structure.prefixTokens > 1) void fetchRest();
  const threads = r.threads > 1 ? t`${r.threads} threads` : t('1 thread');
  $('backend').textContent = runIn === 'extensionHost' ? t`Extension host · WASM · ${threads}` : r.backend === 'webgpu' ? t('WebGPU') : t`WASM · ${threads}`;
  $('backend').dataset.place = runIn;
  const session = r.sessionMs ? (r.warmUpMs ? t`session created in ${r.sessionMs.toFixed(0)} ms and warmed up in ${r.warmUpMs.toFixed(0)} ms` : t`session created in ${r.sessionMs.toFixed(0)} ms`) : t('session reused');
  $('timing').textContent = t`Inference ${r.inferenceMs.toFixed(0)} ms · ${session}` + (r.fellBack ? ` · ${r.fellBack}` : '') + aheadNote(r, msg.handOver);
  setStatus('done', top[0] ? t`Top-1: ${top[0].label} (${(top[0].prob * 100).toFixed(1)}%)` : t`Done: ${mainOutput(model.structure.outputs).describe}`);
  performance.mark('vitlens-drawn');
  post({ type: 'rendered', summary: { image: image.name, model: model.card.name, backend: r.backend, threads: r.threads, inferenceMs: r.inferenceMs, sessionMs: r.sessionMs, top } });
  // The teaching views below the heatmap (PCA of the filters, position-embedding similarities, …) take a few
  // hundred ms on a large model: they render after the heatmap is on screen.
  const ideas = $('ideas');
  ideas.dataset.state = 'rendering';
  setTimeout(() => {
    if (seq !== runSeq) return;
    const cur = current!;
    void Promise.all([parametersOf(model.key), distancesWhileInHost(cur)]).then(([parameters, fromHost]) => (seq !== runSeq ? undefined : renderIdeas({ ...model, parameters }, cur.run.layers, cur.run.headDistance, () => seq !== runSeq, cur.run.tokenNorms, fromHost))).then(() => {
      if (seq !== runSeq) return;
      updateVariants(model);
      ideas.dataset.state = 'ready';
    }, (e: unknown) => {
      ideas.dataset.state = 'error';
      console.error('ViT Lens: the teaching views failed', e);
    }).then(() => {
      // The panel takes the model over once it has drawn and no other image has come for a while: until then both
      // places would share the cores.
      const logits = r.tensors.get(model.logitsOutput)!.data;
      if (msg.handOver && seq === runSeq) handOverTimer = setTimeout(() => { if (seq === runSeq) takeOver(model, msg, input.tensor, logits); }, HAND_OVER_AFTER_MS);
    });
  }, 0);
  // Keep a copy of bytes the host had to send, for the next panel (after the views, off the critical path).
  const sent = model.bytes ?? (arrivedAhead === model.key ? heldFor(model.key)?.bytes : undefined);
  if (sent) setTimeout(() => keepCopy(model, sent, msg.modelCacheBytes ?? 0), 500);
}

/** Keeps a copy of bytes the host sent, for the next panel, within `budget` bytes (vitLens.modelCacheMB; 0: none). */
function keepCopy(model: ModelPayload, bytes: Uint8Array, budget: number): void {
  const id = model.bytesId;
  if (!id) return;
  // data-kept: the last model this was decided for, and whether its copy was kept (read by the tests).
  void (budget ? cacheModel(id, bytes, budget) : clearCachedModels()).then(() => (app.dataset.kept = `${id} ${budget && bytes.byteLength <= budget ? 'kept' : 'not-kept'}`));
}

// ---- export ----

/** Whether the run came from the host's own decode of the image, or why the page's input was run instead. */
function aheadNote(r: HostRunResult, handingOver?: boolean): string {
  const started = handingOver ? ` · ${t('run in the extension host while the panel started; the panel runs the next images')}` : '';
  return started + aheadMissNote(r);
}

function aheadMissNote(r: HostRunResult): string {
  if (r.ranAhead) return ` · ${t("run ahead on the extension host's decode of the image (the same pixels)")}`;
  if (r.aheadMissed?.differs === 'pixels') return ` · ${t("the extension host decoded the image to other pixels: run on the panel's")}`;
  if (r.aheadMissed?.differs === 'decode') return ` · ${t("the extension host could not decode the image: run on the panel's")}`;
  return '';
}

async function sha256Hex(bytes: Uint8Array | Uint8ClampedArray): Promise<string> {
  const d = await crypto.subtle.digest('SHA-256', bytes as BufferSource);
  return Array.from(new Uint8Array(d), (b) => b.toString(16).padStart(2, '0')).join('');
}

function imageBase(): string {
  return (current?.imageName ?? 'image').replace(/^.*[\\/]/, '').replace(/\.[^.]+$/, '');
}

function baseName(): string {
  const img = imageBase();
  const what = state.mode === 'features' ? 'pca' : state.mode === 'rollout' ? `rollout-l${state.layer + 1}` : `attn-l${state.layer + 1}-${state.head}`;
  return `${img}-${what}`;
}

async function exportPng(): Promise<void> {
  const canvas = view.composite();
  const blob = await new Promise<Blob | null>((r) => canvas.toBlob(r, 'image/png'));
  if (!blob) return;
  await save('png', `${baseName()}.png`, new Uint8Array(await blob.arrayBuffer()));
}

async function exportJson(): Promise<void> {
  if (!current || !lastView) return;
  const { model } = current;
  // The SHA-256 identifies the exact file; with the model in the host its bytes cross now, once.
  const stored = await ensureHeld(model).catch(() => undefined);
  const round = (v: number) => (Number.isNaN(v) ? null : Math.round(v * 1e6) / 1e6);
  const doc = {
    tool: 'ViT Lens', // l10n-ignore: the exported file's tool id, not UI text
    exportedAt: new Date().toISOString(),
    image: current.imageName,
    model: {
      file: model.fileName,
      bytes: model.fileSize,
      sha256: stored ? await sha256Hex(stored.bytes) : undefined,
      name: model.card.name,
      family: model.structure.family,
      patchSize: model.structure.patchSize,
      layers: model.structure.layers,
      prefixTokens: model.structure.prefixTokens,
    },
    preprocessing: model.card.preprocess,
    backend: { name: current.backend, threads: current.threads },
    timings: { inferenceMs: current.inferenceMs, sessionMs: current.sessionMs },
    view: state,
    caption: lastView.caption,
    grid: lastView.grid,
    values: lastView.values ? Array.from(lastView.values, round) : undefined,
    rgb: lastView.rgb ? Array.from(lastView.rgb) : undefined,
    mask: lastView.mask ? Array.from(lastView.mask) : undefined,
    predictions: current.top,
    // The "Why this class" card's map, with its class, when one is shown.
    classMap: classMapExport(round),
    // What the model outputs (class scores or an embedding), so an empty prediction list is never a mystery.
    outputs: model.structure.outputs.map((o) => ({ name: o.name, kind: o.kind, describe: o.describe })),
  };
  await save('json', `${baseName()}.json`, new TextEncoder().encode(JSON.stringify(doc, null, 2)));
}

function classMapExport(round: (v: number) => number | null) {
  const m = shownClassMap();
  return m && { kind: m.kind, classIndex: m.classIndex, label: m.label, versus: m.versus, caption: m.caption, grid: m.grid, values: Array.from(m.values, round) };
}

/** Asks the host to save; says where it went (or why not) under the image. */
async function save(format: 'png' | 'json', fileName: string, data: Uint8Array): Promise<void> {
  try {
    const saved = await requests.request({ kind: 'export', format, fileName, data });
    if (saved) $('selection').textContent = t`Saved ${String(saved)}.`;
  } catch (e) {
    $('selection').textContent = t`Export failed: ${(e as ErrorInfo).message}`;
  }
}

/** The main view's values as CSV, through the host onto the clipboard. */
function copyValues(): void {
  if (!current || !lastView) return;
  const { model } = current;
  const v = lastView;
  if (!v.values || v.refused) {
    notify(v.refused ? t('this view is not drawn, so there are no values to copy.') : t('this view shows colours (PCA), not values: switch to attention or rollout to copy values.'));
    return;
  }
  const csv = valuesCsv(v.values, v.grid, { image: current.imageName, model: model.card.name, view: state.mode, layer: layerLabel(model, state.layer), head: state.head, caption: v.caption });
  const head = headChoices(current.run.layers[state.layer].heads).find((c) => c.value === state.head)?.label ?? state.head;
  const mode = { attention: t('attention'), rollout: t('rollout'), features: t('features') }[state.mode];
  const what = t`${v.grid.rows}×${v.grid.cols} values (${mode}, ${layerLabel(model, state.layer)}, ${head}) of ${imageBase()} as CSV`;
  void requests.request({ kind: 'clipboard', text: csv, what }).catch((e: unknown) => ($('selection').textContent = t`Copy failed: ${plainError(e).message}`));
}

function notify(message: string): void {
  void requests.request({ kind: 'notify', message }).catch(() => undefined);
}

/** A toolbar action from the Command Palette or a keybinding: the same code as the panel's own controls. */
function runPanelAction(action: PanelAction): void {
  if (!current) {
    notify(t('the panel has no result yet: wait for the model to finish, or visualize an image first.'));
    return;
  }
  const delta = action.startsWith('next') ? 1 : -1;
  switch (action) {
    case 'exportPng': void exportPng(); break;
    case 'exportJson': void exportJson(); break;
    case 'copyValues': copyValues(); break;
    case 'nextLayer': case 'previousLayer': setView({ layer: stepLayer(state.layer, current.run.layers.length, delta) }); break;
    case 'nextHead': case 'previousHead': setView({ head: stepHead(state.head, current.run.layers[state.layer].heads, delta) }); break;
  }
}

// ---- controls ----

for (const k of ['mode', 'direction', 'cmap', 'scale'] as const) {
  selects[k].addEventListener('change', () => setView({ [k]: selects[k].value } as Partial<ViewState>));
}
selects.layer.addEventListener('change', () => setView({ layer: Number(selects.layer.value) }));
selects.head.addEventListener('change', () => setView({ head: selects.head.value }));
ranges.opacity.addEventListener('input', () => setView({ opacity: Number(ranges.opacity.value) }));
ranges.discard.addEventListener('change', () => setView({ discard: Number(ranges.discard.value) }));
ranges.discard.addEventListener('input', () => { $('discard-value').textContent = `${Math.round(Number(ranges.discard.value) * 100)}%`; });
ranges.mass.addEventListener('input', () => setView({ mass: Number(ranges.mass.value) }));
checks.showGrid.addEventListener('change', () => setView({ showGrid: checks.showGrid.checked }));
checks.smooth.addEventListener('change', () => setView({ smooth: checks.smooth.checked }));
checks.showWindows.addEventListener('change', () => setView({ showWindows: checks.showWindows.checked }));
shiftToggle.addEventListener('change', () => redraw());
$('export-png').addEventListener('click', () => void exportPng());
$('export-json').addEventListener('click', () => void exportJson());

let animation: ReturnType<typeof setInterval> | undefined;
$('animate-shift').addEventListener('click', () => {
  if (animation) {
    clearInterval(animation);
    animation = undefined;
    return;
  }
  // Alternate regular and shifted windows; users who ask for reduced motion get a single toggle.
  const flip = () => { shiftToggle.checked = !shiftToggle.checked; redraw(); };
  if (matchMedia('(prefers-reduced-motion: reduce)').matches) flip(); // l10n-ignore: a media query
  else animation = setInterval(flip, 1200);
});

stack.addEventListener('click', (e) => {
  if (!current) return;
  const rect = stack.getBoundingClientRect();
  const g = gridOf(current.model.structure, current.run.layers, state.layer);
  const col = Math.min(g.cols - 1, Math.max(0, Math.floor(((e.clientX - rect.left) / rect.width) * g.cols)));
  const row = Math.min(g.rows - 1, Math.max(0, Math.floor(((e.clientY - rect.top) / rect.height) * g.rows)));
  stack.focus();
  setView({ selected: { row, col } });
});

stack.addEventListener('keydown', (e) => {
  if (!current) return;
  const g = gridOf(current.model.structure, current.run.layers, state.layer);
  const sel = state.selected;
  const moves: Record<string, [number, number]> = { ArrowUp: [-1, 0], ArrowDown: [1, 0], ArrowLeft: [0, -1], ArrowRight: [0, 1] };
  if (e.key === 'Escape') {
    setView({ selected: undefined });
  } else if (moves[e.key]) {
    const [dr, dc] = moves[e.key];
    const next = sel
      ? { row: Math.min(g.rows - 1, Math.max(0, sel.row + dr)), col: Math.min(g.cols - 1, Math.max(0, sel.col + dc)) }
      : { row: Math.floor(g.rows / 2), col: Math.floor(g.cols / 2) };
    setView({ selected: next });
  } else {
    return;
  }
  e.preventDefault();
});

window.addEventListener('message', (e: MessageEvent<HostToWebview>) => {
  const msg = e.data;
  switch (msg.type) {
    case 'visualize':
      // A copy the host sent again after 'ready', of one this page already has.
      if (msg.seq !== undefined) {
        if (msg.seq <= seenVisualize) break;
        seenVisualize = msg.seq;
      }
      visualize(msg).catch((err: unknown) => {
        const error = plainError(err);
        showError(error);
        post({ type: 'failed', error });
      });
      break;
    case 'modelAhead':
      modelAhead(msg);
      break;
    case 'warmUp':
      warmUp(msg.backend);
      break;
    case 'parameters':
      drawn = { key: msg.modelKey, parameters: msg.parameters };
      if (drawnArrives?.key === msg.modelKey) drawnArrives.arrived();
      break;
    case 'applyView':
      setView(msg.view);
      break;
    case 'measure':
      measureDistances(msg.image).then(
        (value) => post({ type: 'measured', id: msg.id, ok: true, value }),
        (err: unknown) => post({ type: 'measured', id: msg.id, ok: false, error: plainError(err) }),
      );
      break;
    case 'folderDistance':
      showFolderDistance(msg.result);
      break;
    case 'panelAction':
      runPanelAction(msg.action);
      break;
    case 'showError':
      if (msg.image) $('image-name').textContent = msg.image;
      showError(msg.error);
      break;
    case 'loading':
      $('error').hidden = true;
      setStatus('loading', msg.text);
      break;
    case 'reply':
      requests.settle(msg.id, msg.ok, msg.ok ? msg.value : msg.error);
      break;
  }
});

/** A plain object: VS Code sends messages as JSON, where an Error instance's message (not enumerable) is lost. */
function plainError(err: unknown): ErrorInfo {
  return isErrorInfo(err) ? { kind: err.kind, message: err.message, hint: err.hint } : { kind: 'inference', message: err instanceof Error ? err.message : String(err) };
}

function isErrorInfo(e: unknown): e is ErrorInfo {
  return typeof e === 'object' && e !== null && 'kind' in e && 'message' in e;
}

async function hasGpuAdapter(): Promise<boolean> {
  const gpu = (navigator as Navigator & { gpu?: { requestAdapter(): Promise<unknown> } }).gpu;
  return !!gpu && !!(await gpu.requestAdapter().catch(() => null));
}

performance.mark('vitlens-script');
syncControls();
Promise.all([hasGpuAdapter(), cachedModelIds()]).then(([gpuAdapter, cachedModels]) => {
  performance.mark('vitlens-ready');
  post({ type: 'ready', state: saved, gpuAdapter, cachedModels, seen: seenVisualize });
});
// Compile onnxruntime's WASM while the host reads and instruments the model (a GPU page warms WebGPU instead). Not
// when the model runs in the extension host: the page would fetch and compile 13.6 MB of WASM on the cores the
// host's run needs, and start its worker only for a view that runs a rewritten graph here.
if (config.warmUpAtStart) warmUp('auto');
