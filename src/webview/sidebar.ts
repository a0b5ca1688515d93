/** The sidebar inspector: mirrors the panel's view state and selected patch, and changes them. */
import './l10nBoot';
import '@vscode-elements/elements/dist/vscode-single-select/index.js';
import '@vscode-elements/elements/dist/vscode-option/index.js';
import '@vscode-elements/elements/dist/vscode-button/index.js';
import { t } from '../shared/l10n';
import type { HostToSidebar, InspectorInfo, SidebarToHost, ViewState } from '../shared/protocol';

interface VsCodeApi { postMessage(msg: SidebarToHost): void }
declare function acquireVsCodeApi(): VsCodeApi;
const vscode = acquireVsCodeApi();
const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
type Select = HTMLElement & { value: string };

const post = (m: SidebarToHost) => vscode.postMessage(m);
$('cmd-active').addEventListener('click', () => post({ type: 'command', command: 'vitLens.visualizeActiveImage' }));
$('cmd-image').addEventListener('click', () => post({ type: 'command', command: 'vitLens.visualizeImage' }));
$('cmd-model').addEventListener('click', () => post({ type: 'command', command: 'vitLens.selectModel' }));

/** Options are rebuilt only when their list changes, so an open dropdown is not reset by an update. */
const optionKeys = new Map<string, string>();
function fill(id: string, options: { value: string; label: string }[], value: string): void {
  const sel = $<Select>(id);
  const key = JSON.stringify(options);
  if (optionKeys.get(id) !== key) {
    optionKeys.set(id, key);
    sel.replaceChildren(...options.map((o) => {
      const opt = document.createElement('vscode-option');
      opt.setAttribute('value', o.value);
      opt.textContent = o.label;
      return opt;
    }));
  }
  sel.value = value;
}

let applying = false;
function bind(id: string, key: keyof ViewState, parse: (v: string) => ViewState[keyof ViewState] = (v) => v): void {
  const el = $<Select>(id);
  el.addEventListener(el instanceof HTMLInputElement ? 'input' : 'change', () => {
    if (!applying) post({ type: 'setView', view: { [key]: parse(el.value) } as Partial<ViewState> });
  });
}
bind('insp-mode', 'mode');
bind('insp-layer', 'layer', Number);
bind('insp-head', 'head');
bind('insp-direction', 'direction');
bind('insp-cmap', 'cmap');
bind('insp-opacity', 'opacity', Number);

function list(id: string, items: string[]): void {
  $(id).replaceChildren(...items.map((text) => {
    const li = document.createElement('li');
    li.textContent = text;
    return li;
  }));
}

/** Screen readers hear the selected patch when it changes (not on every view update). */
function announcePatch(text: string): void {
  const live = $('patch-announce');
  if (live.textContent !== text) live.textContent = text;
}

function render(view: ViewState, info: InspectorInfo): void {
  applying = true;
  $('welcome').hidden = true;
  $('inspector').hidden = false;
  $('insp-image').textContent = info.image;
  $('insp-model').textContent = info.model;
  fill('insp-mode', [
    { value: 'attention', label: info.swin ? t('Window attention') : t('Attention') },
    ...(info.swin ? [] : [{ value: 'rollout', label: t('Attention rollout') }]),
    ...(info.hasFeatures ? [{ value: 'features', label: t('Token features (PCA)') }] : []),
  ], view.mode);
  $('insp-layer-label').textContent = info.swin ? t('Block') : t('Layer');
  fill('insp-layer', info.layers.map((label, i) => ({ value: String(i), label })), String(view.layer));
  fill('insp-head', [{ value: 'mean', label: t('Mean of heads') }, { value: 'max', label: t('Max over heads') }, { value: 'min', label: t('Min over heads') },
    ...Array.from({ length: info.heads }, (_, h) => ({ value: String(h), label: t`Head ${h + 1}` }))], view.head);
  $<Select>('insp-direction').value = view.direction;
  $<Select>('insp-cmap').value = view.cmap;
  $<HTMLInputElement>('insp-opacity').value = String(view.opacity);
  const p = info.patch;
  announcePatch(p ? t`Selected patch row ${p.row}, column ${p.col} (token ${p.token}).` : '');
  $('patch').hidden = !p;
  $('patch-empty').hidden = !!p;
  if (p) {
    $<HTMLImageElement>('patch-pixels').src = p.pixels;
    $('patch-token').textContent = String(p.token);
    $('patch-rc').textContent = `${p.row}, ${p.col}`;
    list('patch-to', p.attendsTo.map((x) => `${x.label} · ${x.value.toFixed(4)}`));
    list('patch-from', p.attendedBy.map((x) => `${x.label} · ${x.value.toFixed(4)}`));
    list('patch-entropy', p.entropy.map((e, h) => t`head ${h + 1}: ${e.toFixed(3)} nats`));
    const c = p.classMap;
    $('patch-class').hidden = !c;
    $('patch-class').textContent = c ? t`${c.what}: ${c.value.toFixed(4)}, rank ${c.rank} of ${c.of} patches` : '';
  }
  $('insp-summary').replaceChildren(...info.summary.flatMap(([k, v]) => {
    const dt = document.createElement('dt');
    dt.textContent = k;
    const dd = document.createElement('dd');
    dd.textContent = v;
    return [dt, dd];
  }));
  applying = false;
}

window.addEventListener('message', (e: MessageEvent<HostToSidebar>) => {
  const m = e.data;
  if (m.type === 'state') render(m.view, m.info);
  else {
    $('welcome').hidden = false;
    $('inspector').hidden = true;
  }
});
post({ type: 'ready' });
