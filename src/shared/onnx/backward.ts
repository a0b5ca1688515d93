/**
 * Reverse-mode differentiation as ONNX nodes. onnxruntime (web) has no autograd, so the vector-Jacobian products
 * of every op between some target tensors and the logits are appended to the forward graph (as a GraphPatch:
 * the weights are never re-encoded). A graph input, the seed, carries dL/dlogits: a one-hot picks the class, so
 * one session serves every class. Shapes are static (read once by a probing run, see probeOutputs), so every
 * broadcast axis, slice offset and reshape target is a constant here.
 */
import { Writer } from 'protobufjs/minimal';
import { VitLensError } from '../errors';
import { encodeGraphPatch, GraphPatch, PatchAttribute } from '../instrumentAttention';
import { t } from '../l10n';
import { GraphIndex } from './graphIndex';
import { OnnxModel, OnnxNode, opsetVersion, TensorDataType, tensorValues } from './onnxModel';

/** An op between the targets and the logits that has no gradient rule (quantized matmuls, fused attention, …). */
export class NoGradientError extends VitLensError {
  constructor(public readonly ops: { opType: string; node: string }[]) {
    super('inference', t`No gradient through ${ops.map((o) => t`${o.opType} (node "${o.node}")`).join(', ')}: gradient views are not available for this model.`, t('Occlusion works without gradients: use it instead.'));
  }
  get opType(): string {
    return this.ops[0].opType;
  }
}

export interface BackwardSpec {
  /** The tensor whose weighted sum (by the seed) is differentiated. */
  logits: string;
  /** Tensors to get gradients for. */
  targets: string[];
  /** Name of the seed input added to the graph (dL/dlogits, the logits' shape). */
  seedInput?: string;
}

/** The static facts the backward graph needs, read by one forward run (probeOutputs). */
export interface ProbeResult {
  shapes: Map<string, number[]>;
  /** Values of the integer inputs that steer an op (Slice starts/ends, Gather indices, Split sizes, reduce axes). */
  values: Map<string, number[]>;
}

export interface BackwardPlan {
  /** Nodes on a path from a target to the logits, in graph order. */
  path: OnnxNode[];
  /** Tensors whose static shape the backward graph uses. */
  shapeTensors: string[];
  /** Integer tensors whose values the backward graph uses and that are not constants of the graph. */
  valueTensors: string[];
  /** Tensors that receive a gradient: descendants of a target that reach the logits (weights and constants never do). */
  gradTensors: string[];
}

export const DEFAULT_SEED = 'vitlens_class_seed';
export const gradName = (target: string): string => `${target}/vitlens_grad`;

/** Ops whose outputs carry no gradient (shape arithmetic, comparisons, rounding). */
const NON_DIFFERENTIABLE = new Set(['Shape', 'Size', 'Equal', 'Greater', 'Less', 'GreaterOrEqual', 'LessOrEqual', 'Not', 'And', 'Or', 'Xor', 'ConstantOfShape', 'NonZero', 'Range', 'ArgMax', 'ArgMin', 'Constant', 'IsNaN', 'IsInf', 'Floor', 'Ceil', 'Round', 'Sign', 'EyeLike', 'RandomNormalLike', 'RandomUniformLike', 'Bernoulli']);
const FLOAT_TYPES = new Set([TensorDataType.FLOAT, TensorDataType.FLOAT16, TensorDataType.DOUBLE, 16]);

/** Input positions a gradient flows into; the others are shapes, indices or conditions. */
function differentiableInputs(n: OnnxNode): number[] {
  switch (n.opType) {
    case 'Reshape': case 'Expand': case 'Slice': case 'Gather': case 'Squeeze': case 'Unsqueeze': case 'Split': case 'Pad': case 'Tile':
    case 'ReduceMean': case 'ReduceSum': case 'Dropout': case 'Flatten': case 'Transpose': case 'Identity':
      return [0];
    case 'Where': return [1, 2];
    case 'Cast': return FLOAT_TYPES.has(n.attributes.get('to')?.i ?? 0) ? [0] : [];
    default: return n.inputs.map((_, i) => i);
  }
}

/** Outputs that carry a gradient (Dropout's mask and a normalization's saved statistics do not). */
function differentiableOutputs(n: OnnxNode): string[] {
  const single = n.opType === 'Dropout' || n.opType === 'LayerNormalization' || n.opType === 'BatchNormalization';
  return (single ? n.outputs.slice(0, 1) : n.outputs).filter(Boolean);
}

