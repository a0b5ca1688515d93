/**
 * Swin Transformer structure from the graph: window attention is recognized by the relative-position bias
 * added to QKᵀ (a constant [1, heads, M², M²] once the exporter folds the table lookup), shifted blocks by
 * the attention mask ([1, nW, 1, M², M²]) or, where the exporter computes that mask at run time (torchvision),
 * by the cyclic shift itself (torch.roll exports as Concat of two Slices of one tensor), stages by the width of
 * the Q projection (it doubles at each patch merging).
 *
 * Swin V2 scores are cosine similarities, normalize(q)·normalize(k)ᵀ, times a learned per-head temperature
 * exp(clamp(logit_scale)) ([heads, 1, 1]), plus 16·sigmoid of a continuous-position-bias MLP's table. Exporters
 * that do not fold MatMul leave that MLP running in the graph, so the bias is computed (input-free) rather than
 * a constant: heads then come from the MLP's output width or the temperature's shape, the window from the
 * relative-position index the table is gathered with.
 */
import { addedScoreConstants, dataFlow, queryProjection, queryProjectionWidth, scoresMatMul } from './attentionGraph';
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
  /** Swin V2: scores are cosine similarities of L2-normalized q and k times a learned per-head temperature. */
  cosine?: boolean;
}

export interface SwinInfo {
  window: number;
  stages: number;
  depths: number[];
  heads: (number | undefined)[];
  dims: (number | undefined)[];
  grids: number[];
  blocks: SwinBlock[];
  /** Every block uses cosine attention with a learned temperature (Swin V2). */
  cosine?: boolean;
}

interface WindowSignals { window: number; heads?: number; maskWindows?: number; shift?: number }

