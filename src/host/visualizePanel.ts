/**
 * The "ViT Lens" editor panel: one per window, beside the image. It owns the webview, feeds it the model
 * and image bytes, and turns webview failures into notifications.
 */
import * as vscode from 'vscode';
import { type ErrorInfo, ImageError, toErrorInfo } from '../shared/errors';
import { checkImageSize, readImageHeader } from '../shared/imageHeader';
import type { PreparedModel } from '../shared/prepareModel';
import { type FolderDistance, type HostToWebview, type ImagePayload, type InspectorInfo, type ModelBytes, type PanelAction, type PersistedState, RequestChannel, type AheadMissed, type RunSummary, type ViewState, type WebviewRequest, type WebviewToHost } from '../shared/protocol';
import { activeModelUri, loadModel, plainBytes } from './modelLoader';
import { HeldAttention } from '../shared/firstRows';
import { EarlyVisualize } from '../shared/earlyVisualize';
import { prepareInHost, runInHost, startHostRunner } from './hostRunner';
import { offerHostRunner } from './runPlaceOffer';
import { RunAhead } from './runAhead';
import { StartInHost } from './startInHost';
import { modelParts, partsSize } from '../shared/runnerClient';
import { settings } from './settings';
import { makeNonce, visualizeHtml } from './webviewHtml';

export const VIEW_TYPE = 'vitLens.visualize';
/** Models up to this size cross while a new panel's page starts (about 1 s of it at code-server's 20 MB/s). */
export const AHEAD_MAX_BYTES = 32 * 2 ** 20;
/**
 * Whether a ViT Lens page has said 'ready' in this window. The window's first webview also registers VS Code's service
 * worker; with the bundled model's bytes crossing meanwhile, code-server started that page 3.6-3.8 s after the click
 * in 3 of 4 fresh windows, against 1 of 4 without, so the first panel receives them after its 'ready'.
 */
let aPageHasLoaded = false;

const IMAGE_MIME: Record<string, string> = {
  png: 'image/png', jpg: 'image/jpeg', jpeg: 'image/jpeg', webp: 'image/webp', gif: 'image/gif', bmp: 'image/bmp', svg: 'image/svg+xml',
};

export function imageMime(uri: vscode.Uri): string | undefined {
  return IMAGE_MIME[uri.path.split('.').pop()?.toLowerCase() ?? ''];
}

export class VisualizePanel implements vscode.Disposable {
  private static current: VisualizePanel | undefined;
  private readonly disposables: vscode.Disposable[] = [];
  private imageUri: vscode.Uri | undefined;
  /** Model key whose bytes (or kept copy) and parameters the webview already has. */
  private sentModelKey: string | undefined;
  /** bytesIds of the models the webview keeps in its storage (from its 'ready'). */
  private webviewKeeps = new Set<string>();
  /** The model of the last visualize: what a 'modelBytes' request refers to. */
  private model: PreparedModel | undefined;
  /** With the model in the host: the full attention of the panel's last run, until the panel asks for it. */
  private readonly heldAttention = new HeldAttention();
  /** With the model in the host: the run started on the host's decode of the image, until the page asks for it. */
  private readonly runAhead = new RunAhead();
  /** Where each visualize runs: the setting, or the host while a new page starts (src/host/startInHost.ts). */
  private readonly place = new StartInHost();
  /** The page written last starts onnxruntime's WASM only when told ('warmUp'): its first run may be the host's. */
  private pageWaitsForWarmUp = false;
  private ready!: Promise<void>;
  private markReady!: () => void;
  private webgpuEnabled = false;
  /** From the page's 'ready': whether it found a GPU adapter. */
  private gpuAdapter = false;
  private lastSummary: RunSummary | undefined;
  /** The last visualize message's `seq`. */
  private visualizeSeq = 0;
  /** A visualize posted before the page said 'ready', until the page says whether it arrived. */
  private readonly early = new EarlyVisualize();
  /** When the model's bytes were posted to the webview, to time their crossing ('received'); `ahead`: before 'ready'. */
  private bytesSent?: { key: string; at: number; bytes: number; ahead?: boolean };
  /** The model whose bytes were sent ahead to the page written last. */
  private aheadKey: string | undefined;
  /** When the page written last said 'ready'. */
  private readyAt = 0;
  private readonly onRenderedEmitter = new vscode.EventEmitter<RunSummary>();
  /** Images measured for a folder average: the webview runs the model on each and replies with distances. */
  private readonly measures = new RequestChannel<ImagePayload, { modelKey: string; distances: number[][] }>((id, image) => this.post({ type: 'measure', id, image }));
  readonly onRendered = this.onRenderedEmitter.event;