/** Values a rule reads from a steering input: [op, input positions]. */
const VALUE_INPUTS: Record<string, number[]> = { Slice: [1, 2, 3, 4], Gather: [1], Split: [1], ReduceMean: [1], ReduceSum: [1], Pad: [1, 3] };

/**
 * The nodes on a path from some target to the logits, and what the backward graph needs to know about them.
 * Throws NoGradientError naming every op on that path without a rule.
 */
export function planBackward(model: OnnxModel, spec: BackwardSpec): BackwardPlan {
  const graph = model.graph;
  const g = new GraphIndex(graph);
  const active = new Set(spec.targets);
  for (const n of graph.nodes) {
    if (NON_DIFFERENTIABLE.has(n.opType)) continue;
    if (differentiableInputs(n).some((i) => active.has(n.inputs[i]))) for (const o of differentiableOutputs(n)) active.add(o);
  }
  const needed = new Set([spec.logits]);
  const path: OnnxNode[] = [];
  for (let k = graph.nodes.length - 1; k >= 0; k--) {
    const n = graph.nodes[k];
    if (NON_DIFFERENTIABLE.has(n.opType)) continue;
    if (!differentiableOutputs(n).some((o) => needed.has(o) && active.has(o))) continue;
    const ins = differentiableInputs(n).filter((i) => active.has(n.inputs[i]));
    if (!ins.length) continue;
    path.push(n);
    for (const i of ins) needed.add(n.inputs[i]);
  }
  path.reverse();
  const missing = path.filter((n) => n.domain !== '' || !RULES[n.opType]);
  if (missing.length) {
    const seen = new Set<string>();
    throw new NoGradientError(missing.filter((n) => !seen.has(n.opType) && !!seen.add(n.opType)).map((n) => ({ opType: n.domain ? `${n.domain}.${n.opType}` : n.opType, node: n.name })));
  }
  const shapeTensors = new Set<string>([spec.logits, ...spec.targets]);
  const valueTensors = new Set<string>();
  for (const n of path) {
    for (const t of [...n.inputs, ...n.outputs]) if (t) shapeTensors.add(t);
    for (const i of VALUE_INPUTS[n.opType] ?? []) {
      const t = n.inputs[i];
      if (t && !g.constant(t)) valueTensors.add(t);
    }
  }
  const gradTensors = [...needed].filter((t) => active.has(t));
  return { path, shapeTensors: [...shapeTensors], valueTensors: [...valueTensors], gradTensors };
}

/** Probe outputs: a Shape node per shape tensor, an Identity per value tensor (int64 outputs). */
export function probePatch(plan: BackwardPlan): { patch: GraphPatch; shapeOutputs: Map<string, string>; valueOutputs: Map<string, string> } {
  const patch: GraphPatch = { nodes: [], initializers: [], outputs: [] };
  const shapeOutputs = new Map<string, string>();
  const valueOutputs = new Map<string, string>();
  for (const t of plan.shapeTensors) {
    const o = `${t}/vitlens_shape`;
    patch.nodes.push({ opType: 'Shape', domain: '', inputs: [t], outputs: [o], attributes: [] });
    patch.outputs.push({ name: o, elemType: TensorDataType.INT64 });
    shapeOutputs.set(t, o);
  }
  for (const t of plan.valueTensors) {
    const o = `${t}/vitlens_value`;
    patch.nodes.push({ opType: 'Identity', domain: '', inputs: [t], outputs: [o], attributes: [] });
    patch.outputs.push({ name: o, elemType: TensorDataType.INT64 });
    valueOutputs.set(t, o);
  }
  return { patch, shapeOutputs, valueOutputs };
}

export interface BackwardGraph {
  /** Bytes to append to the model (after any other patch): backward nodes, seed input, gradient outputs. */
  graphPatch: Uint8Array;
  seedInput: string;
  seedDims: number[];
  /** `gradName(target)` per target, in the targets' order. */
  gradOutputs: string[];
}

