/** The visualize panel: receives a model and an image from the host, runs the model in a worker, draws. */
import '@vscode-elements/elements/dist/vscode-single-select/index.js';
import '@vscode-elements/elements/dist/vscode-option/index.js';
import '@vscode-elements/elements/dist/vscode-checkbox/index.js';
import '@vscode-elements/elements/dist/vscode-button/index.js';
import { AttentionLayer, queryAttentionToPatches, topK } from '../shared/attentionMaps';
import type { ErrorInfo } from '../shared/errors';
import type { Backend, HostToWebview, ModelPayload, PersistedState, Prediction, ViewState, WebviewToHost } from '../shared/protocol';
import { patchWindowAttention, windowEntropy } from '../shared/windowPartition';
import { HeatmapView } from './heatmapView';
import { drawWindows, layoutOf } from './swinView';
import { loadImageInput } from './imageInput';
import { InferenceClient, RunResult, WebviewConfig } from './inferenceClient';

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
const view = new HeatmapView($('image'), $('heatmap'), $('grid'), $('colorbar'));

interface SelectElement extends HTMLElement { value: string }
const layerSelect = $<SelectElement>('layer');
const headSelect = $<SelectElement>('head');
const opacityInput = $<HTMLInputElement>('opacity');
type Checkbox = HTMLElement & { checked: boolean };
const gridToggle = $<Checkbox>('show-grid');
const windowsToggle = $<Checkbox>('show-windows');
const shiftToggle = $<Checkbox>('preview-shift');
const stack = $('stack');

const saved = vscode.getState();
const state: ViewState = { layer: -1, head: -1, showGrid: true, opacity: 0.6, showWindows: true, ...saved?.view };
/** Selected patch on the current grid (ViT patch grid, or the Swin block's stage grid). */
let selected: { row: number; col: number } | undefined = saved?.view?.selected;
let current: { model: ModelPayload; layers: AttentionLayer[]; imageUri: string } | undefined;
/** Model bytes as last received; the host sends them once per model. */
const modelBytes = new Map<string, Uint8Array>();

function setStatus(s: 'loading' | 'running' | 'done' | 'error', text: string): void {
  const el = $('status');
  el.dataset.state = s;
  $('status-text').textContent = text;
  el.querySelector('.codicon')!.className = s === 'done' ? 'codicon codicon-check' : s === 'error' ? 'codicon codicon-error' : 'codicon codicon-loading codicon-modifier-spin';
}

function showError(error: ErrorInfo): void {
  setStatus('error', 'Could not visualize this image.');
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
  if (error.kind === 'not-a-vit' || error.kind === 'model-format' || error.kind === 'fused-attention') {
    const b = document.createElement('button');
    b.textContent = 'Select another model…';
    b.addEventListener('click', () => post({ type: 'request', id: 0, request: { kind: 'selectModel' } }));
    el.append(b);
  }
}

function post(msg: WebviewToHost): void {
  vscode.postMessage(msg);
}

function persist(): void {
  vscode.setState({ imageUri: current?.imageUri, view: { ...state, selected } });
}

function fillSelect(select: SelectElement, options: { value: string; label: string }[], value: string): void {
  select.replaceChildren(...options.map((o) => {
    const opt = document.createElement('vscode-option') as HTMLElement & { value: string; selected: boolean };
    opt.textContent = o.label;
    opt.setAttribute('value', o.value);
    if (o.value === value) opt.setAttribute('selected', '');
    return opt;
  }));
  select.value = value;
}

/** The token grid the heatmap and selection live on for the current layer/block. */
function currentGrid(): { rows: number; cols: number } {
  const { model, layers } = current!;
  const s = model.structure;
  const block = s.swin?.blocks[state.layer];
  if (block) return { rows: block.grid, cols: block.grid };
  const n = layers[state.layer].tokens - s.prefixTokens;
  return s.grid ?? { rows: Math.sqrt(n), cols: Math.sqrt(n) };
}

