/**
 * Every message between the extension host, the visualize webview and its inference worker.
 * Discriminated unions in both directions; `request`/`reply` pairs go through `RequestChannel`.
 */
import type { ErrorInfo } from './errors';
import type { L10nBundle } from './l10n';
import type { ModelCard } from './modelCard';
import type { VitStructure } from './vitStructure';

/** The model as the webview needs it. `bytes` is omitted when the webview already holds this `key`. */
export interface ModelPayload {
  key: string;
  fileName: string;
  fileSize: number;
  /** The model file's bytes, as read (sent once per model, unless the webview keeps a copy under `bytesId`). */
  bytes?: Uint8Array;
  /** The file's identity (URI, mtime, size): what the webview keeps a copy of the bytes under. Absent: not kept (external data). */
  bytesId?: string;
  /** ViT Lens's outputs, appended to `bytes` when a session is created (instrumentedBytes); sent with `bytes`. */
  graphPatch?: Uint8Array;
  structure: VitStructure;
  card: ModelCard;
  attentionOutputs: string[];
  logitsOutput: string;
  /** Final token features [1, tokens, width], when found. */
  featureOutput?: string;
  /** 'cls-rows' when the full attention was over the memory budget and only CLS rows are output. */
  attentionMode: 'full' | 'cls-rows';
  /** The budget it was prepared under (vitLens.attentionMemoryBudgetMB), for variants of the model built in the webview. */
  attentionBudgetBytes?: number;
  /** cls-rows only: per layer, token 0's rollout row (mean over heads) and each head's mean attention distance, computed in the graph. */
  rolloutOutputs?: string[];
  distanceOutputs?: string[];
  /** Per block: each token's L2 norm [1, T] of the block's output and that output's shape (float [3]), computed in the graph. */
  tokenNormOutputs?: string[];
  residualShapeOutputs?: string[];
  /** MAP head (SigLIP): the learned probe's attention over all tokens, [heads, 1, tokens] (or [1, 1, tokens] averaged). */
  mapProbeOutput?: string;
  /** Files (relative to the model) holding weights stored as external data. */
  externalDataFiles?: string[];
  /** Learned parameters the teaching views draw: patch-embedding filters [D, 3, P, P], position embedding [T, D]. */
  parameters?: { patchFilters?: { shape: number[]; data: Float32Array }; positionEmbedding?: { tokens: number; width: number; data: Float32Array } };
  /** Their bytes, sent with `bytes`. */
  externalData?: { path: string; data: Uint8Array }[];
}

/** The reply to a 'modelBytes' request. */
export type ModelBytes = Required<Pick<ModelPayload, 'bytes'>> & Pick<ModelPayload, 'graphPatch' | 'externalData'>;

/** Every output a run fetches: logits, attention (or its in-graph summaries), DeiT's two heads, final features. */
export function runOutputs(m: ModelPayload): string[] {
  const d = m.structure.distillation;
  return [m.logitsOutput, ...m.attentionOutputs, ...(m.rolloutOutputs ?? []), ...(m.distanceOutputs ?? []), ...(m.tokenNormOutputs ?? []), ...(m.residualShapeOutputs ?? []), ...(d ? [d.cls, d.dist] : []), ...(m.featureOutput ? [m.featureOutput] : []), ...(m.mapProbeOutput ? [m.mapProbeOutput] : [])];
}

export interface ImagePayload {
  /** Path or URI shown to the user. */
  name: string;
  uri: string;
  bytes: Uint8Array;
  mime: string;
}

export type Backend = 'webgpu' | 'wasm';
export type BackendSetting = 'auto' | 'webgpu' | 'wasm';
/** Where the panel's model runs (vitLens.runModelIn): the webview's worker, or a worker thread of the extension host. */
export type RunModelIn = 'webview' | 'extensionHost';

/** A run of the panel's model in the extension host, as the webview receives it. */
export interface HostRun {
  tensors: WorkerTensor[];
  backend: Backend;
  threads: number;
  inferenceMs: number;
  sessionMs: number;
  /** The session's warm-up run on zeros, when its preparation made one (reported with sessionMs, once). */
  warmUpMs?: number;
  /** Outputs sent as their first rows only (firstRows.ts): the host holds the full tensors for a 'runRest' or 'attentionDistance'. */
  rest?: { runId: number; names: string[] };
  /** The run the host started on its own decode of the image (src/host/runAhead.ts), the page's pixels the same. */
  ranAhead?: boolean;
}