/** Appends the backward graph of `plan` (see planBackward) given the probed shapes and values. */
export function buildBackward(model: OnnxModel, spec: BackwardSpec, plan: BackwardPlan, probe: ProbeResult, extraOutputs: string[] = []): BackwardGraph {
  const b = new Builder(model, probe);
  const receives = new Set(plan.gradTensors);
  const seedInput = spec.seedInput ?? DEFAULT_SEED;
  const seedDims = b.shape(spec.logits);
  b.accumulate(spec.logits, seedInput, seedDims);
  for (let k = plan.path.length - 1; k >= 0; k--) {
    const n = plan.path[k];
    const outs = differentiableOutputs(n);
    const gys = outs.map((o) => b.gradient(o));
    if (gys.every((x) => x === undefined)) continue;
    const active = new Set(differentiableInputs(n).filter((i) => receives.has(n.inputs[i])));
    RULES[n.opType]({
      n, b, gys,
      gy: gys[0] ?? b.zeros(b.shape(outs[0])),
      want: (i) => active.has(i),
      give: (i, name, shape) => { if (active.has(i)) b.accumulate(n.inputs[i], name, shape ?? b.shape(n.inputs[i])); },
    });
  }
  const gradOutputs = spec.targets.map((t) => {
    const o = gradName(t);
    b.node('Identity', [b.gradient(t) ?? b.zeros(b.shape(t))], [], o);
    return o;
  });
  b.patch.outputs.push(...[...gradOutputs, ...extraOutputs].map((name) => ({ name, elemType: TensorDataType.FLOAT })));
  const body = encodeGraphPatch(b.patch);
  const seed = encodeInputPatch(seedInput, seedDims);
  const graphPatch = new Uint8Array(body.byteLength + seed.byteLength);
  graphPatch.set(body, 0);
  graphPatch.set(seed, body.byteLength);
  return { graphPatch, seedInput, seedDims, gradOutputs };
}

/** `ModelProto { graph { input: float32 tensor of `dims` } }`: repeated graph fields merge into the model's graph. */
function encodeInputPatch(name: string, dims: number[]): Uint8Array {
  const shape = Writer.create();
  for (const d of dims) shape.uint32((1 << 3) | 2).bytes(Writer.create().uint32((1 << 3) | 0).int64(d).finish());
  const tensorType = Writer.create().uint32((1 << 3) | 0).int32(TensorDataType.FLOAT).uint32((2 << 3) | 2).bytes(shape.finish()).finish();
  const typeProto = Writer.create().uint32((1 << 3) | 2).bytes(tensorType).finish();
  const info = Writer.create().uint32((1 << 3) | 2).string(name).uint32((2 << 3) | 2).bytes(typeProto).finish();
  const graph = Writer.create().uint32((11 << 3) | 2).bytes(info).finish();
  return Writer.create().uint32((7 << 3) | 2).bytes(graph).finish();
}

interface RuleContext {
  n: OnnxNode;
  b: Builder;
  /** Gradient of output 0 (zeros when only another output has one). */
  gy: string;
  /** Gradient per differentiable output (undefined: none reaches the logits). */
  gys: (string | undefined)[];
  want(i: number): boolean;
  /** Adds `name` (of `shape`, broadcast-reduced to the input's shape) to input i's gradient. */
  give(i: number, name: string, shape?: number[]): void;
}
type Rule = (c: RuleContext) => void;

const prod = (a: number[]) => a.reduce((p, d) => p * d, 1);
const normAxis = (a: number, rank: number) => (a < 0 ? a + rank : a);
class Builder {
  readonly patch: GraphPatch = { nodes: [], initializers: [], outputs: [] };
  readonly opset: number;
  private readonly g: GraphIndex;
  private readonly grads = new Map<string, string[]>();
  private readonly consts = new Map<string, string>();
  private count = 0;

  constructor(model: OnnxModel, private readonly probe: ProbeResult) {
    this.g = new GraphIndex(model.graph);
    this.opset = opsetVersion(model) ?? 17;
  }

  shape(name: string): number[] {
    const s = this.probe.shapes.get(name);
    if (!s) throw new Error(t`backward: no probed shape for "${name}"`);
    return s;
  }

  /** An integer steering input's values: a graph constant, else the probed value. */
  values(name: string): number[] {
    const c = this.g.constant(name);
    const v = c ? tensorValues(c) : this.probe.values.get(name);
    if (!v) throw new Error(t`backward: no value for "${name}"`);
    return v;
  }

  scalar(t: string): number | undefined {
    return this.g.scalar(t);
  }

  constantValues(t: string): number[] | undefined {
    const c = this.g.constant(t);
    return c && !c.external ? tensorValues(c) : undefined;
  }

  fresh(): string {
    return `vitlens_grad/${this.count++}`;
  }

  node(opType: string, inputs: string[], attributes: PatchAttribute[] = [], output?: string): string {
    const o = output ?? this.fresh();
    this.patch.nodes.push({ opType, domain: '', inputs, outputs: [o], attributes });
    return o;
  }

  i64(values: number[]): string {
    const key = `i64:${values.join(',')}`;
    let name = this.consts.get(key);
    if (!name) {
      name = `vitlens_grad/const${this.consts.size}`;
      this.patch.initializers.push({ name, dims: [values.length], int64: values });
      this.consts.set(key, name);
    }
    return name;
  }

