/**
 * With the model in the panel (vitLens.runModelIn = "webview"), a new panel's page takes about 1.2 s to start in
 * code-server, then compiles onnxruntime's WASM and creates its session: the bundled ViT-Ti's first heatmap came
 * 3.4-4.1 s after the click. Meanwhile the extension host can already run the model (runAhead.ts). So while a new
 * page starts, a small model runs in the host's model thread (vitLens.startInExtensionHost), and the page, once it has
 * drawn that first heatmap and seen no other image for 3 s, creates its own session and says so ('pageSession'); from
 * then on the model runs in the panel as the setting says. No vscode import: Node tests drive it directly.
 */
import type { BackendSetting, RunModelIn } from '../shared/protocol';

/** Models up to this size start in the host: both places then hold a session of it for a while. */
export const START_IN_HOST_MAX_BYTES = 32 * 2 ** 20;

export interface PlaceSettings {
  runModelIn: RunModelIn;
  startInExtensionHost: boolean;
  /** vitLens.backend: 'webgpu' asks for the GPU from the first run, so nothing starts in the host (WASM) then. */
  backend: BackendSetting;
}

/** Where one panel's visualizes run, its page's start handed over to the host. */
export class StartInHost {
  /** The model the host runs for this page until the page has its own session of it. */
  private bridged: string | undefined;
  /** Models the page said it holds a session of ('pageSession'), since it was written. */
  private pageSessions = new Set<string>();
  /** Whether a run has gone to the page's own worker since it was written (the page is no longer starting). */
  private pageRan = false;

  /** A page written anew holds no session and has run nothing. */
  newPage(): void {
    this.pageSessions.clear();
    this.pageRan = false;
  }

  /**
   * Where `modelKey`'s next run goes. In the host when the setting says so; else in the host when the page is new (or
   * still creating its session of a model the host started), the model is small and WebGPU is not asked for by name;
   * else in the page.
   */
  place(s: PlaceSettings, modelKey: string, bytes: number): { runIn: RunModelIn; handOver: boolean } {
    if (s.runModelIn === 'extensionHost') return { runIn: 'extensionHost', handOver: false };
    const starting = !this.pageRan || this.bridged === modelKey;
    const handOver = s.startInExtensionHost && s.backend !== 'webgpu' && starting && !this.pageSessions.has(modelKey) && bytes <= START_IN_HOST_MAX_BYTES;
    this.bridged = handOver ? modelKey : undefined;
    if (!handOver) this.pageRan = true;
    return { runIn: handOver ? 'extensionHost' : 'webview', handOver };
  }

  /** The page created its own session of `modelKey`: its next runs are its own. */
  pageSession(modelKey: string): void {
    this.pageSessions.add(modelKey);
    if (this.bridged === modelKey) this.bridged = undefined;
  }
}