  private static readonly viewStateEmitter = new vscode.EventEmitter<{ view: ViewState; info: InspectorInfo } | undefined>();
  /** The panel's view state and inspector data after every redraw; undefined when the panel closes. */
  static readonly onDidChangeViewState = VisualizePanel.viewStateEmitter.event;

  static get active(): VisualizePanel | undefined {
    return VisualizePanel.current;
  }

  static async show(context: vscode.ExtensionContext, image: vscode.Uri): Promise<VisualizePanel> {
    let panel = VisualizePanel.current;
    if (panel) {
      panel.panel.reveal(vscode.ViewColumn.Beside, true);
    } else {
      const webviewPanel = vscode.window.createWebviewPanel(VIEW_TYPE, 'ViT Lens', { viewColumn: vscode.ViewColumn.Beside, preserveFocus: true }, VisualizePanel.webviewOptions(context));
      panel = new VisualizePanel(context, webviewPanel);
    }
    await panel.visualize(image);
    return panel;
  }

  /** Re-creates the panel after a window reload (the webview's state names the image). */
  static revive(context: vscode.ExtensionContext, webviewPanel: vscode.WebviewPanel, state: PersistedState | undefined): void {
    webviewPanel.webview.options = VisualizePanel.webviewOptions(context);
    const panel = new VisualizePanel(context, webviewPanel);
    if (state?.imageUri) void panel.visualize(vscode.Uri.parse(state.imageUri));
  }

  private static webviewOptions(context: vscode.ExtensionContext): vscode.WebviewOptions & vscode.WebviewPanelOptions {
    // Only the built bundles, the ORT binaries and the styles are served; images and models arrive as bytes.
    return { enableScripts: true, retainContextWhenHidden: true, localResourceRoots: [vscode.Uri.joinPath(context.extensionUri, 'dist', 'webview'), vscode.Uri.joinPath(context.extensionUri, 'media')] };
  }

  private constructor(private readonly context: vscode.ExtensionContext, readonly panel: vscode.WebviewPanel) {
    VisualizePanel.current = this;
    void vscode.commands.executeCommand('setContext', 'vitLens.panelOpen', true);
    panel.iconPath = vscode.Uri.joinPath(context.extensionUri, 'media', 'vit-lens.svg');
    this.newPage();
    panel.onDidDispose(() => this.dispose(), null, this.disposables);
    panel.webview.onDidReceiveMessage((m: WebviewToHost) => this.onMessage(m), null, this.disposables);
  }

  /** Writes the page anew; `ready` resolves when it says so. */
  private newPage(): void {
    this.pageReady = false;
    this.ready = new Promise((r) => (this.markReady = () => { this.pageReady = true; this.readyAt = Date.now(); r(); }));
    this.setHtml();
  }

  /** Whether the page written last has said 'ready'. */
  private pageReady = false;

  /**
   * A GPU adapter exists and WebGPU is allowed for a model that runs in the page: the page needs the CSP the WebGPU
   * build needs. Not with the model in the host, which runs it on WASM (a reload there would only delay the run).
   */
  private wantsWebgpuPage(): boolean {
    return !this.webgpuEnabled && this.gpuAdapter && settings().backend !== 'wasm' && settings().runModelIn === 'webview';
  }