  f32(values: number[], dims: number[] = []): string {
    const key = `f32:${dims.join('x')}:${values.join(',')}`;
    let name = this.consts.get(key);
    if (!name) {
      name = `vitlens_grad/const${this.consts.size}`;
      this.patch.initializers.push({ name, dims, float: Float32Array.from(values) });
      this.consts.set(key, name);
    }
    return name;
  }

  zeros(dims: number[]): string {
    return this.node('ConstantOfShape', [this.i64(dims)]);
  }

  reshape(x: string, dims: number[]): string {
    return this.node('Reshape', [x, this.i64(dims)]);
  }

  /** ReduceSum / ReduceMean over `axes` (attribute or input by opset). */
  reduce(op: 'ReduceSum' | 'ReduceMean', x: string, axes: number[], keepdims = 1): string {
    const asInput = op === 'ReduceSum' ? this.opset >= 13 : this.opset >= 18;
    return asInput ? this.node(op, [x, this.i64(axes)], [{ name: 'keepdims', i: keepdims }]) : this.node(op, [x], [{ name: 'axes', ints: axes }, { name: 'keepdims', i: keepdims }]);
  }

  /** Undoes numpy broadcasting: sums `x` (of `from`) over the axes that broadcast `to` up, then reshapes to `to`. */
  unbroadcast(x: string, from: number[], to: number[]): string {
    if (from.length === to.length && from.every((d, i) => d === to[i])) return x;
    const lead = from.length - to.length;
    const axes: number[] = [];
    for (let i = 0; i < from.length; i++) {
      if (i < lead || (to[i - lead] === 1 && from[i] !== 1)) axes.push(i);
    }
    const summed = axes.length ? this.reduce('ReduceSum', x, axes, 1) : x;
    return this.reshape(summed, to);
  }

  accumulate(t: string, name: string, shape: number[]): void {
    const list = this.grads.get(t) ?? [];
    list.push(this.unbroadcast(name, shape, this.shape(t)));
    this.grads.set(t, list);
  }

  /** The summed gradient of `t` (a tensor with several consumers gets one contribution from each). */
  gradient(t: string): string | undefined {
    const list = this.grads.get(t);
    if (!list?.length) return undefined;
    if (list.length > 1) {
      const sum = this.node('Sum', list);
      this.grads.set(t, [sum]);
      return sum;
    }
    return list[0];
  }
}

const un = (b: Builder, op: string, ...inputs: string[]) => b.node(op, inputs);

const elementwise = (dy: (c: RuleContext) => string): Rule => (c) => c.give(0, un(c.b, 'Mul', c.gy, dy(c)), c.b.shape(c.n.outputs[0]));

function matmulRule(c: RuleContext): void {
  const { n, b, gy } = c;
  const [A, B] = n.inputs;
  const as = b.shape(A);
  const bs = b.shape(B);
  const ys = b.shape(n.outputs[0]);
  if (as.length < 2 || bs.length < 2) throw new NoGradientError([{ opType: t('MatMul (1-D operand)'), node: n.name }]);
  const swap = (r: number) => [...Array(r - 2).keys(), r - 1, r - 2];
  const batch = ys.slice(0, -2);
  if (c.want(0)) c.give(0, un(b, 'MatMul', gy, b.node('Transpose', [B], [{ name: 'perm', ints: swap(bs.length) }])), [...batch, as[as.length - 2], as[as.length - 1]]);
  if (c.want(1)) c.give(1, un(b, 'MatMul', b.node('Transpose', [A], [{ name: 'perm', ints: swap(as.length) }]), gy), [...batch, bs[bs.length - 2], bs[bs.length - 1]]);
}

function gemmRule(c: RuleContext): void {
  const { n, b, gy } = c;
  const [A, B, C] = n.inputs;
  const ta = n.attributes.get('transA')?.i ?? 0;
  const tb = n.attributes.get('transB')?.i ?? 0;
  const alpha = n.attributes.get('alpha')?.f ?? 1;
  const beta = n.attributes.get('beta')?.f ?? 1;
  const gemm = (x: string, y: string, transA: number, transB: number) => b.node('Gemm', [x, y], [{ name: 'alpha', f: alpha }, { name: 'transA', i: transA }, { name: 'transB', i: transB }]);
  // dA' = α·g·B'ᵀ and dB' = α·A'ᵀ·g, transposed back where the op transposed its operand.
  if (c.want(0)) c.give(0, ta ? gemm(B, gy, tb, 1) : gemm(gy, B, 0, tb ? 0 : 1));
  if (c.want(1)) c.give(1, tb ? gemm(gy, A, 1, ta) : gemm(A, gy, ta ? 0 : 1, 0));
  if (C && c.want(2)) c.give(2, beta === 1 ? gy : un(b, 'Mul', gy, b.f32([beta])), b.shape(n.outputs[0]));
}

