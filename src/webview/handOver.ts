/**
 * After a start in the extension host (src/host/startInHost.ts): the first heatmap of a new panel came from the host's
 * model thread while this page was starting. Once it and the teaching views are drawn, the page takes the model over:
 * it creates its own session by running the model once on the image on screen (the run that makes later ones fast),
 * checks that its logits are the host's, and says 'pageSession'; the host then runs the model's next images here.
 * A failure only leaves the model in the host. No DOM import: Node tests drive it.
 */

/**
 * How long the panel waits, after its views are drawn, before it takes the model over: creating a session competes
 * for the cores with the host's run of the next image (on 2 cores the bundled ViT-Ti's next image took 0.9-1.5 s
 * instead of 0.6-0.8 s when the take-over started at once). A user who moves on within it gets the host's runs.
 */
export const HAND_OVER_AFTER_MS = 3000;

/**
 * Float rounding (another thread count, WebGPU's kernels) moves logits by far less than 1 % of their range; a run on
 * other pixels or another graph moves them by far more.
 */
export const HAND_OVER_TOLERANCE = 0.01;

export interface HandOverCheck {
  /** The largest absolute difference between the page's logits and the host's. */
  maxDiff: number;
  /** Whether it is within HAND_OVER_TOLERANCE of the host's largest logit (at least 1). */
  agree: boolean;
}

/** How the page's run of the image on screen compares with the host's. */
export function compareLogits(page: ArrayLike<number>, host: ArrayLike<number>): HandOverCheck {
  if (page.length !== host.length || !host.length) return { maxDiff: Infinity, agree: false };
  let maxDiff = 0;
  let scale = 1;
  for (let i = 0; i < page.length; i++) {
    maxDiff = Math.max(maxDiff, Math.abs(page[i] - host[i]));
    scale = Math.max(scale, Math.abs(host[i]));
  }
  return { maxDiff, agree: maxDiff <= HAND_OVER_TOLERANCE * scale };
}

export interface HandOverSteps {
  /** The model's bytes in the page: its kept copy, or from the host. */
  hold(): Promise<void>;
  /** Runs the model in the page's own worker on the image on screen, logits only. */
  runInPage(): Promise<ArrayLike<number>>;
  /** The host's logits for the same image. */
  hostLogits: ArrayLike<number>;
  /** Tells the host the page has its session. */
  done(check: HandOverCheck): void;
}

const inFlight = new Map<string, Promise<HandOverCheck | undefined>>();

/**
 * Takes `modelKey` over once (a second call while it runs waits for the first). Resolves with the check, or undefined
 * when it failed: a page whose run differs from the host's by more than float rounding keeps the model in the host.
 */
export function handOver(modelKey: string, steps: HandOverSteps): Promise<HandOverCheck | undefined> {
  const running = inFlight.get(modelKey);
  if (running) return running;
  const p = (async () => {
    try {
      await steps.hold();
      const check = compareLogits(await steps.runInPage(), steps.hostLogits);
      if (!check.agree) {
        console.warn(`ViT Lens: the panel's logits differ from the extension host's by up to ${check.maxDiff}; the model stays in the extension host`);
        return undefined;
      }
      steps.done(check);
      return check;
    } catch (e) {
      console.warn('ViT Lens: the panel could not take the model over from the extension host; it stays there', e);
      return undefined;
    } finally {
      inFlight.delete(modelKey);
    }
  })();
  inFlight.set(modelKey, p);
  return p;
}
