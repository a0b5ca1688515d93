/** The sidebar inspector's HTML (pure, like webviewHtml.ts), under the same strict CSP. */
import { escapeHtml, htmlHead } from './webviewHtml';

export function inspectorHtml(a: { cspSource: string; scriptUri: string; styleUri: string; codiconUri: string }, nonce: string): string {
  return `${htmlHead(a, { nonce, allowWebgpuEval: false }, 'ViT Lens Inspector')}
<body class="sidebar">
<div id="vit-lens-inspector">
  <section id="welcome">
    <p>Nothing visualized yet. Open an image and run <strong>Visualize Active Image</strong>, or right-click an image in the Explorer.</p>
    <div class="buttons">
      <vscode-button id="cmd-active"><span class="codicon codicon-eye" slot="start"></span>Visualize Active Image</vscode-button>
      <vscode-button id="cmd-image" secondary><span class="codicon codicon-file-media" slot="start"></span>Choose an Image…</vscode-button>
      <vscode-button id="cmd-model" secondary><span class="codicon codicon-file-binary" slot="start"></span>Select Model…</vscode-button>
    </div>
  </section>
  <section id="inspector" hidden>
    <p class="muted"><span id="insp-image"></span> · <span id="insp-model"></span></p>
    <div class="controls" aria-label="View controls">
      <label for="insp-mode">View</label>
      <vscode-single-select id="insp-mode"></vscode-single-select>
      <label for="insp-layer" id="insp-layer-label">Layer</label>
      <vscode-single-select id="insp-layer"></vscode-single-select>
      <label for="insp-head">Heads</label>
      <vscode-single-select id="insp-head"></vscode-single-select>
      <label for="insp-direction">Patch as</label>
      <vscode-single-select id="insp-direction">
        <vscode-option value="query">query (attends to)</vscode-option>
        <vscode-option value="key">key (attended by)</vscode-option>
      </vscode-single-select>
      <label for="insp-cmap">Colormap</label>
      <vscode-single-select id="insp-cmap">
        <vscode-option value="inferno">inferno</vscode-option>
        <vscode-option value="viridis">viridis</vscode-option>
        <vscode-option value="cividis">cividis</vscode-option>
        <vscode-option value="gray">grey</vscode-option>
      </vscode-single-select>
      <label for="insp-opacity">Opacity</label>
      <input id="insp-opacity" type="range" min="0" max="1" step="0.05">
    </div>
    <h2>Patch</h2>
    <div id="patch-announce" class="visually-hidden" aria-live="polite"></div>
    <div id="patch-empty" class="muted">Click a patch in the ViT Lens panel (or use the arrow keys there) to inspect it.</div>
    <div id="patch" hidden>
      <div class="patch-head">
        <img id="patch-pixels" alt="The selected patch's pixels" width="64" height="64">
        <dl class="kv">
          <dt>Token</dt><dd id="patch-token"></dd>
          <dt>Row, column</dt><dd id="patch-rc"></dd>
        </dl>
      </div>
      <p id="patch-class" class="muted" hidden></p>
      <h3>Attends to</h3>
      <ol id="patch-to" class="toplist"></ol>
      <h3>Attended by</h3>
      <ol id="patch-from" class="toplist"></ol>
      <h3>Attention entropy per head</h3>
      <ol id="patch-entropy" class="toplist"></ol>
    </div>
    <h2>Model</h2>
    <dl id="insp-summary" class="kv"></dl>
  </section>
</div>
<script nonce="${nonce}" src="${escapeHtml(a.scriptUri)}"></script>
</body>
</html>`;
}