function softmaxAxes(c: RuleContext): number[] {
  const r = c.b.shape(c.n.inputs[0]).length;
  const legacy = c.b.opset < 13;
  const axis = normAxis(c.n.attributes.get('axis')?.i ?? (legacy ? 1 : -1), r);
  // Before opset 13 the input is coerced to 2-D at `axis`: the normalization runs over every axis from it on.
  return legacy ? [...Array(r - axis).keys()].map((k) => k + axis) : [axis];
}

function layerNormRule(c: RuleContext): void {
  const { n, b, gy } = c;
  if (c.want(1) || c.want(2)) throw new NoGradientError([{ opType: t('LayerNormalization (computed scale or bias)'), node: n.name }]);
  const X = n.inputs[0];
  const r = b.shape(X).length;
  const axis = normAxis(n.attributes.get('axis')?.i ?? -1, r);
  const axes = [...Array(r - axis).keys()].map((k) => k + axis);
  const eps = n.attributes.get('epsilon')?.f ?? 1e-5;
  // Mean and inverse standard deviation recomputed from X (the exported node does not output them).
  const xc = un(b, 'Sub', X, b.reduce('ReduceMean', X, axes));
  const rstd = un(b, 'Reciprocal', un(b, 'Sqrt', un(b, 'Add', b.reduce('ReduceMean', un(b, 'Mul', xc, xc), axes), b.f32([eps]))));
  const xhat = un(b, 'Mul', xc, rstd);
  const gxh = n.inputs[1] ? un(b, 'Mul', gy, n.inputs[1]) : gy;
  const m1 = b.reduce('ReduceMean', gxh, axes);
  const m2 = b.reduce('ReduceMean', un(b, 'Mul', gxh, xhat), axes);
  c.give(0, un(b, 'Mul', rstd, un(b, 'Sub', un(b, 'Sub', gxh, m1), un(b, 'Mul', xhat, m2))));
}

function reduceRule(c: RuleContext): void {
  const { n, b, gy } = c;
  const xs = b.shape(n.inputs[0]);
  const axesAttr = n.attributes.get('axes')?.ints;
  let axes = (axesAttr ?? (n.inputs[1] ? b.values(n.inputs[1]) : [])).map((a) => normAxis(a, xs.length));
  if (!axes.length) {
    if (n.attributes.get('noop_with_empty_axes')?.i) return c.give(0, gy);
    axes = xs.map((_, i) => i);
  }
  const kept = xs.map((d, i) => (axes.includes(i) ? 1 : d));
  let g = b.node('Expand', [b.reshape(gy, kept), b.i64(xs)]);
  if (n.opType === 'ReduceMean') g = un(b, 'Mul', g, b.f32([1 / prod(axes.map((a) => xs[a]))]));
  c.give(0, g, xs);
}

function sliceRule(c: RuleContext): void {
  const { n, b, gy } = c;
  const xs = b.shape(n.inputs[0]);
  const attr = (k: string) => n.attributes.get(k)?.ints;
  const legacy = n.inputs.length === 1;
  const starts = legacy ? attr('starts') ?? [] : b.values(n.inputs[1]);
  const ends = legacy ? attr('ends') ?? [] : b.values(n.inputs[2]);
  const axes = (legacy ? attr('axes') : n.inputs[3] ? b.values(n.inputs[3]) : undefined) ?? starts.map((_, i) => i);
  const steps = !legacy && n.inputs[4] ? b.values(n.inputs[4]) : starts.map(() => 1);
  if (steps.some((s) => s !== 1)) return stridedSliceGrad(c, xs, starts, ends, axes, steps);
  const pads = new Array<number>(2 * xs.length).fill(0);
  axes.forEach((a0, k) => {
    const a = normAxis(a0, xs.length);
    const d = xs[a];
    const clamp = (v: number) => Math.min(Math.max(v < 0 ? v + d : v, 0), d);
    const s = clamp(starts[k]);
    const e = Math.max(clamp(ends[k]), s);
    pads[a] = s;
    pads[a + xs.length] = d - e;
  });
  c.give(0, padded(b, gy, pads));
}

