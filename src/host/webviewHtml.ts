/**
 * The visualize panel's HTML and its Content Security Policy. Pure (no vscode import) so the browser
 * tests serve exactly the page the extension serves.
 */
import { t, type L10nBundle } from '../shared/l10n';
import type { RunModelIn } from '../shared/protocol';

export interface WebviewAssets {
  /** `webview.cspSource`: the origin the resource URIs below are served from. */
  cspSource: string;
  scriptUri: string;
  styleUri: string;
  codiconUri: string;
  /** Worker bundles and ORT binaries; fetched by the webview and started from blob: URLs. */
  wasmWorkerUri: string;
  wasmBinaryUri: string;
  webgpuWorkerUri: string;
  webgpuBinaryUri: string;
}

export interface WebviewHtmlOptions {
  nonce: string;
  /**
   * onnxruntime-web's WebGPU build calls `new Function` (embind's method callers), so it cannot run
   * without 'unsafe-eval'. Only when the webview has reported a real GPU adapter and the user allows
   * WebGPU does the host re-render the page with 'unsafe-eval' added; the WASM build never needs it.
   */
  allowWebgpuEval: boolean;
  /** `vscode.l10n.bundle` (undefined in English), read by the page before it shows any text. */
  l10nBundle?: L10nBundle;
  /** `vscode.env.language`, for the page's `lang`. */
  language?: string;
  /** Where the panel's model runs when the page starts (vitLens.runModelIn): in the host the page warms no worker. */
  runIn?: RunModelIn;
  /**
   * Whether the page compiles onnxruntime's WASM as soon as it starts (default: with the model in the page). Not when
   * its first run may be the host's (src/host/startInHost.ts): the host says 'warmUp' when the model runs in the page.
   */
  warmUpAtStart?: boolean;
}

export function contentSecurityPolicy(cspSource: string, o: WebviewHtmlOptions): string {
  const evalSrc = o.allowWebgpuEval ? " 'unsafe-eval'" : '';
  return [
    "default-src 'none'",
    `img-src ${cspSource} blob: data:`, // l10n-ignore: CSP directive
    `style-src ${cspSource}`,
    `font-src ${cspSource}`,
    `script-src 'nonce-${o.nonce}' ${cspSource} 'wasm-unsafe-eval'${evalSrc}`,
    'worker-src blob:', // l10n-ignore: CSP directive
    // blob:: onnxruntime's WASM as the page fetched it (src/webview/inferenceClient.ts), read by its worker.
    `connect-src ${cspSource} blob:`, // l10n-ignore: CSP directive
  ].join('; ');
}

export function makeNonce(): string {
  const chars = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
  let s = '';
  const rnd = new Uint8Array(32);
  globalThis.crypto.getRandomValues(rnd);
  for (const b of rnd) s += chars[b % chars.length];
  return s;
}

export const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** Doctype, CSP, codicons and the stylesheet: the head every ViT Lens webview shares. */
export function htmlHead(a: { cspSource: string; codiconUri: string; styleUri: string }, o: WebviewHtmlOptions, title: string): string {
  return `<!DOCTYPE html>
<html lang="${escapeHtml(o.language ?? 'en')}">
<head>
<meta charset="UTF-8">
<meta name="vit-lens-l10n" content="${escapeHtml(JSON.stringify(o.l10nBundle ?? {}))}">
<meta http-equiv="Content-Security-Policy" content="${contentSecurityPolicy(a.cspSource, o)}">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<link rel="stylesheet" href="${escapeHtml(a.codiconUri)}" id="vscode-codicon-stylesheet">
<link rel="stylesheet" href="${escapeHtml(a.styleUri)}">
<title>${escapeHtml(title)}</title>
</head>`;
}

