/**
 * A visualize message posted before the page said 'ready' (the model in the extension host: nothing in 'ready'
 * changes what is sent, so the image goes as soon as it is read). VS Code hands queued messages to a webview's page
 * when it has loaded or 200 ms after its HTML was written, whichever comes first, so such a message can reach the
 * page before its script listens, and be lost. The page's 'ready' says the highest `seq` it has seen; a lost message
 * is posted again, its parameters inline (the 'parameters' message that followed it may be lost too).
 */
import type { HostToWebview } from './protocol';

type Visualize = Extract<HostToWebview, { type: 'visualize' }>;

export class EarlyVisualize {
  private unconfirmed: (Visualize & { seq: number }) | undefined;

  /** `msg` was just posted, its parameters (if any) in a message after it; `pageReady`: the page had said 'ready'. */
  posted(msg: Visualize & { seq: number }, parameters: Visualize['model']['parameters'], pageReady: boolean): void {
    this.unconfirmed = pageReady ? undefined : { ...msg, model: { ...msg.model, parameters: parameters ?? msg.model.parameters }, parametersFollow: false };
  }

  /** The page said 'ready' having seen visualize `seen` (0: none): the message to post again, if it was lost. */
  ready(seen: number | undefined): Visualize | undefined {
    const lost = this.unconfirmed && (seen ?? 0) < this.unconfirmed.seq ? this.unconfirmed : undefined;
    this.unconfirmed = undefined;
    return lost;
  }
}