/**
 * Slice with steps (x[:, 0::2] in Swin's patch merging, x[::-1]): output element k of an axis is input element
 * start + k·step, so the gradient scatters back along that axis. The scatter is a product with a one-hot
 * [d, n] matrix (as for Gather): exact, any step sign, no ScatterND. Axes with step 1 are padded as usual.
 */
function stridedSliceGrad(c: RuleContext, xs: number[], starts: number[], ends: number[], axes: number[], steps: number[]): void {
  const { b } = c;
  let g = c.gy;
  const cur = [...b.shape(c.n.outputs[0])];
  axes.forEach((a0, k) => {
    const a = normAxis(a0, xs.length);
    const d = xs[a];
    const step = steps[k];
    if (step === 0) throw new NoGradientError([{ opType: t('Slice (step 0)'), node: c.n.name }]);
    // ONNX clamps start and end to [0, d] going forward and to [−1, d − 1] going backward.
    const lo = step > 0 ? 0 : -1;
    const hi = step > 0 ? d : d - 1;
    const clamp = (v: number) => Math.min(Math.max(v < 0 ? v + d : v, lo), hi);
    const s = clamp(starts[k]);
    const count = cur[a];
    const oneHot = new Array<number>(d * count).fill(0);
    for (let j = 0; j < count; j++) oneHot[(s + j * step) * count + j] = 1;
    const P = prod(cur.slice(0, a));
    const Q = prod(cur.slice(a + 1));
    const scattered = un(b, 'MatMul', b.f32(oneHot, [d, count]), b.reshape(g, [P, count, Q]));
    cur[a] = d;
    g = b.reshape(scattered, [...cur]);
  });
  c.give(0, g, cur);
}

/** Pad (constant mode): the gradient is the padded output's inner block; a negative pad (a crop) pads zeros back. */
function padRule(c: RuleContext): void {
  const { n, b, gy } = c;
  const mode = n.attributes.get('mode')?.s ?? 'constant';
  if (mode !== 'constant') throw new NoGradientError([{ opType: t`Pad (${mode} mode)`, node: n.name }]);
  const xs = b.shape(n.inputs[0]);
  const r = xs.length;
  const raw = n.inputs[1] ? b.values(n.inputs[1]) : n.attributes.get('pads')?.ints ?? [];
  const axes = (n.inputs[3] ? b.values(n.inputs[3]) : [...Array(r).keys()]).map((a) => normAxis(a, r));
  const begin = new Array<number>(r).fill(0);
  const end = new Array<number>(r).fill(0);
  axes.forEach((a, k) => { begin[a] = raw[k]; end[a] = raw[k + axes.length]; });
  const ys = b.shape(n.outputs[0]);
  const sliced = axes.filter((a) => begin[a] > 0 || end[a] > 0);
  let g = gy;
  if (sliced.length) {
    g = b.node('Slice', [gy, b.i64(sliced.map((a) => Math.max(begin[a], 0))), b.i64(sliced.map((a) => ys[a] - Math.max(end[a], 0))), b.i64(sliced)]);
  }
  const back = new Array<number>(2 * r).fill(0);
  for (let a = 0; a < r; a++) {
    back[a] = Math.max(-begin[a], 0);
    back[a + r] = Math.max(-end[a], 0);
  }
  c.give(0, padded(b, g, back));
}

/** GlobalAveragePool over every axis after N and C: the gradient spreads evenly over the pooled positions. */
function globalAveragePoolRule(c: RuleContext): void {
  const { n, b, gy } = c;
  const xs = b.shape(n.inputs[0]);
  const g = un(b, 'Mul', b.node('Expand', [gy, b.i64(xs)]), b.f32([1 / prod(xs.slice(2))]));
  c.give(0, g, xs);
}

function padded(b: Builder, x: string, pads: number[]): string {
  if (pads.every((p) => p === 0)) return x;
  return b.opset >= 11 ? b.node('Pad', [x, b.i64(pads)]) : b.node('Pad', [x], [{ name: 'pads', ints: pads }]);
}

function gatherRule(c: RuleContext): void {
  const { n, b, gy } = c;
  const xs = b.shape(n.inputs[0]);
  const a = normAxis(n.attributes.get('axis')?.i ?? 0, xs.length);
  const idx = b.values(n.inputs[1]).map((i) => (i < 0 ? i + xs[a] : i));
  const k = idx.length;
  const P = prod(xs.slice(0, a));
  const Q = prod(xs.slice(a + 1));
  // Scatter-add as a product with a one-hot [n, k] matrix: sums repeated indices, needs no ScatterND.
  const oneHot = new Array<number>(xs[a] * k).fill(0);
  idx.forEach((i, j) => { oneHot[i * k + j] += 1; });
  const scattered = un(b, 'MatMul', b.f32(oneHot, [xs[a], k]), b.reshape(gy, [P, k, Q]));
  c.give(0, b.reshape(scattered, xs));
}