/**
 * The reply to a 'run' request without an input when the host's run ahead cannot serve it, and why: none for this
 * image, the host could not decode it, its pixels differ from the page's, or the page asks for other outputs. The
 * page then sends its input.
 */
export interface AheadMissed { differs: 'none' | 'decode' | 'pixels' | 'outputs'; detail?: string }

export type ViewMode = 'attention' | 'rollout' | 'features';
/** 'mean' | 'max' | 'min' over heads, or a head index as a string ('0', '1', …). */
export type HeadChoice = string;

export interface ViewState {
  mode: ViewMode;
  layer: number;
  head: HeadChoice;
  /** For a selected patch: its attention as the query, or the attention it receives as a key. */
  direction: 'query' | 'key';
  /** Rollout: fraction of the lowest attention dropped per layer. */
  discard: number;
  /** DINO mass threshold (0 = off): outline the smallest patch set holding this fraction of the attention. */
  mass: number;
  cmap: 'inferno' | 'viridis' | 'cividis' | 'gray';
  scale: 'linear' | 'log';
  smooth: boolean;
  showGrid: boolean;
  opacity: number;
  /** Swin: draw the window partition of the selected block. */
  showWindows: boolean;
  selected?: { row: number; col: number };
}

export const DEFAULT_VIEW: ViewState = {
  mode: 'attention', layer: -1, head: 'mean', direction: 'query', discard: 0, mass: 0,
  cmap: 'inferno', scale: 'linear', smooth: false, showGrid: true, opacity: 0.6, showWindows: true,
};

/** What the sidebar inspector shows, computed by the panel (which holds the attention). */
export interface InspectorInfo {
  image: string;
  model: string;
  summary: [string, string][];
  layers: string[];
  heads: number;
  swin: boolean;
  hasFeatures: boolean;
  patch?: {
    row: number;
    col: number;
    token: number;
    /** PNG data URL of the patch's pixels. */
    pixels: string;
    attendsTo: { token: number; label: string; value: number }[];
    attendedBy: { token: number; label: string; value: number }[];
    /** Entropy (nats) of the patch's attention row, per head. */
    entropy: number[];
    /** The selected patch in the class map the "Why this class" card shows. */
    classMap?: { what: string; value: number; rank: number; of: number };
  };
}

export interface Prediction { index: number; label: string; prob: number }

export interface RunSummary {
  image: string;
  model: string;
  backend: Backend;
  threads: number;
  inferenceMs: number;
  sessionMs: number;
  top: Prediction[];
}

/** Mean attention distance per layer and head averaged over a folder of images (ViT paper, Fig. 7 right). */
export interface FolderDistance {
  modelKey: string;
  folder: string;
  images: number;
  skipped: number;
  mean: number[][];
}

/** Host → webview. */
export type HostToWebview =
  /** `modelCacheBytes`: how much the webview may keep of recent models' bytes (vitLens.modelCacheMB; 0 = nothing). */
  /** `runIn`: 'extensionHost' sends no model bytes; the webview asks the host to run the model ('run' requests). */
  /** `parametersFollow`: the model's drawn parameters come in the next message ('parameters'), not needed before the ideas. */
  /** `seq`: increases with each visualize of a panel; the page ignores one it has seen (a copy sent again after 'ready'). */
  /** `runAhead`: the host runs the model on its own decode of the image; the page asks for that run with its pixels' SHA-256. */
  /**
   * `handOver`: the model runs in the host while this new page starts (src/host/startInHost.ts); once it has drawn and
   * is idle, the page creates its own session (with `backend`) and says 'pageSession': the model's later runs are its own.
   */
  | { type: 'visualize'; model: ModelPayload; image: ImagePayload; backend: BackendSetting; timeoutMs?: number; modelCacheBytes?: number; runIn?: RunModelIn; parametersFollow?: boolean; seq?: number; runAhead?: boolean; handOver?: boolean }
  /** The page's model will run in the page: start onnxruntime's WASM now (a page written for a start in the host waits for this). */
  | { type: 'warmUp'; backend: BackendSetting }
  | { type: 'parameters'; modelKey: string; parameters: NonNullable<ModelPayload['parameters']> }
  /** A small model's bytes, sent while the page starts (before its 'ready'); `backend`: the page creates its session now. */
  | ({ type: 'modelAhead'; modelKey: string; backend: BackendSetting } & ModelBytes)
  | { type: 'applyView'; view: Partial<ViewState> }
  | { type: 'showError'; error: ErrorInfo; image?: string }
  | { type: 'loading'; text: string }
  /** Run the panel's model on one more image and reply with its mean attention distances ('measured'). */
  | { type: 'measure'; id: number; image: ImagePayload }
  | { type: 'folderDistance'; result: FolderDistance }
  /** A toolbar action run from the Command Palette or a keybinding (src/host/panelCommands.ts). */
  | { type: 'panelAction'; action: PanelAction }
  | { type: 'reply'; id: number; ok: true; value: unknown }
  | { type: 'reply'; id: number; ok: false; error: ErrorInfo };

