/** The sidebar inspector's HTML (pure, like webviewHtml.ts), under the same strict CSP. */
import { t } from '../shared/l10n';
import { escapeHtml, htmlHead, WebviewHtmlOptions } from './webviewHtml';

export function inspectorHtml(a: { cspSource: string; scriptUri: string; styleUri: string; codiconUri: string }, o: Omit<WebviewHtmlOptions, 'allowWebgpuEval'>): string {
  return `${htmlHead(a, { ...o, allowWebgpuEval: false }, t('ViT Lens Inspector'))}
<body class="sidebar">
<div id="vit-lens-inspector">
  <section id="welcome">
    <p>${t('Nothing visualized yet. Open an image and run {0}, or right-click an image in the Explorer.', `<strong>${t('Visualize Active Image')}</strong>`)}</p>
    <div class="buttons">
      <vscode-button id="cmd-active"><span class="codicon codicon-eye" slot="start"></span>${t('Visualize Active Image')}</vscode-button>
      <vscode-button id="cmd-image" secondary><span class="codicon codicon-file-media" slot="start"></span>${t('Choose an Image…')}</vscode-button>
      <vscode-button id="cmd-model" secondary><span class="codicon codicon-file-binary" slot="start"></span>${t('Select Model…')}</vscode-button>
    </div>
  </section>
  <section id="inspector" hidden>
    <p class="muted"><span id="insp-image"></span> · <span id="insp-model"></span></p>
    <div class="controls" aria-label="${t('View controls')}">
      <label for="insp-mode">${t('View')}</label>
      <vscode-single-select id="insp-mode"></vscode-single-select>
      <label for="insp-layer" id="insp-layer-label">${t('Layer')}</label>
      <vscode-single-select id="insp-layer"></vscode-single-select>
      <label for="insp-head">${t('Heads')}</label>
      <vscode-single-select id="insp-head"></vscode-single-select>
      <label for="insp-direction">${t('Patch as')}</label>
      <vscode-single-select id="insp-direction">
        <vscode-option value="query">${t('query (attends to)')}</vscode-option>
        <vscode-option value="key">${t('key (attended by)')}</vscode-option>
      </vscode-single-select>
      <label for="insp-cmap">${t('Colormap')}</label>
      <vscode-single-select id="insp-cmap">
        <vscode-option value="inferno">${t('inferno')}</vscode-option>
        <vscode-option value="viridis">${t('viridis')}</vscode-option>
        <vscode-option value="cividis">${t('cividis')}</vscode-option>
        <vscode-option value="gray">${t('grey')}</vscode-option>
      </vscode-single-select>
      <label for="insp-opacity">${t('Opacity')}</label>
      <input id="insp-opacity" type="range" min="0" max="1" step="0.05">
    </div>
    <h2>${t('Patch')}</h2>
    <div id="patch-announce" class="visually-hidden" aria-live="polite"></div>
    <div id="patch-empty" class="muted">${t('Click a patch in the ViT Lens panel (or use the arrow keys there) to inspect it.')}</div>
    <div id="patch" hidden>
      <div class="patch-head">
        <img id="patch-pixels" alt="${t("The selected patch's pixels")}" width="64" height="64">
        <dl class="kv">
          <dt>${t('Token')}</dt><dd id="patch-token"></dd>
          <dt>${t('Row, column')}</dt><dd id="patch-rc"></dd>
        </dl>
      </div>
      <p id="patch-class" class="muted" hidden></p>
      <h3>${t('Attends to')}</h3>
      <ol id="patch-to" class="toplist"></ol>
      <h3>${t('Attended by')}</h3>
      <ol id="patch-from" class="toplist"></ol>
      <h3>${t('Attention entropy per head')}</h3>
      <ol id="patch-entropy" class="toplist"></ol>
    </div>
    <h2>${t('Model')}</h2>
    <dl id="insp-summary" class="kv"></dl>
  </section>
</div>
<script nonce="${o.nonce}" src="${escapeHtml(a.scriptUri)}"></script>
</body>
</html>`;
}
