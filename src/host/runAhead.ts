/**
 * With the model in the extension host, the host decodes a JPEG or an opaque PNG itself (decodeJpeg.ts: the same
 * decoder as the panel's Chromium; decodePng.ts) and runs the model on it at once, instead of waiting about a second
 * for a new panel's page to load, decode the image and send its pixels back. The page still decodes the image, for its
 * own view of it, and asks for this run with the SHA-256 of its model-input pixels: the run is used only when they are
 * the same, bit for bit; else the page sends its own input and the model runs again. No vscode import: Node tests
 * drive it directly.
 */
import { createHash } from 'node:crypto';
import { atImageSize } from '../shared/anySize';
import type { ImageHeader } from '../shared/imageHeader';
import { inputSize } from '../shared/modelCard';
import type { PreparedModel } from '../shared/prepareModel';
import { preprocessRgba, toInputTensor } from '../shared/preprocess';
import { runOutputs, type AheadMissed, type HostRun } from '../shared/protocol';
import { decodeJpeg } from './decodeJpeg';
import { decodePng } from './decodePng';

/**
 * Larger images are left to the page: decoding them whole would hold the host's thread (a JPEG about 7 ms a
 * megapixel; a PNG, unfiltered in JavaScript, about 40-60).
 */
export const AHEAD_MAX_PIXELS = 12e6;
export const AHEAD_MAX_PNG_PIXELS = 4e6;

/** What the host asks the model thread for: the same as the page's 'run' request. */
export interface AheadInput { input: Float32Array; inputName: string; dims: number[]; outputs: string[] }

/** The model-input pixels' SHA-256, hex: how the page and the host compare their decodes. */
export function pixelsSha256(rgba: Uint8Array | Uint8ClampedArray): string {
  return createHash('sha256').update(rgba).digest('hex');
}

/**
 * Whether the host decodes this image as the page will: a JPEG in grey or YCbCr (not CMYK or YCCK), or a PNG of 8 bits
 * or fewer without alpha or tRNS transparency (16-bit PNGs are reduced to 8 bits differently; the page composites
 * transparency on white through its canvas), of a known size. Every other image is decoded by the page only.
 */
export function canRunAhead(header: ImageHeader): boolean {
  const pixels = (header.width ?? 0) * (header.height ?? 0);
  if (!pixels) return false;
  if (header.format === 'jpeg') return (header.components === 1 || header.components === 3) && pixels <= AHEAD_MAX_PIXELS;
  if (header.format === 'png') return !!header.png && header.png.bitDepth <= 8 && [0, 2, 3].includes(header.png.colorType) && !header.png.transparency && pixels <= AHEAD_MAX_PNG_PIXELS;
  return false;
}

/** The model's input from the host's decode, as the page computes it from its own (main.ts, imageInput.ts). */
export async function inputAhead(model: PreparedModel, bytes: Uint8Array, format: ImageHeader['format'], wasmPath: string): Promise<{ sha256: string; request: AheadInput }> {
  const img = format === 'png' ? await decodePng(bytes) : await decodeJpeg(bytes, wasmPath);
  // A model that runs at any size runs at the image's aspect ratio, as the page's atImageSize decides.
  const m = atImageSize(model, img.width, img.height);
  const p = m.card.preprocess;
  const rgba = preprocessRgba(img.rgba, img.width, img.height, p);
  const { height, width } = inputSize(p);
  return { sha256: pixelsSha256(rgba), request: { input: toInputTensor(rgba, p), inputName: m.structure.input.name, dims: [1, m.structure.input.channels, height, width], outputs: runOutputs(m) } };
}

interface Ahead { seq: number; modelKey: string; started: Promise<{ sha256: string; outputs: string[]; result: Promise<HostRun> }> }

/** The panel's latest run ahead, until its page asks for it. */
export class RunAhead {
  private ahead?: Ahead;

  /**
   * Decodes and runs visualize `seq`'s image now. `run` sends an input to the model thread. Returns false, and runs
   * nothing, when the image is not one the host decodes as the page does.
   */
  start(seq: number, model: PreparedModel, bytes: Uint8Array, header: ImageHeader, wasmPath: string, run: (r: AheadInput) => Promise<HostRun>): boolean {
    this.ahead = undefined;
    if (!canRunAhead(header)) return false;
    const started = inputAhead(model, bytes, header.format, wasmPath).then(({ sha256, request }) => {
      const result = run(request);
      result.catch(() => undefined); // the page's request reports it
      return { sha256, outputs: request.outputs, result };
    });
    started.catch(() => undefined);
    this.ahead = { seq, modelKey: model.key, started };
    return true;
  }

  /**
   * The run ahead for the page's request, or why it cannot serve it (the page then sends its own input): another
   * image or model, other outputs, different pixels, or the host's decode failed. Serves one request.
   */
  async take(seq: number, modelKey: string, sha256: string, outputs: readonly string[]): Promise<{ run: HostRun } | AheadMissed> {
    const a = this.ahead;
    if (!a || a.seq !== seq || a.modelKey !== modelKey) return { differs: 'none' };
    this.ahead = undefined;
    let s: Awaited<Ahead['started']>;
    try {
      s = await a.started;
    } catch (e) {
      return { differs: 'decode', detail: e instanceof Error ? e.message : String(e) };
    }
    if (s.sha256 !== sha256) return { differs: 'pixels' };
    if (outputs.some((o) => !s.outputs.includes(o))) return { differs: 'outputs' };
    return { run: await s.result };
  }

  /** Whether visualize `seq`'s image is being run ahead. */
  has(seq: number): boolean {
    return this.ahead?.seq === seq;
  }

  clear(): void {
    this.ahead = undefined;
  }
}