  private setHtml(): void {
    const w = this.panel.webview;
    const asset = (...p: string[]) => w.asWebviewUri(vscode.Uri.joinPath(this.context.extensionUri, ...p)).toString();
    this.sentModelKey = undefined;
    this.aheadKey = undefined;
    this.place.newPage();
    const s = settings();
    this.pageWaitsForWarmUp = s.runModelIn === 'webview' && s.startInExtensionHost;
    this.panel.webview.html = visualizeHtml({
      cspSource: w.cspSource,
      scriptUri: asset('dist', 'webview', 'main.js'),
      styleUri: asset('media', 'vitLens.css'),
      codiconUri: asset('dist', 'webview', 'codicons', 'codicon.css'),
      wasmWorkerUri: asset('dist', 'webview', 'worker-wasm.js'),
      wasmBinaryUri: asset('dist', 'webview', 'ort-wasm-simd-threaded.wasm'),
      webgpuWorkerUri: asset('dist', 'webview', 'worker-webgpu.js'),
      webgpuBinaryUri: asset('dist', 'webview', 'ort-wasm-simd-threaded.asyncify.wasm'),
    }, { nonce: makeNonce(), allowWebgpuEval: this.webgpuEnabled, l10nBundle: vscode.l10n.bundle, language: vscode.env.language, runIn: s.runModelIn, warmUpAtStart: s.runModelIn === 'webview' && !this.pageWaitsForWarmUp });
  }

  get image(): vscode.Uri | undefined {
    return this.imageUri;
  }

  get summary(): RunSummary | undefined {
    return this.lastSummary;
  }

  private post(msg: HostToWebview): void {
    void this.panel.webview.postMessage(msg);
  }