export function visualizeHtml(a: WebviewAssets, o: WebviewHtmlOptions): string {
  const config = {
    wasmWorkerUri: a.wasmWorkerUri,
    wasmBinaryUri: a.wasmBinaryUri,
    webgpuWorkerUri: a.webgpuWorkerUri,
    webgpuBinaryUri: a.webgpuBinaryUri,
    webgpuAllowed: o.allowWebgpuEval,
    warmUpAtStart: o.warmUpAtStart ?? o.runIn !== 'extensionHost',
  };
  return `${htmlHead(a, o, t('ViT Lens'))}
<body>
<div id="vit-lens-app" data-config="${escapeHtml(JSON.stringify(config))}">
  <header class="toolbar">
    <span class="codicon codicon-eye" aria-hidden="true"></span>
    <span id="image-name" class="image-name">${t('No image yet')}</span>
    <span id="backend" class="badge" title="${t('Where the model ran')}"></span>
  </header>
  <div id="status" role="status" aria-live="polite" data-state="loading"><span class="codicon codicon-loading codicon-modifier-spin" aria-hidden="true"></span> <span id="status-text">${t('Waiting for an image…')}</span></div>
  <div id="error" role="alert" hidden></div>
  <main class="layout">
    <section class="viewer" aria-label="${t('Image and attention')}">
      <div class="stack" id="stack" tabindex="0" role="application" aria-label="${t('Image patches: click a patch or use the arrow keys to select one, Escape to clear')}">
        <canvas id="image" width="224" height="224" aria-hidden="true"></canvas>
        <canvas id="heatmap" width="224" height="224" role="img" aria-label="${t('Attention heatmap')}"></canvas>
        <canvas id="grid" width="224" height="224" aria-hidden="true"></canvas>
      </div>
      <div class="colorbar"><span id="colorbar-min">0</span><canvas id="colorbar" width="256" height="10" aria-hidden="true"></canvas><span id="colorbar-max">${t('max')}</span></div>
      <p id="view-caption" class="muted"></p>
      <p id="selection" class="muted" aria-live="polite"></p>
      <div class="toolbar-row">
        <vscode-button id="export-png" secondary title="${t('Save the current view as a PNG')}"><span class="codicon codicon-file-media" slot="start"></span>${t('Export PNG')}</vscode-button>
        <vscode-button id="export-json" secondary title="${t('Save the data behind the current view as JSON')}"><span class="codicon codicon-json" slot="start"></span>${t('Export JSON')}</vscode-button>
      </div>
    </section>
    <section class="side">
      <div class="controls" aria-label="${t('View controls')}">
        <label for="mode">${t('View')}</label>
        <vscode-single-select id="mode">
          <vscode-option value="attention">${t('Attention')}</vscode-option>
          <vscode-option value="rollout">${t('Attention rollout')}</vscode-option>
          <vscode-option value="features">${t('Token features (PCA)')}</vscode-option>
        </vscode-single-select>
        <label for="layer" id="layer-label">${t('Layer')}</label>
        <vscode-single-select id="layer"></vscode-single-select>
        <label for="head">${t('Heads')}</label>
        <vscode-single-select id="head"></vscode-single-select>
        <label for="direction" class="vit-only">${t('Selected patch')}</label>
        <vscode-single-select id="direction" class="vit-only">
          <vscode-option value="query">${t('as query: what it attends to')}</vscode-option>
          <vscode-option value="key">${t('as key: who attends to it')}</vscode-option>
        </vscode-single-select>
        <label for="discard" class="rollout-only">${t('Discard lowest')}</label>
        <span class="rollout-only range"><input id="discard" type="range" min="0" max="0.95" step="0.05" value="0"><output id="discard-value" for="discard">0%</output></span>
        <label for="mass" class="vit-only">${t('Mass threshold')}</label>
        <span class="vit-only range"><input id="mass" type="range" min="0" max="1" step="0.05" value="0"><output id="mass-value" for="mass">${t('off')}</output></span>
        <label for="cmap">${t('Colormap')}</label>
        <vscode-single-select id="cmap">
          <vscode-option value="inferno">${t('inferno')}</vscode-option>
          <vscode-option value="viridis">${t('viridis (colour-blind safe)')}</vscode-option>
          <vscode-option value="cividis">${t('cividis (colour-blind safe)')}</vscode-option>
          <vscode-option value="gray">${t('grey')}</vscode-option>
        </vscode-single-select>
        <label for="scale">${t('Scale')}</label>
        <vscode-single-select id="scale">
          <vscode-option value="linear">${t('linear')}</vscode-option>
          <vscode-option value="log">${t('log')}</vscode-option>
        </vscode-single-select>
        <label for="opacity">${t('Opacity')}</label>
        <input id="opacity" type="range" min="0" max="1" step="0.05" value="0.6">
        <div class="checks">
          <vscode-checkbox id="show-grid" class="vit-only" checked>${t('Patch grid')}</vscode-checkbox>
          <vscode-checkbox id="smooth">${t('Smooth upsampling')}</vscode-checkbox>
        </div>
        <div id="swin-controls" class="swin-controls" hidden>
          <vscode-checkbox id="show-windows" checked>${t('Windows')}</vscode-checkbox>
          <vscode-checkbox id="preview-shift">${t('Show shifted windows')}</vscode-checkbox>
          <vscode-button id="animate-shift" secondary><span class="codicon codicon-play" slot="start"></span>${t('Animate shift')}</vscode-button>
        </div>
      </div>
      <p id="explain" class="explain"></p>
      <h2>${t('Predictions')}</h2>
      <ol id="predictions" aria-label="${t('Top-5 predictions')}"></ol>
      <h2>${t('Model')}</h2>
      <dl id="summary"></dl>
      <p id="timing" class="muted"></p>
    </section>
  </main>
  <section id="why" class="ideas" aria-label="${t('Why this class')}">
    <div class="idea why-card"><h3>${t('Why this class')}</h3>
      <div class="variant-controls">
        <vscode-single-select id="why-class" aria-label="${t('Class to explain (top 5)')}"></vscode-single-select>
        <input id="why-class-name" class="why-class-name" list="why-labels" placeholder="${t('or type any class name')}" aria-label="${t('Class to explain, by name')}">
        <datalist id="why-labels"></datalist>
      </div>
      <div class="variant-controls">
        <vscode-button id="why-occlusion"><span class="codicon codicon-eye-closed" slot="start"></span>${t('Occlusion')}</vscode-button>
        <vscode-button id="why-relevance"><span class="codicon codicon-flame" slot="start"></span>${t('Relevance')}</vscode-button>
        <vscode-button id="why-gradcam"><span class="codicon codicon-pulse" slot="start"></span>${t('Grad-CAM')}</vscode-button>
        <vscode-button id="why-attgrad"><span class="codicon codicon-layers" slot="start"></span>${t('Attention × gradient')}</vscode-button>
        <vscode-button id="why-trust" secondary><span class="codicon codicon-graph-line" slot="start"></span>${t('Which map to trust')}</vscode-button>
        <vscode-button id="why-export" secondary disabled><span class="codicon codicon-save" slot="start"></span>${t('Save PNG')}</vscode-button>
        <vscode-button id="why-cancel" secondary hidden><span class="codicon codicon-stop-circle" slot="start"></span>${t('Cancel')}</vscode-button>
        <progress id="why-progress" hidden aria-label="${t('Runs of the model done')}"></progress>
      </div>
      <div class="variant-controls">
        <vscode-button id="why-compare" secondary><span class="codicon codicon-diff" slot="start"></span>${t('Compare with…')}</vscode-button>
        <input id="why-compare-name" class="why-class-name" list="why-labels" placeholder="${t('second class (default: next of the top 5)')}" aria-label="${t('Second class to compare the relevance with, by name')}">
      </div>
      <div id="why-out" class="variant-compare" aria-live="polite"></div>
      <canvas id="why-curves" hidden width="360" height="160" role="img" aria-label="${t('Deletion (solid) and insertion (dashed) curves: class probability against the fraction of patches')}"></canvas>
      <p id="why-text" class="muted" aria-live="polite"></p>
    </div>
  </section>
  <section id="ideas" class="ideas" aria-label="${t('The ideas behind it, on this model')}">
    <h2>${t('The ideas behind it, on this model and image')}</h2>
    <div class="idea"><h3>${t('Attention cost: O(N²), and windows')}</h3><canvas id="cost-chart" width="360" height="180" role="img" aria-label="${t('Attention cost over input resolution')}"></canvas><p id="cost-text" class="muted"></p></div>
    <div class="idea"><h3>${t('Patch embedding is a convolution')}</h3><canvas id="filters" width="1" height="1" role="img" aria-label="${t('Patch-embedding filters')}"></canvas><p id="filters-text" class="muted"></p></div>
    <div class="idea"><h3>${t('Position embeddings')}</h3><canvas id="pos-sim" width="1" height="1" role="img" aria-label="${t('Position embedding similarity')}"></canvas><p id="pos-text" class="muted"></p></div>
    <div class="idea"><h3>${t('Other resolutions')}</h3><div class="variant-controls"><vscode-single-select id="res-size" aria-label="${t('Input size')}"></vscode-single-select><vscode-button id="res-run"><span class="codicon codicon-play" slot="start"></span>${t('Run at this size')}</vscode-button></div><div id="res-out" class="variant-compare" aria-live="polite"></div><p id="res-text" class="muted"></p></div>
    <div class="idea"><h3>${t('Without position embeddings')}</h3><div class="variant-controls"><vscode-button id="nopos-run"><span class="codicon codicon-play" slot="start"></span>${t('Run without position embeddings')}</vscode-button></div><div id="nopos-out" class="variant-compare" aria-live="polite"></div><p id="nopos-text" class="muted"></p></div>
    <div class="idea" id="map-probe" hidden><h3>${t('Attention pooling: what the classifier reads')}</h3><div id="map-probe-out" class="variant-compare"></div><p id="map-probe-text" class="muted"></p></div>
    <div class="idea"><h3>${t('Distillation token (DeiT)')}</h3><div id="distill-out" class="variant-compare"></div><p id="distill-text" class="muted"></p></div>
    <div class="idea"><h3>${t('Learned locality')}</h3><canvas id="distance" width="360" height="160" role="img" aria-label="${t('Mean attention distance per head and layer')}"></canvas><div class="variant-controls"><vscode-button id="distance-folder" secondary><span class="codicon codicon-folder-opened" slot="start"></span>${t('Average over a folder…')}</vscode-button></div><p id="distance-text" class="muted"></p></div>
    <div class="idea"><h3>${t('Where the normalization sits')}</h3><p id="norm-text" class="muted"></p></div>
    <div class="idea"><h3>${t('High-norm tokens and registers')}</h3><canvas id="norms-map" width="1" height="1" role="img" aria-label="${t('Token output norms: rows are layers, columns are tokens (prefix tokens left of the gap); outliers outlined')}"></canvas><canvas id="norms-grid" width="1" height="1" role="img" aria-label="${t('Patch token norms of the selected layer')}"></canvas><ol id="norms-layers" class="muted"></ol><p id="norms-text" class="muted"></p></div>
  </section>
  <section id="overview-section" class="overview-section" aria-label="${t('Layer by head overview')}">
    <h2>${t('Layers × heads')} <span class="muted">${t('(click a map to focus it)')}</span></h2>
    <div id="overview" class="overview" role="group" aria-label="${t('Layers × heads')}"></div>
  </section>
</div>
<script nonce="${o.nonce}" src="${escapeHtml(a.scriptUri)}"></script>
</body>
</html>`;
}