function windowSignals(g: GraphIndex, softmax: OnnxNode): WindowSignals | undefined {
  let sig: WindowSignals | undefined;
  let mask: OnnxTensor | undefined;
  const v2 = runtimeBias(g, softmax);
  if (v2) sig = { window: v2.window, heads: v2.heads };
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

/** The score-side nodes between QKᵀ and the Softmax (scale, bias and mask adds, window reshapes). */
function scoreChain(g: GraphIndex, softmax: OnnxNode): OnnxNode[] {
  const stop = scoresMatMul(g, softmax.inputs[0]);
  const flow = dataFlow(g);
  const chain: OnnxNode[] = [];
  let p = g.producer.get(softmax.inputs[0]);
  for (let i = 0; p && p !== stop && i < 10; i++) {
    chain.push(p);
    const next = p.inputs.find((x) => x && flow.has(x));
    p = next ? g.producer.get(next) : undefined;
  }
  return chain;
}

/** Ops a run-time bias table passes after the CPB MLP: reshapes, the gather by relative-position index, 16·sigmoid. */
const TABLE_OPS = new Set(['Reshape', 'Transpose', 'Unsqueeze', 'Squeeze', 'Gather', 'Sigmoid', 'Mul', 'Identity', 'Cast', 'Flatten']);

/**
 * A relative-position bias computed at run time (Swin V2's CPB MLP): an input-free, non-constant term added to the
 * scores. Walking back along it, the Gather by the relative-position index gives N² (N = M² tokens per window)
 * and the MLP's last MatMul the heads (its output width).
 */
function runtimeBias(g: GraphIndex, softmax: OnnxNode): { window: number; heads?: number } | undefined {
  const flow = dataFlow(g);
  for (const n of scoreChain(g, softmax)) {
    if (n.opType !== 'Add') continue;
    for (const inp of n.inputs) {
      if (!inp || flow.has(inp) || g.isConstant(inp)) continue;
      let window: number | undefined;
      let t = inp;
      for (let i = 0; i < 16; i++) {
        const p = g.producer.get(t);
        if (!p) break;
        if ((p.opType === 'MatMul' || p.opType === 'Gemm') && window) {
          const w = weightOf(g, p.inputs[1]);
          const heads = w && (p.opType === 'Gemm' && p.attributes.get('transB')?.i ? w[0] : w[1]);
          return { window, heads };
        }
        if (!TABLE_OPS.has(p.opType)) break;
        if (p.opType === 'Gather' && p.inputs[1]) {
          const idx = constantThroughReshape(g, p.inputs[1]);
          const count = idx?.dims.reduce((a, b) => a * b, 1) ?? 0;
          const m = Math.round(Math.sqrt(Math.sqrt(count)));
          if (m > 1 && m ** 4 === count) window = m;
        }
        const next = p.inputs.find((x) => x && !g.isConstant(x));
        if (!next) break;
        t = next;
      }
      if (window) return { window };
    }
  }
  return undefined;
}

/** A 2-D weight's dims, as stored or behind a Transpose (exports without constant folding). */
function weightOf(g: GraphIndex, name: string): number[] | undefined {
  const c = g.constant(name);
  if (c) return c.dims.length === 2 ? c.dims : undefined;
  const p = g.producer.get(name);
  const w = p?.opType === 'Transpose' ? g.constant(p.inputs[0]) : undefined;
  return w?.dims.length === 2 ? [w.dims[1], w.dims[0]] : undefined;
}

/** A constant seen through reshapes (an index table flattened at run time). */
function constantThroughReshape(g: GraphIndex, name: string): OnnxTensor | undefined {
  let t = name;
  for (let i = 0; i < 4; i++) {
    const c = g.constant(t);
    if (c) return c;
    const p = g.producer.get(t);
    if (!p || !['Reshape', 'Flatten', 'Squeeze', 'Unsqueeze'].includes(p.opType)) return undefined;
    t = p.inputs[0];
  }
  return undefined;
}

/** Ops between exp(clamp(logit_scale)) and the parameter: the clamp, the exp, dtype plumbing. */
const TEMPERATURE_OPS = new Set(['Exp', 'Clip', 'Min', 'Identity', 'Cast']);

/**
 * Cosine attention (Swin V2): QKᵀ's inputs are both L2-normalized (q / max(‖q‖, ε), or LpNormalization), and the
 * scores are multiplied by a per-head temperature: a [heads, 1, 1] tensor, constant or exp(clamp(·)) of one.
 * Returns the heads that temperature gives (0 when its shape is unread), or undefined for dot-product attention.
 */
function cosineTemperature(g: GraphIndex, softmax: OnnxNode): number | undefined {
  const scores = scoresMatMul(g, softmax.inputs[0]);
  if (!scores || !scores.inputs.every((x) => l2Normalized(g, x))) return undefined;
  const flow = dataFlow(g);
  for (const n of scoreChain(g, softmax)) {
    if (n.opType !== 'Mul' && n.opType !== 'Div') continue;
    for (const inp of n.inputs) {
      if (!inp || flow.has(inp)) continue;
      let t = inp;
      for (let i = 0; i < 6; i++) {
        const c = g.constant(t);
        if (c) {
          const d = c.dims;
          return d.length >= 3 && d[d.length - 1] === 1 && d[d.length - 2] === 1 ? d[d.length - 3] : 0;
        }
        const p = g.producer.get(t);
        if (!p || !TEMPERATURE_OPS.has(p.opType)) break;
        t = p.inputs[0];
      }
    }
    return 0;
  }
  return undefined;
}

/** q / ‖q‖₂ (F.normalize: Div by an Expand/Clip/Max of ReduceL2), or LpNormalization, behind plumbing (Kᵀ). */
function l2Normalized(g: GraphIndex, t: string): boolean {
  for (let i = 0; i < 4; i++) {
    const p = g.producer.get(t);
    if (!p) return false;
    if (p.opType === 'LpNormalization') return (p.attributes.get('p')?.i ?? 2) === 2;
    if (p.opType === 'Div') {
      let d = p.inputs[1];
      for (let j = 0; j < 4; j++) {
        const q = g.producer.get(d);
        if (!q) return false;
        if (q.opType === 'ReduceL2') return true;
        if (!['Expand', 'Clip', 'Max', 'Cast'].includes(q.opType)) return false;
        d = q.inputs[0];
      }
      return false;
    }
    if (!['Transpose', 'Reshape', 'Identity', 'Cast'].includes(p.opType)) return false;
    t = p.inputs[0];
  }
  return false;
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
  const temperatures = softmaxes.map((s) => cosineTemperature(g, s));
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
      // The bias (constant or CPB MLP) gives heads; else Swin V2's [heads, 1, 1] temperature does.
      heads: sig?.heads ?? (temperatures[i] || undefined),
      dim: widths[i],
      ...(temperatures[i] !== undefined ? { cosine: true } : {}),
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
    ...(blocks.every((b) => b.cosine) ? { cosine: true } : {}),
  };
}
