/** The visualize panel: receives a model and an image from the host, runs the model in a worker, draws. */
import '@vscode-elements/elements/dist/vscode-single-select/index.js';
import '@vscode-elements/elements/dist/vscode-option/index.js';
import '@vscode-elements/elements/dist/vscode-checkbox/index.js';
import { AttentionLayer, queryAttentionToPatches, topK } from '../shared/attentionMaps';
import type { ErrorInfo } from '../shared/errors';
import type { Backend, HostToWebview, ModelPayload, PersistedState, Prediction, ViewState, WebviewToHost } from '../shared/protocol';
import { HeatmapView } from './heatmapView';
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
const gridToggle = $<HTMLElement & { checked: boolean }>('show-grid');

const saved = vscode.getState();
const state: ViewState = { layer: -1, head: -1, showGrid: true, opacity: 0.6, ...saved?.view };
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
  vscode.setState({ imageUri: current?.imageUri, view: state });
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

function redraw(): void {
  if (!current) return;
  const { model, layers } = current;
  const s = model.structure;
  const layer = layers[state.layer];
  const grid = s.grid ?? { rows: Math.sqrt(layer.tokens - s.prefixTokens), cols: Math.sqrt(layer.tokens - s.prefixTokens) };
  // Without a CLS token (global pooling), show the mean attention each patch receives.
  const values = s.prefixTokens > 0 ? queryAttentionToPatches(layer, 0, state.head, s.prefixTokens) : meanReceived(layer, state.head);
  const { max } = view.drawHeatmap(values, grid, state.opacity, 'inferno');
  $('colorbar-max').textContent = max.toFixed(3);
  view.drawGrid(grid, state.showGrid);
  persist();
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
    ['Family', s.family === 'deit' ? 'DeiT (CLS + distillation token)' : 'ViT'],
    ['Input', `${m.card.preprocess.size}×${m.card.preprocess.size}, ${s.input.channels} channels`],
    ['Patch size', `${s.patchSize}×${s.patchSize} (Conv2d, kernel = stride)`],
    ['Grid', s.grid ? `${s.grid.rows}×${s.grid.cols} = ${s.grid.rows * s.grid.cols} patches` : 'dynamic'],
    ['Tokens', `${layers[0]?.tokens ?? s.tokens ?? '?'} (${s.prefixTokens} prefix)`],
    ['Width', String(s.embedDim)],
    ['Layers × heads', `${s.layers} × ${layers[0]?.heads ?? s.heads ?? '?'}`],
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
  const outputs = [model.logitsOutput, ...model.attentionOutputs];
  const r = await client.run(model.key, () => {
    if (!bytes) throw new Error('Model bytes missing in the webview.');
    return bytes;
  }, input.tensor, model.structure.input.name, [1, 3, size, size], outputs, backend);
  if (seq !== runSeq) return;
  const layers = toLayers(r, model.attentionOutputs);
  current = { model, layers, imageUri: image.uri };
  if (state.layer < 0 || state.layer >= layers.length) state.layer = layers.length - 1;
  if (state.head >= layers[0].heads) state.head = -1;
  fillSelect(layerSelect, layers.map((_, i) => ({ value: String(i), label: `Layer ${i + 1}` })), String(state.layer));
  fillSelect(headSelect, [{ value: '-1', label: 'Mean of heads' }, ...Array.from({ length: layers[0].heads }, (_, h) => ({ value: String(h), label: `Head ${h + 1}` }))], String(state.head));
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

layerSelect.addEventListener('change', () => { state.layer = Number(layerSelect.value); redraw(); });
headSelect.addEventListener('change', () => { state.head = Number(headSelect.value); redraw(); });
opacityInput.value = String(state.opacity);
opacityInput.addEventListener('input', () => { state.opacity = Number(opacityInput.value); redraw(); });
gridToggle.checked = state.showGrid;
gridToggle.addEventListener('change', () => { state.showGrid = gridToggle.checked; redraw(); });

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