function splitRule(c: RuleContext): void {
  const { n, b } = c;
  const xs = b.shape(n.inputs[0]);
  const axis = normAxis(n.attributes.get('axis')?.i ?? 0, xs.length);
  const parts = n.outputs.map((o, j) => c.gys[j] ?? b.zeros(b.shape(o)));
  c.give(0, b.node('Concat', parts, [{ name: 'axis', i: axis }]));
}

function concatRule(c: RuleContext): void {
  const { n, b, gy } = c;
  const ys = b.shape(n.outputs[0]);
  const axis = normAxis(n.attributes.get('axis')?.i ?? 0, ys.length);
  let offset = 0;
  n.inputs.forEach((t, i) => {
    const d = b.shape(t)[axis];
    if (c.want(i)) c.give(i, b.node('Slice', [gy, b.i64([offset]), b.i64([offset + d]), b.i64([axis])]));
    offset += d;
  });
}

function batchNormRule(c: RuleContext): void {
  const { n, b, gy } = c;
  const scale = b.constantValues(n.inputs[1]);
  const variance = b.constantValues(n.inputs[4]);
  if (n.attributes.get('training_mode')?.i || !scale || !variance || [1, 2, 3, 4].some((i) => c.want(i))) {
    throw new NoGradientError([{ opType: t('BatchNormalization (training mode or computed statistics)'), node: n.name }]);
  }
  const eps = n.attributes.get('epsilon')?.f ?? 1e-5;
  const r = b.shape(n.inputs[0]).length;
  // Inference mode is affine per channel (axis 1): dX = dY · scale / sqrt(var + eps).
  const factor = scale.map((s, i) => s / Math.sqrt(variance[i] + eps));
  c.give(0, un(b, 'Mul', gy, b.f32(factor, [factor.length, ...new Array<number>(Math.max(0, r - 2)).fill(1)])), b.shape(n.outputs[0]));
}

const SQRT_2_OVER_PI_ERF = 2 / Math.sqrt(Math.PI);