function redraw(): void {
  if (!current) return;
  const { model, layers } = current;
  const s = model.structure;
  const layer = layers[state.layer];
  const grid = currentGrid();
  if (selected && (selected.row >= grid.rows || selected.col >= grid.cols)) selected = undefined;
  let values: Float32Array;
  let caption: string;
  const block = s.swin?.blocks[state.layer];
  const headText = state.head < 0 ? 'mean of heads' : `head ${state.head + 1}`;
  if (block) {
    if (selected) {
      values = patchWindowAttention(layoutOf(block), layer.data, layer.heads, selected.row, selected.col, state.head);
      caption = `Attention of patch (${selected.row}, ${selected.col}) inside its ${block.shift ? 'shifted ' : ''}window, ${headText}. Everything outside the window is unreachable for it in this block.`;
    } else {
      const ent = windowEntropy(layer.data, block.windows, layer.heads, block.window * block.window);
      values = windowMapToGrid(ent, block.grid, block.window, block.shift);
      caption = `Mean attention entropy per window (nats, max ln ${block.window * block.window} = ${Math.log(block.window * block.window).toFixed(2)}): dark windows attend to few tokens. Click a patch to see its window attention.`;
    }
  } else if (selected) {
    values = queryAttentionToPatches(layer, s.prefixTokens + selected.row * grid.cols + selected.col, state.head, s.prefixTokens);
    caption = `Attention from patch (${selected.row}, ${selected.col}) as the query to every patch, layer ${state.layer + 1}, ${headText}.`;
  } else if (s.prefixTokens > 0) {
    values = queryAttentionToPatches(layer, 0, state.head, s.prefixTokens);
    caption = `CLS token attention to each patch, layer ${state.layer + 1}, ${headText}.`;
  } else {
    // Without a CLS token (global pooling), show the mean attention each patch receives.
    values = meanReceived(layer, state.head);
    caption = `Mean attention each patch receives (no CLS token), layer ${state.layer + 1}, ${headText}.`;
  }
  const { max } = view.drawHeatmap(values, grid, state.opacity, 'inferno');
  $('colorbar-max').textContent = max.toFixed(3);
  $('view-caption').textContent = caption;
  if (block) {
    const previewShift = shiftToggle.checked && block.grid > block.window;
    const layout = { ...layoutOf(block), shift: previewShift ? Math.floor(block.window / 2) : block.shift };
    if (state.showWindows) drawWindows($('grid'), layout, { labels: true });
    else view.clearGrid();
    $('grid').dataset.windowShift = String(layout.shift);
  } else {
    view.drawGrid(grid, state.showGrid);
  }
  view.drawSelection(grid, selected);
  $('selection').textContent = selected ? `Selected patch row ${selected.row}, column ${selected.col} (token ${selected.row * grid.cols + selected.col + s.prefixTokens}). Escape clears.` : 'Click a patch (or focus the image and use the arrow keys) to see what it attends to; Escape clears.';
  persist();
}

/** Spreads one value per window over the stage grid (original coordinates, shift undone). */
function windowMapToGrid(perWindow: Float32Array, grid: number, M: number, shift: number): Float32Array {
  const out = new Float32Array(grid * grid);
  const per = grid / M;
  for (let r = 0; r < grid; r++) {
    for (let c = 0; c < grid; c++) {
      const sr = (r - shift + grid) % grid;
      const sc = (c - shift + grid) % grid;
      out[r * grid + c] = perWindow[Math.floor(sr / M) * per + Math.floor(sc / M)];
    }
  }
  return out;
}

function meanReceived(a: AttentionLayer, head: number): Float32Array {
  const out = new Float32Array(a.tokens);
  for (let q = 0; q < a.tokens; q++) {
    const row = queryAttentionToPatches(a, q, head, 0);
    for (let j = 0; j < a.tokens; j++) out[j] += row[j] / a.tokens;
  }
  return out;
}

