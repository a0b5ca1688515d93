/**
 * Swin Transformer structure from the graph: window attention is recognized by the relative-position bias
 * added to QKᵀ (a constant [1, heads, M², M²] once the exporter folds the table lookup), shifted blocks by
 * the attention mask ([1, nW, 1, M², M²]) or, where the exporter computes that mask at run time (torchvision),
 * by the cyclic shift itself (torch.roll exports as Concat of two Slices of one tensor), stages by the width of
 * the Q projection (it doubles at each patch merging).
 */
import { addedScoreConstants, queryProjection, queryProjectionWidth, scoresMatMul } from './attentionGraph';
import { GraphIndex } from './onnx/graphIndex';
import { OnnxNode, OnnxTensor, tensorValues } from './onnx/onnxModel';

export interface SwinBlock {
  stage: number;
  blockInStage: number;
  /** Window side M in tokens. */
  window: number;
  /** Cyclic shift in tokens; 0 for regular windows. */
  shift: number;
  /** Token grid of the stage. */
  grid: number;
  windows: number;
  heads?: number;
  dim?: number;
}

export interface SwinInfo {
  window: number;
  stages: number;
  depths: number[];
  heads: (number | undefined)[];
  dims: (number | undefined)[];
  grids: number[];
  blocks: SwinBlock[];
}

interface WindowSignals { window: number; heads?: number; maskWindows?: number; shift?: number }

function windowSignals(g: GraphIndex, softmax: OnnxNode): WindowSignals | undefined {
  let sig: WindowSignals | undefined;
  let mask: OnnxTensor | undefined;
  for (const c of addedScoreConstants(g, softmax)) {
    const d = c.dims;
    const n = d[d.length - 1];
    const m = Math.round(Math.sqrt(n));
    if (d.length < 2 || d[d.length - 2] !== n || m * m !== n) continue;
    // The mask holds only 0 and a large negative number ([1, nW, 1, N, N] or [nW, N, N]); the bias is [1, h, N, N].
    const lead = d.slice(0, -2).reduce((a, b) => a * b, 1);
    if (isMask(c)) {
      mask = c;
      sig = { ...(sig ?? { window: m }), maskWindows: lead };
    } else {
      sig = { ...(sig ?? {}), window: m, heads: lead };
    }
  }
  if (sig && mask) sig.shift = shiftFromMask(mask, sig.window, sig.maskWindows ?? 1);
  if (sig && !mask) {
    const mm = scoresMatMul(g, softmax.inputs[0]);
    const shift = mm && rollShift(g, mm);
    if (shift) sig.shift = shift;
  }
  return sig;
}

/** Ops that move or pad tokens without mixing them: the roll sits among these between the norm and the Q projection. */
const TOKEN_PLUMBING = new Set(['Reshape', 'Transpose', 'Pad', 'Slice', 'Identity', 'Cast', 'Unsqueeze', 'Squeeze', 'Flatten']);

/**
 * The cyclic shift before window partition: torch.roll(x, -s, dim) exports as Concat(x[s:], x[:s]) along dim,
 * two Slices of one tensor. Walked back from the Q projection's data input through token plumbing only, so
 * the previous block's (reverse) roll is never reached.
 */
function rollShift(g: GraphIndex, scores: OnnxNode): number | undefined {
  let t = queryProjection(g, scores)?.inputs[0];
  for (let i = 0; t && i < 40; i++) {
    const p = g.producer.get(t);
    if (!p) return undefined;
    if (p.opType === 'Concat' && p.inputs.length === 2) {
      const [a, b] = p.inputs.map((x) => g.producer.get(x));
      if (a?.opType !== 'Slice' || b?.opType !== 'Slice' || a.inputs[0] !== b.inputs[0]) return undefined;
      const start = a.inputs[1] ? g.scalar(a.inputs[1]) : undefined;
      const end = b.inputs[2] ? g.scalar(b.inputs[2]) : undefined;
      if (start !== undefined && start === end && start !== 0) return Math.abs(start);
      t = a.inputs[0];
    } else if (TOKEN_PLUMBING.has(p.opType)) {
      t = p.inputs[0];
    } else {
      return undefined;
    }
  }
  return undefined;
}

/** A shift mask holds only 0 and a large negative value. */
function isMask(t: OnnxTensor): boolean {
  if (t.external) return false;
  const v = tensorValues(t);
  return v.length > 0 && v.every((x) => x === 0 || x <= -50) && v.some((x) => x !== 0);
}

/**
 * In the last window, the first row holds tokens of two column regions: those in the first M−s columns
 * and those in the last s. The first masked column in query 0's row gives s.
 */
function shiftFromMask(mask: OnnxTensor, M: number, windows: number): number | undefined {
  if (mask.external) return undefined;
  const v = tensorValues(mask);
  const N = M * M;
  const base = (windows - 1) * N * N;
  for (let c = 1; c < M; c++) if (v[base + c] !== 0) return M - c;
  return undefined;
}

/** Returns Swin info when the attention taps carry window signals, else undefined (a global-attention ViT). */
export function detectSwin(g: GraphIndex, softmaxes: OnnxNode[], patchGrid: number | undefined): SwinInfo | undefined {
  const signals = softmaxes.map((s) => windowSignals(g, s));
  if (!signals.some((s) => s)) return undefined;
  const window = signals.find((s) => s)!.window;
  const widths = softmaxes.map((s) => {
    const mm = scoresMatMul(g, s.inputs[0]);
    return mm ? queryProjectionWidth(g, mm) : undefined;
  });
  const blocks: SwinBlock[] = [];
  let stage = 0;
  let inStage = 0;
  for (let i = 0; i < softmaxes.length; i++) {
    if (i > 0 && widths[i] !== undefined && widths[i - 1] !== undefined && widths[i]! > widths[i - 1]!) {
      stage++;
      inStage = 0;
    }
    const sig = signals[i];
    const grid = sig?.maskWindows ? Math.round(Math.sqrt(sig.maskWindows)) * window : patchGrid ? Math.ceil(patchGrid / 2 ** stage) : window;
    blocks.push({
      stage,
      blockInStage: inStage++,
      window,
      shift: sig?.maskWindows ? (sig.shift ?? Math.floor(window / 2)) : (sig?.shift ?? 0),
      grid,
      windows: (grid / window) ** 2,
      heads: sig?.heads,
      dim: widths[i],
    });
  }
  const stages = stage + 1;
  const perStage = (f: (b: SwinBlock) => number | undefined) => Array.from({ length: stages }, (_, s) => f(blocks.find((b) => b.stage === s)!));
  return {
    window,
    stages,
    depths: perStage((b) => blocks.filter((x) => x.stage === b.stage).length) as number[],
    heads: perStage((b) => b.heads),
    dims: perStage((b) => b.dim),
    grids: perStage((b) => b.grid) as number[],
    blocks,
  };
}