/** Webview → host. */
export type WebviewToHost =
  /** `cachedModels`: the bytesIds of the models the webview keeps, whose bytes the host need not send. */
  /** `seen`: the highest visualize `seq` the page has received (0: none). */
  | { type: 'ready'; state?: PersistedState; gpuAdapter: boolean; cachedModels?: string[]; seen?: number }
  /** The visualize message (with the model's bytes, when sent) has arrived: the host times the crossing. */
  | { type: 'received'; modelKey: string }
  | { type: 'rendered'; summary: RunSummary }
  /** After a start in the host ('handOver'): the page has created its own session of `modelKey` and run it once. */
  | { type: 'pageSession'; modelKey: string }
  | { type: 'viewState'; view: ViewState; info: InspectorInfo }
  | { type: 'failed'; error: ErrorInfo }
  | { type: 'request'; id: number; request: WebviewRequest }
  | { type: 'measured'; id: number; ok: true; value: { modelKey: string; distances: number[][] } }
  | { type: 'measured'; id: number; ok: false; error: ErrorInfo };

export type WebviewRequest =
  | { kind: 'selectModel' }
  | { kind: 'openSettings' }
  | { kind: 'distanceOverFolder' }
  /** The model's bytes (ModelBytes), when the webview's kept copy turned out unreadable. */
  | { kind: 'modelBytes'; modelKey: string }
  /** Run the panel's model in the extension host (vitLens.runModelIn); the reply is a HostRun. */
  /** `firstRowsOnly`: attention outputs to send as row 0 first (the first heatmap's), the full tensors on 'runRest'. */
  /**
   * `input` absent: the run the host started ahead for visualize `ahead.seq`, if its pixels have this SHA-256 (else
   * the reply is AheadMissed).
   */
  | { kind: 'run'; modelKey: string; input?: Float32Array; inputName: string; dims: number[]; outputs: string[]; timeoutMs?: number; firstRowsOnly?: string[]; ahead?: { seq: number; sha256: string } }
  /** The full tensors the host held back from run `runId` (HostRun.rest); the reply is WorkerTensor[]. */
  | { kind: 'runRest'; runId: number }
  /**
   * Each head's mean attention distance (px), per layer in `names` order, from the full matrices the host holds for
   * run `runId`: the ideas need it for every image, and it is a few numbers where the matrices are megabytes.
   */
  | { kind: 'attentionDistance'; runId: number; names: string[]; grid: { rows: number; cols: number }; prefix: number; patchSize: number }
  /** Save an export; the reply is the saved path, or null when the user cancelled. */
  | { kind: 'export'; format: 'png' | 'json'; fileName: string; data: Uint8Array }
  /** Put `text` on the clipboard; `what` says what it is, for the confirmation. */
  | { kind: 'clipboard'; text: string; what: string }
  /** An information message (a palette action the panel cannot do now, and why). */
  | { kind: 'notify'; message: string };

/** The panel's actions that also exist as commands: export, copy the values, step through layers and heads. */
export type PanelAction = 'exportPng' | 'exportJson' | 'copyValues' | 'nextLayer' | 'previousLayer' | 'nextHead' | 'previousHead';