const RULES: Record<string, Rule> = {
  Add: (c) => { c.give(0, c.gy, c.b.shape(c.n.outputs[0])); c.give(1, c.gy, c.b.shape(c.n.outputs[0])); },
  Sum: (c) => c.n.inputs.forEach((_, i) => c.give(i, c.gy, c.b.shape(c.n.outputs[0]))),
  Sub: (c) => {
    const ys = c.b.shape(c.n.outputs[0]);
    c.give(0, c.gy, ys);
    if (c.want(1)) c.give(1, un(c.b, 'Neg', c.gy), ys);
  },
  Mul: (c) => {
    const [A, B] = c.n.inputs;
    const ys = c.b.shape(c.n.outputs[0]);
    if (c.want(0)) c.give(0, un(c.b, 'Mul', c.gy, B), ys);
    if (c.want(1)) c.give(1, un(c.b, 'Mul', c.gy, A), ys);
  },
  Div: (c) => {
    const [, B] = c.n.inputs;
    const ys = c.b.shape(c.n.outputs[0]);
    if (c.want(0)) c.give(0, un(c.b, 'Div', c.gy, B), ys);
    // d(A/B)/dB = −Y/B.
    if (c.want(1)) c.give(1, un(c.b, 'Neg', un(c.b, 'Mul', c.gy, un(c.b, 'Div', c.n.outputs[0], B))), ys);
  },
  Pow: (c) => {
    const p = c.b.scalar(c.n.inputs[1]);
    if (p === undefined || c.want(1)) throw new NoGradientError([{ opType: t('Pow (computed exponent)'), node: c.n.name }]);
    const X = c.n.inputs[0];
    const d = p === 2 ? un(c.b, 'Mul', X, c.b.f32([2])) : un(c.b, 'Mul', un(c.b, 'Pow', X, c.b.f32([p - 1])), c.b.f32([p]));
    c.give(0, un(c.b, 'Mul', c.gy, d), c.b.shape(c.n.outputs[0]));
  },
  Sqrt: (c) => c.give(0, un(c.b, 'Div', c.gy, un(c.b, 'Mul', c.n.outputs[0], c.b.f32([2])))),
  Erf: elementwise(({ b, n }) => un(b, 'Mul', un(b, 'Exp', un(b, 'Neg', un(b, 'Mul', n.inputs[0], n.inputs[0]))), b.f32([SQRT_2_OVER_PI_ERF]))),
  Tanh: elementwise(({ b, n }) => un(b, 'Sub', b.f32([1]), un(b, 'Mul', n.outputs[0], n.outputs[0]))),
  Sigmoid: elementwise(({ b, n }) => un(b, 'Mul', n.outputs[0], un(b, 'Sub', b.f32([1]), n.outputs[0]))),
  Relu: elementwise(({ b, n }) => b.node('Cast', [un(b, 'Greater', n.inputs[0], b.f32([0]))], [{ name: 'to', i: TensorDataType.FLOAT }])),
  Exp: elementwise(({ n }) => n.outputs[0]),
  Neg: (c) => c.give(0, un(c.b, 'Neg', c.gy)),
  Gelu: (c) => {
    if ((c.n.attributes.get('approximate')?.s ?? 'none') !== 'none') throw new NoGradientError([{ opType: t('Gelu (tanh approximation)'), node: c.n.name }]);
    // d/dx x·Φ(x) = Φ(x) + x·φ(x).
    const { b, n } = c;
    const x = n.inputs[0];
    const cdf = un(b, 'Mul', un(b, 'Add', un(b, 'Erf', un(b, 'Mul', x, b.f32([Math.SQRT1_2]))), b.f32([1])), b.f32([0.5]));
    const pdf = un(b, 'Mul', un(b, 'Exp', un(b, 'Mul', un(b, 'Mul', x, x), b.f32([-0.5]))), b.f32([1 / Math.sqrt(2 * Math.PI)]));
    c.give(0, un(b, 'Mul', c.gy, un(b, 'Add', cdf, un(b, 'Mul', x, pdf))));
  },
  Identity: (c) => c.give(0, c.gy),
  Dropout: (c) => c.give(0, c.gy),
  Cast: (c) => c.give(0, c.gy),
  Reshape: (c) => c.give(0, c.b.reshape(c.gy, c.b.shape(c.n.inputs[0]))),
  Flatten: (c) => c.give(0, c.b.reshape(c.gy, c.b.shape(c.n.inputs[0]))),
  Squeeze: (c) => c.give(0, c.b.reshape(c.gy, c.b.shape(c.n.inputs[0]))),
  Unsqueeze: (c) => c.give(0, c.b.reshape(c.gy, c.b.shape(c.n.inputs[0]))),
  Expand: (c) => c.give(0, c.gy, c.b.shape(c.n.outputs[0])),
  Transpose: (c) => {
    const r = c.b.shape(c.n.inputs[0]).length;
    const perm = c.n.attributes.get('perm')?.ints ?? [...Array(r).keys()].reverse();
    const inv = new Array<number>(r);
    perm.forEach((p, i) => { inv[p] = i; });
    c.give(0, c.b.node('Transpose', [c.gy], [{ name: 'perm', ints: inv }]));
  },
  MatMul: matmulRule,
  Gemm: gemmRule,
  Softmax: (c) => {
    const Y = c.n.outputs[0];
    const s = c.b.reduce('ReduceSum', un(c.b, 'Mul', c.gy, Y), softmaxAxes(c));
    c.give(0, un(c.b, 'Mul', Y, un(c.b, 'Sub', c.gy, s)));
  },
  LogSoftmax: (c) => {
    const s = c.b.reduce('ReduceSum', c.gy, softmaxAxes(c));
    c.give(0, un(c.b, 'Sub', c.gy, un(c.b, 'Mul', un(c.b, 'Exp', c.n.outputs[0]), s)));
  },
  LayerNormalization: layerNormRule,
  BatchNormalization: batchNormRule,
  ReduceMean: reduceRule,
  ReduceSum: reduceRule,
  Slice: sliceRule,
  Gather: gatherRule,
  Split: splitRule,
  Concat: concatRule,
  Pad: padRule,
  GlobalAveragePool: globalAveragePoolRule,
  Where: (c) => {
    const cond = c.n.inputs[0];
    const ys = c.b.shape(c.n.outputs[0]);
    const zero = c.b.f32([0]);
    if (c.want(1)) c.give(1, un(c.b, 'Where', cond, c.gy, zero), ys);
    if (c.want(2)) c.give(2, un(c.b, 'Where', cond, zero, c.gy), ys);
  },
};

/** Exported for tests and the panel: the op types a backward graph can pass through. */
export const DIFFERENTIABLE_OPS: readonly string[] = Object.keys(RULES);