  async visualize(image: vscode.Uri): Promise<void> {
    this.imageUri = image;
    const name = vscode.workspace.asRelativePath(image, false);
    this.panel.title = vscode.l10n.t('ViT Lens: {0}', image.path.split('/').pop() ?? '');
    if (settings().runModelIn === 'extensionHost') startHostRunner(this.context.extensionUri);
    // Read and instrument the model while the webview starts (and compiles onnxruntime's WASM).
    const loading = Promise.all([loadModel(activeModelUri(this.context.extensionUri)), this.readImage(image)]);
    loading.catch(() => undefined); // reported below, once the panel can show it
    const seq = ++this.visualizeSeq;
    // Where it runs, once the model's size is known. In the host, it runs meanwhile on the host's decode of a JPEG or opaque
    // PNG (runAhead.ts), else its session is created (a failure is reported by the run).
    const placed = loading.then(([model, bytes]) => {
      const place = this.place.place(settings(), model.key, partsSize(modelParts(model)));
      if (place.runIn === 'extensionHost') this.runInHostNow(seq, model, bytes, name);
      else if (!this.pageReady) this.sendAhead(model);
      return place;
    });
    placed.catch(() => undefined);
    // A page written for the host (no WebGPU CSP) whose model now runs here, on a machine with a GPU.
    if (this.pageReady && this.wantsWebgpuPage()) {
      this.webgpuEnabled = true;
      this.newPage();
    }
    // With the model in the host the page's 'ready' decides nothing (it keeps no copy and needs no WebGPU reload): the
    // message goes as soon as the image is read, a round trip sooner (src/shared/earlyVisualize.ts).
    const inPage = await placed.then((p) => p.runIn === 'webview', () => true);
    if (inPage) await this.ready;
    if (this.imageUri !== image) return;
    if (inPage && this.pageWaitsForWarmUp) {
      this.pageWaitsForWarmUp = false;
      this.post({ type: 'warmUp', backend: settings().backend });
    }
    this.post({ type: 'loading', text: vscode.l10n.t('Loading model and {0}…', name) });
    await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: vscode.l10n.t('ViT Lens: {0}', image.path.split('/').pop() ?? '') }, async (progress) => {
      try {
        progress.report({ message: vscode.l10n.t('reading the model and the image…') });
        const [model, bytes] = await loading;
        if (this.imageUri !== image) return;
        // Refuse non-images and images too large to decode before they reach the webview.
        const header = readImageHeader(bytes, name);
        checkImageSize(header, name, settings().maxImageMegapixels);
        // Bytes, output patch, external weights and drawn parameters travel once per model (the webview keeps them
        // by key); the bytes not even then when the webview keeps a copy from an earlier panel.
        const first = this.sentModelKey !== model.key;
        const { runIn, handOver } = await placed;
        // Run in the host: the bytes stay here, and cross only if a view that rewrites the graph asks for them.
        // Bytes sent ahead serve this first visualize of theirs only: after it, sentModelKey says what the page holds.
        const ahead = this.aheadKey === model.key;
        this.aheadKey = undefined;
        const sendBytes = first && runIn === 'webview' && !ahead && !(settings().modelCacheMB > 0 && model.bytesId && this.webviewKeeps.has(model.bytesId));
        this.sentModelKey = model.key;
        this.model = model;
        progress.report({ message: vscode.l10n.t('running {0}…', model.card.name) });
        const outcome = this.nextOutcome();
        if (sendBytes) this.bytesSent = { key: model.key, at: Date.now(), bytes: model.bytes.byteLength };
        else if (!ahead) this.bytesSent = undefined;
        // In the host, the output patch and external weights stay here with the bytes (a 'modelBytes' request brings
        // them). The drawn parameters (3 MB for ViT-B) follow the message: only the ideas, drawn after the run, need them.
        // A start in the host sends them too: the page runs the model itself once it has drawn (the bytes it may keep).
        const withGraph = first && (runIn === 'webview' || handOver) && !ahead;
        const parameters = first ? model.parameters : undefined;
        const msg = {
          type: 'visualize',
          seq,
          runAhead: runIn === 'extensionHost' && this.runAhead.has(seq),
          handOver,
          backend: settings().backend,
          timeoutMs: settings().inferenceTimeoutSeconds * 1000,
          model: { ...model, bytes: sendBytes ? model.bytes : undefined, graphPatch: withGraph ? model.graphPatch : undefined, externalData: withGraph ? model.externalData : undefined, parameters: undefined },
          modelCacheBytes: Math.max(0, settings().modelCacheMB) * 2 ** 20,
          runIn,
          image: { name, uri: image.toString(), bytes, mime: header.mime },
          parametersFollow: !!parameters,
        } satisfies HostToWebview;
        this.post(msg);
        if (parameters) this.post({ type: 'parameters', modelKey: model.key, parameters });
        this.early.posted(msg, parameters, this.pageReady);
        await outcome;
      } catch (e) {
        const error = toErrorInfo(e);
        this.post({ type: 'showError', error, image: name });
        this.notifyError(error);
      }
    });
  }

  /**
   * A small model's bytes go to a new panel's page that is still starting (in code-server about 1.2 s, most of it VS
   * Code's service worker): VS Code holds them until the page has loaded, so they cross meanwhile instead of after
   * 'ready', and the page creates the session while the image is decoded. Not a large model: the page may keep a copy of it,
   * which it reads in a fraction of the crossing (it says which in 'ready'). A message lost before the page listened
   * costs nothing more than today: the page finds no bytes and asks for them ('modelBytes').
   */
  private sendAhead(model: PreparedModel): void {
    if (!aPageHasLoaded || this.pageReady || this.sentModelKey === model.key || partsSize(modelParts(model)) > AHEAD_MAX_BYTES || settings().runModelIn !== 'webview') return;
    this.aheadKey = model.key;
    this.bytesSent = { key: model.key, at: Date.now(), bytes: model.bytes.byteLength, ahead: true };
    this.post({ type: 'modelAhead', modelKey: model.key, bytes: model.bytes, graphPatch: model.graphPatch, externalData: model.externalData, backend: settings().backend });
  }

  /**
   * Runs the model on the host's own decode of the image when it decodes it as the page will (a JPEG, an opaque PNG), without
   * waiting for the page; else creates the model's session and warms it up, for the page's run.
   */
  private runInHostNow(seq: number, model: PreparedModel, bytes: Uint8Array, name: string): void {
    const extensionUri = this.context.extensionUri;
    let ahead = false;
    try {
      const header = readImageHeader(bytes, name);
      checkImageSize(header, name, settings().maxImageMegapixels);
      const wasm = vscode.Uri.joinPath(extensionUri, 'dist', 'mozjpeg_dec.wasm').fsPath;
      ahead = this.runAhead.start(seq, model, bytes, header, wasm, (r) => runInHost(extensionUri, model, { ...r, timeoutMs: settings().inferenceTimeoutSeconds * 1000 }));
    } catch {
      // Not an image, or too large: the visualize reports it.
    }
    if (!ahead) void prepareInHost(extensionUri, model).catch(() => undefined);
  }

  /** Resolves when the webview reports the next run's outcome (or the panel closes). */
  private nextOutcome(): Promise<void> {
    return new Promise((resolve) => {
      const done = () => { sub.dispose(); closed.dispose(); resolve(); };
      const sub = this.panel.webview.onDidReceiveMessage((m: WebviewToHost) => { if (m.type === 'rendered' || m.type === 'failed') done(); });
      const closed = this.panel.onDidDispose(done);
    });
  }

  private async readImage(uri: vscode.Uri): Promise<Uint8Array> {
    try {
      return plainBytes(await vscode.workspace.fs.readFile(uri));
    } catch {
      throw new ImageError(vscode.l10n.t('The image {0} does not exist or cannot be read.', uri.fsPath || uri.toString()));
    }
  }

  /** An error notification whose button fixes what went wrong: another image for image errors, else another model. */
  private notifyError(error: ErrorInfo): void {
    const [action, command] = error.kind === 'image' ? [vscode.l10n.t('Choose an Image…'), 'vitLens.visualizeImage'] : error.kind === 'inference' ? [vscode.l10n.t('Retry'), ''] : [vscode.l10n.t('Select Model…'), 'vitLens.selectModel'];
    const text = error.hint ? vscode.l10n.t('ViT Lens: {0} {1}', error.message, error.hint) : vscode.l10n.t('ViT Lens: {0}', error.message);
    void vscode.window.showErrorMessage(text, action).then((c) => {
      if (c !== action) return;
      if (command) void vscode.commands.executeCommand(command);
      else if (this.image) void this.visualize(this.image);
    });
  }

  private onMessage(m: WebviewToHost): void {
    switch (m.type) {
      case 'ready': {
        aPageHasLoaded = true;
        this.webviewKeeps = new Set(m.cachedModels ?? []);
        this.gpuAdapter = !!m.gpuAdapter;
        if (this.wantsWebgpuPage()) {
          // Reload with the CSP the WebGPU build needs; the run waits for the next 'ready'.
          this.webgpuEnabled = true;
          this.setHtml();
          return;
        }
        const lost = this.early.ready(m.seen);
        if (lost) this.post(lost);
        this.markReady();
        break;
      }
      case 'received': {
        const sent = this.bytesSent;
        this.bytesSent = undefined;
        if (sent?.key !== m.modelKey) break;
        // Bytes sent ahead waited for the page to load: only the wait after its 'ready' was the crossing's (none when
        // they arrived before it).
        if (!sent.ahead) void offerHostRunner(this.context, Date.now() - sent.at, sent.bytes);
        else if (this.pageReady) void offerHostRunner(this.context, Date.now() - Math.max(sent.at, this.readyAt), sent.bytes);
        break;
      }
      case 'pageSession':
        this.place.pageSession(m.modelKey);
        break;
      case 'rendered':
        this.lastSummary = m.summary;
        this.onRenderedEmitter.fire(m.summary);
        break;
      case 'failed':
        // The webview keeps the model's bytes after a failed run (a bad image, a timeout): nothing to resend.
        this.notifyError(m.error);
        break;
      case 'viewState':
        VisualizePanel.viewStateEmitter.fire({ view: m.view, info: m.info });
        break;
      case 'request':
        void this.answer(m.id, m.request);
        break;
      case 'measured':
        this.measures.settle(m.id, m.ok, m.ok ? m.value : m.error);
        break;
    }
  }

  /** Mean attention distances of the panel's model on another image (not shown in the panel). */
  async measureDistances(uri: vscode.Uri): Promise<{ modelKey: string; distances: number[][] }> {
    const bytes = await this.readImage(uri);
    const name = vscode.workspace.asRelativePath(uri, false);
    const header = readImageHeader(bytes, name);
    checkImageSize(header, name, settings().maxImageMegapixels);
    return this.measures.request({ name, uri: uri.toString(), bytes, mime: header.mime });
  }

  showFolderDistance(result: FolderDistance): void {
    this.post({ type: 'folderDistance', result });
  }

  /** A toolbar action from the Command Palette or a keybinding; the webview runs it as its own controls do. */
  runAction(action: PanelAction): void {
    this.post({ type: 'panelAction', action });
  }

  /** A change made in the sidebar. */
  applyView(view: Partial<ViewState>): void {
    this.post({ type: 'applyView', view });
  }

  private async answer(id: number, r: WebviewRequest): Promise<void> {
    try {
      let value: unknown = null;
      if (r.kind === 'selectModel') await vscode.commands.executeCommand('vitLens.selectModel');
      else if (r.kind === 'openSettings') await vscode.commands.executeCommand('workbench.action.openSettings', 'vitLens');
      else if (r.kind === 'distanceOverFolder') await vscode.commands.executeCommand('vitLens.attentionDistanceOverFolder');
      else if (r.kind === 'modelBytes') {
        if (this.model?.key !== r.modelKey) throw new Error(vscode.l10n.t('The panel has moved on to another model.'));
        value = { bytes: this.model.bytes, graphPatch: this.model.graphPatch, externalData: this.model.externalData } satisfies ModelBytes;
      } else if (r.kind === 'run') {
        if (this.model?.key !== r.modelKey) throw new Error(vscode.l10n.t('The panel has moved on to another model.'));
        const model = this.model;
        const ahead = r.ahead && (await this.runAhead.take(r.ahead.seq, r.modelKey, r.ahead.sha256, r.outputs));
        if (ahead && 'run' in ahead) value = this.heldAttention.firstRows({ ...ahead.run, ranAhead: true }, r.firstRowsOnly);
        else if (!r.input) value = ahead ?? ({ differs: 'none' } satisfies AheadMissed);
        else value = this.heldAttention.firstRows(await runInHost(this.context.extensionUri, model, { ...r, input: r.input }), r.firstRowsOnly);
      } else if (r.kind === 'runRest') {
        value = this.heldAttention.rest(r.runId);
      } else if (r.kind === 'attentionDistance') {
        value = await this.heldAttention.distances(r.runId, r.names, r.grid, r.prefix, r.patchSize);
      } else if (r.kind === 'clipboard') {
        await vscode.env.clipboard.writeText(r.text);
        void vscode.window.showInformationMessage(vscode.l10n.t('ViT Lens: copied {0} to the clipboard.', r.what));
      } else if (r.kind === 'notify') void vscode.window.showInformationMessage(vscode.l10n.t('ViT Lens: {0}', r.message));
      else value = await this.saveExport(r.format, r.fileName, r.data);
      this.post({ type: 'reply', id, ok: true, value });
    } catch (e) {
      this.post({ type: 'reply', id, ok: false, error: toErrorInfo(e) });
    }
  }

  private async saveExport(format: 'png' | 'json', fileName: string, data: Uint8Array): Promise<string | null> {
    const folder = this.imageUri ? vscode.Uri.joinPath(this.imageUri, '..') : vscode.workspace.workspaceFolders?.[0]?.uri;
    const target = await vscode.window.showSaveDialog({
      title: vscode.l10n.t('ViT Lens: export {0}', format.toUpperCase()),
      defaultUri: folder ? vscode.Uri.joinPath(folder, fileName) : undefined,
      filters: format === 'png' ? { [vscode.l10n.t('PNG image')]: ['png'] } : { JSON: ['json'] },
    });
    if (!target) return null;
    try {
      await vscode.workspace.fs.writeFile(target, data);
    } catch (e) {
      throw new Error(vscode.l10n.t('Could not write {0}: {1}', target.fsPath, (e as Error).message));
    }
    const open = vscode.l10n.t('Open');
    void vscode.window.showInformationMessage(vscode.l10n.t('ViT Lens: saved {0}', vscode.workspace.asRelativePath(target)), open).then((c) => {
      if (c === open) void vscode.commands.executeCommand('vscode.open', target);
    });
    return vscode.workspace.asRelativePath(target);
  }

  dispose(): void {
    this.heldAttention.clear();
    this.runAhead.clear();
    if (VisualizePanel.current === this) {
      VisualizePanel.current = undefined;
      VisualizePanel.viewStateEmitter.fire(undefined);
      void vscode.commands.executeCommand('setContext', 'vitLens.panelOpen', false);
    }
    this.measures.rejectAll({ kind: 'inference', message: vscode.l10n.t('The ViT Lens panel was closed.') });
    this.onRenderedEmitter.dispose();
    this.panel.dispose();
    for (const d of this.disposables.splice(0)) d.dispose();
  }
}