/** Command id → panel action (src/host/panelCommands.ts); titles, `when` clauses and keybindings are in package.json. */
export const PANEL_COMMANDS: Readonly<Record<string, PanelAction>> = {
  'vitLens.exportPng': 'exportPng',
  'vitLens.exportJson': 'exportJson',
  'vitLens.copyValuesCsv': 'copyValues',
  'vitLens.nextLayer': 'nextLayer',
  'vitLens.previousLayer': 'previousLayer',
  'vitLens.nextHead': 'nextHead',
  'vitLens.previousHead': 'previousHead',
};

/** Sidebar inspector (webview view) → host. */
export type SidebarToHost =
  | { type: 'ready' }
  | { type: 'setView'; view: Partial<ViewState> }
  | { type: 'command'; command: 'vitLens.visualizeActiveImage' | 'vitLens.selectModel' | 'vitLens.visualizeImage' };

/** Host → sidebar inspector. */
export type HostToSidebar =
  | { type: 'state'; view: ViewState; info: InspectorInfo }
  | { type: 'empty' };

/** What the webview persists with setState so a reload restores the same view. */
export interface PersistedState {
  imageUri?: string;
  view?: ViewState;
}

/** Webview main thread → inference worker. */
export type ToWorker =
  /** The l10n bundle (not sent in English), first, so errors raised in the worker are in the user's language. */
  | { type: 'l10n'; bundle: L10nBundle }
  | { type: 'warmup'; backend: Backend; wasmUrl: string; threads: number }
  /** Create `modelKey`'s session now, before its first run (the host, while the panel starts); no reply: the run reports. */
  | {
    type: 'prepare'; modelKey: string; modelBytes: Uint8Array; externalData?: { path: string; data: Uint8Array }[]; backend: Backend; wasmUrl: string; threads: number;
    /** Run the new session once on zeros of this shape: a session's first run is 3–4× slower than the next. */
    warmUp?: { inputName: string; dims: number[] };
  }
  | {
    type: 'run'; id: number; modelKey: string; modelBytes?: Uint8Array; externalData?: { path: string; data: Uint8Array }[]; input: Float32Array; inputName: string; dims: number[]; outputs: string[]; backend: Backend; wasmUrl: string; threads: number;
    /** Inputs besides the image (the gradient model's class seed). */
    extraFeeds?: WorkerFeed[];
    /** Keep this session beside `companionOf`'s instead of replacing it (a model's gradient session beside the model's own). */
    companionOf?: string;
  };

/** A float32 input fed by name. */
export interface WorkerFeed { name: string; data: Float32Array; dims: number[] }

export interface WorkerTensor {
  name: string;
  dims: number[];
  data: Float32Array;
  /** Set on an attention output sent as its first row only: the full tensor's dims, still held by the host. */
  fullDims?: number[];
}

/** Inference worker → webview main thread. */
export type FromWorker =
  | { type: 'result'; id: number; tensors: WorkerTensor[]; backend: Backend; threads: number; inferenceMs: number; sessionMs: number; warmUpMs?: number; fellBack?: string }
  | { type: 'error'; id: number; error: ErrorInfo }
  | { type: 'progress'; id: number; text: string };

/** One outstanding-request table for a postMessage channel. */
export class RequestChannel<Req, Reply = unknown> {
  private next = 1;
  private pending = new Map<number, { resolve: (v: Reply) => void; reject: (e: ErrorInfo) => void }>();

  constructor(private readonly post: (id: number, request: Req) => void) {}

  request(req: Req): Promise<Reply> {
    const id = this.next++;
    return new Promise<Reply>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.post(id, req);
    });
  }

  /** Settles the request `id`; returns false when it was not pending. */
  settle(id: number, ok: boolean, value: unknown): boolean {
    const p = this.pending.get(id);
    if (!p) return false;
    this.pending.delete(id);
    if (ok) p.resolve(value as Reply);
    else p.reject(value as ErrorInfo);
    return true;
  }

  rejectAll(error: ErrorInfo): void {
    for (const p of this.pending.values()) p.reject(error);
    this.pending.clear();
  }
}