function renderPredictions(top: Prediction[]): void {
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

function renderSummary(m: ModelPayload, layers: AttentionLayer[]): void {
  const s = m.structure;
  const rows: [string, string][] = [
    ['Model', `${m.card.name} (${m.fileName}, ${(m.fileSize / 1e6).toFixed(1)} MB)`],
    ['Family', s.family === 'swin' ? 'Swin Transformer (hierarchical, shifted windows)' : s.family === 'deit' ? 'DeiT (CLS + distillation token)' : 'ViT'],
    ['Input', `${m.card.preprocess.size}×${m.card.preprocess.size}, ${s.input.channels} channels`],
    ['Patch size', `${s.patchSize}×${s.patchSize} (Conv2d, kernel = stride)`],
    ['Grid', s.swin ? `${s.swin.grids.map((g) => `${g}×${g}`).join(' → ')} tokens (patch merging between stages)` : s.grid ? `${s.grid.rows}×${s.grid.cols} = ${s.grid.rows * s.grid.cols} patches` : 'dynamic'],
    s.swin
      ? ['Windows', `${s.swin.window}×${s.swin.window} tokens; shifted by ${Math.floor(s.swin.window / 2)} in every second block (where the grid is larger than a window)`]
      : ['Tokens', `${layers[0]?.tokens ?? s.tokens ?? '?'} (${s.prefixTokens} prefix)`],
    ['Width', String(s.embedDim)],
    s.swin
      ? ['Stages', `${s.swin.stages}: depths ${s.swin.depths.join(', ')}, heads ${s.swin.heads.map((h) => h ?? '?').join(', ')}, widths ${s.swin.dims.map((d) => d ?? '?').join(', ')}`]
      : ['Layers × heads', `${s.layers} × ${layers[0]?.heads ?? s.heads ?? '?'}`],
    ['Norm', s.norm === 'pre' ? 'pre-norm: x + f(LN(x))' : s.norm === 'post' ? 'post-norm: LN(x + f(x))' : 'unknown'],
    ['Classifier', s.classifier === 'cls' ? 'CLS token' : 'global average pooling'],
    ['Attention tap', s.attention[0]?.where ?? ''],
    ['Preprocessing', m.card.source === 'default' ? 'defaults (ImageNet mean/std) — add a model card for exact values' : `from ${m.card.source === 'card' ? 'model card' : 'Hugging Face config'}`],
  ];
  if (s.opset) rows.push(['Opset', String(s.opset)]);
  if (m.card.heldOutAccuracy !== undefined) rows.push(['Held-out accuracy', `${(m.card.heldOutAccuracy * 100).toFixed(1)}% (from the model card)`]);
  $('summary').replaceChildren(...rows.flatMap(([k, v]) => {
    const dt = document.createElement('dt');
    dt.textContent = k;
    const dd = document.createElement('dd');
    dd.textContent = v;
    return [dt, dd];
  }));
}

function toLayers(r: RunResult, names: string[]): AttentionLayer[] {
  return names.map((n) => {
    const t = r.tensors.get(n)!;
    const [, heads, tokens] = t.dims.length === 4 ? t.dims : [1, 1, t.dims[t.dims.length - 1]];
    return { heads, tokens, data: t.data };
  });
}

function layerLabel(m: ModelPayload, i: number): string {
  const b = m.structure.swin?.blocks[i];
  if (!b) return `Layer ${i + 1}`;
  return `Stage ${b.stage + 1} · block ${b.blockInStage + 1} (${b.shift ? `SW-MSA, shift ${b.shift}` : 'W-MSA'}, ${b.grid}×${b.grid} tokens)`;
}

/** Head choices for the selected layer/block (Swin stages have different head counts). */
function fillHeads(): void {
  const heads = current!.layers[state.layer].heads;
  if (state.head >= heads) state.head = -1;
  fillSelect(headSelect, [{ value: '-1', label: 'Mean of heads' }, ...Array.from({ length: heads }, (_, h) => ({ value: String(h), label: `Head ${h + 1}` }))], String(state.head));
}

/** One-paragraph explanation of what this model family does differently, computed from its structure. */
function explanation(m: ModelPayload): string {
  const s = m.structure;
  if (s.swin) {
    const w = s.swin;
    const n0 = w.grids[0] * w.grids[0];
    return `Swin computes attention only inside ${w.window}×${w.window}-token windows, so its cost grows linearly with the image (${n0} tokens at stage 1 attend to ${w.window * w.window} each, not ${n0}). ` +
      `Every second block shifts the windows by ${Math.floor(w.window / 2)} tokens so information crosses window borders; the mask keeps apart tokens that the cyclic shift brought together from opposite edges. ` +
      `Patch merging halves the grid between stages (${w.grids.join(' → ')}). There is no CLS token: the classifier averages all final tokens (global average pooling).`;
  }
  if (s.classifier === 'gap') return 'This model has no CLS token: it classifies the average of all patch tokens (global average pooling), so the map shows the mean attention each patch receives.';
  if (s.family === 'deit') return 'DeiT adds a distillation token next to CLS: it is trained to match a teacher network\'s predictions, and the two heads are averaged at inference.';
  return 'The CLS token is a learned vector prepended to the patch tokens; it gathers information from all patches through attention, and its final state alone is classified. The map shows how much it attends to each patch.';
}

let runSeq = 0;

async function visualize(msg: Extract<HostToWebview, { type: 'visualize' }>): Promise<void> {
  const seq = ++runSeq;
  const { model, image } = msg;
  $('error').hidden = true;
  $('image-name').textContent = image.name;
  if (model.bytes) modelBytes.set(model.key, model.bytes);
  setStatus('loading', `Preparing ${image.name}…`);
  const size = model.card.preprocess.size;
  const input = await loadImageInput(image.bytes, image.mime, model.card.preprocess);
  if (seq !== runSeq) return;
  view.drawInput(input.rgba, size);
  let backend: Backend = msg.backend === 'wasm' ? 'wasm' : await client.pickBackend();
  if (msg.backend === 'webgpu' && backend !== 'webgpu') backend = 'wasm';
  setStatus('running', `Running ${model.card.name} on ${backend === 'webgpu' ? 'WebGPU' : 'WASM'}…`);
  const bytes = modelBytes.get(model.key);
  const outputs = [model.logitsOutput, ...model.attentionOutputs, ...(model.featureOutput ? [model.featureOutput] : [])];
  const r = await client.run(model.key, () => {
    if (!bytes) throw new Error('Model bytes missing in the webview.');
    return bytes;
  }, input.tensor, model.structure.input.name, [1, 3, size, size], outputs, backend);
  if (seq !== runSeq) return;
  const layers = toLayers(r, model.attentionOutputs);
  current = { model, layers, imageUri: image.uri };
  if (state.layer < 0 || state.layer >= layers.length) state.layer = layers.length - 1;
  const swin = model.structure.swin;
  $('layer-label').textContent = swin ? 'Block' : 'Layer';
  $('swin-controls').hidden = !swin;
  gridToggle.hidden = !!swin;
  fillSelect(layerSelect, layers.map((_, i) => ({ value: String(i), label: layerLabel(model, i) })), String(state.layer));
  fillHeads();
  $('explain').textContent = explanation(model);
  const logits = r.tensors.get(model.logitsOutput)!.data;
  const top = topK(logits, model.card.labels, 5);
  renderPredictions(top);
  renderSummary(model, layers);
  redraw();
  const threads = r.threads > 1 ? `${r.threads} threads` : '1 thread';
  $('backend').textContent = r.backend === 'webgpu' ? 'WebGPU' : `WASM · ${threads}`;
  $('timing').textContent = `Inference ${r.inferenceMs.toFixed(0)} ms` + (r.sessionMs ? ` · session created in ${r.sessionMs.toFixed(0)} ms` : ' · session reused') + (r.fellBack ? ` · ${r.fellBack}` : '');
  setStatus('done', `Top-1: ${top[0]?.label ?? '?'} (${((top[0]?.prob ?? 0) * 100).toFixed(1)}%)`);
  post({ type: 'rendered', summary: { image: image.name, model: model.card.name, backend: r.backend, threads: r.threads, inferenceMs: r.inferenceMs, sessionMs: r.sessionMs, top } });
}

layerSelect.addEventListener('change', () => {
  state.layer = Number(layerSelect.value);
  if (current) fillHeads();
  redraw();
});
headSelect.addEventListener('change', () => { state.head = Number(headSelect.value); redraw(); });
opacityInput.value = String(state.opacity);
opacityInput.addEventListener('input', () => { state.opacity = Number(opacityInput.value); redraw(); });
gridToggle.checked = state.showGrid;
gridToggle.addEventListener('change', () => { state.showGrid = gridToggle.checked; redraw(); });
windowsToggle.checked = state.showWindows;
windowsToggle.addEventListener('change', () => { state.showWindows = windowsToggle.checked; redraw(); });
shiftToggle.addEventListener('change', () => redraw());

let animation: ReturnType<typeof setInterval> | undefined;
$('animate-shift').addEventListener('click', () => {
  if (animation) {
    clearInterval(animation);
    animation = undefined;
    return;
  }
  // Alternate regular and shifted windows; users who ask for reduced motion get a single toggle.
  const flip = () => { shiftToggle.checked = !shiftToggle.checked; redraw(); };
  if (matchMedia('(prefers-reduced-motion: reduce)').matches) flip();
  else animation = setInterval(flip, 1200);
});

function selectPatch(sel: { row: number; col: number } | undefined): void {
  selected = sel;
  redraw();
}

stack.addEventListener('click', (e) => {
  if (!current) return;
  const rect = stack.getBoundingClientRect();
  const g = currentGrid();
  const col = Math.min(g.cols - 1, Math.max(0, Math.floor(((e.clientX - rect.left) / rect.width) * g.cols)));
  const row = Math.min(g.rows - 1, Math.max(0, Math.floor(((e.clientY - rect.top) / rect.height) * g.rows)));
  stack.focus();
  selectPatch({ row, col });
});

stack.addEventListener('keydown', (e) => {
  if (!current) return;
  const g = currentGrid();
  const cur = selected ?? { row: Math.floor(g.rows / 2), col: Math.floor(g.cols / 2) };
  const moves: Record<string, [number, number]> = { ArrowUp: [-1, 0], ArrowDown: [1, 0], ArrowLeft: [0, -1], ArrowRight: [0, 1] };
  if (e.key === 'Escape') {
    selectPatch(undefined);
  } else if (moves[e.key]) {
    const [dr, dc] = moves[e.key];
    selectPatch(selected ? { row: Math.min(g.rows - 1, Math.max(0, cur.row + dr)), col: Math.min(g.cols - 1, Math.max(0, cur.col + dc)) } : cur);
  } else {
    return;
  }
  e.preventDefault();
});

window.addEventListener('message', (e: MessageEvent<HostToWebview>) => {
  const msg = e.data;
  switch (msg.type) {
    case 'visualize':
      visualize(msg).catch((err: unknown) => {
        const error: ErrorInfo = isErrorInfo(err) ? err : { kind: 'inference', message: err instanceof Error ? err.message : String(err) };
        showError(error);
        post({ type: 'failed', error });
      });
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
      break;
  }
});

function isErrorInfo(e: unknown): e is ErrorInfo {
  return typeof e === 'object' && e !== null && 'kind' in e && 'message' in e;
}

async function hasGpuAdapter(): Promise<boolean> {
  const gpu = (navigator as Navigator & { gpu?: { requestAdapter(): Promise<unknown> } }).gpu;
  return !!gpu && !!(await gpu.requestAdapter().catch(() => null));
}

hasGpuAdapter().then((gpuAdapter) => post({ type: 'ready', state: saved, gpuAdapter }));
