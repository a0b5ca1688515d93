/**
 * Finds the Vision Transformer inside an ONNX graph from its topology alone (never from node or tensor
 * names, which differ between timm, Hugging Face, torchvision and hand-written exports).
 */
import { DistillationHeads, findDistillationHeads } from './distillation';
import { FusedAttentionError, NotAViTError } from './errors';
import { t } from './l10n';
import { GraphIndex } from './onnx/graphIndex';
import { normBeforeResidualAdd, queryProjection, scoresMatMul } from './attentionGraph';
import { afterHeadMix, learnedTokensIn, queriesOnlyToken0 } from './caitAttention';
import { detectSwin, SwinInfo } from './swinStructure';
import { findResidualStream } from './residualStream';
import { OnnxModel, OnnxNode, opsetVersion, tensorValues } from './onnx/onnxModel';
import { describeOutput, mainOutput, ModelOutput } from './modelOutput';
import { ClassifierKind, findClassifier, findMapProbes } from './classifierHead';

export interface AttentionTap {
  /** 0-based block index in execution order. */
  layer: number;
  /** Tensor holding the attention probabilities [batch, heads, queries, keys]. */
  tensor: string;
  /** What was tapped, in words, for the model summary. */
  where: string;
  /** A fused attention operator whose probabilities are exposed by a copy of it (see instrumentAttention). */
  fused?: { kind: 'onnx-attention' | 'ms-mha'; inputs: string[]; attributes: { name: string; i?: number; f?: number }[] };
  /** Set where this layer sees more prefix tokens than `VitStructure.prefixTokens` (CaiT's class attention after CLS joins). */
  prefixTokens?: number;
  /** CaiT class attention: only the CLS token queries ([B, H, 1, prefix + patches]) by design. */
  classAttention?: boolean;
  /** Talking heads: the tapped weights are mixed across heads after the softmax, so rows need not sum to 1. */
  headMix?: boolean;
}

export interface VitStructure {
  family: 'vit' | 'deit' | 'swin';
  /** `anySize`: dynamic height and width with the position embedding resized in the graph (anySize.ts); set by prepareModel. */
  input: { name: string; channels: number; height?: number; width?: number; dynamicBatch: boolean; anySize?: boolean };
  /** The output the panel reads (class scores when the model has them); `classes` only for class scores. */
  logits: { name: string; classes?: number };
  /** Every graph output, with what it is (class scores, an embedding, token features). */
  outputs: ModelOutput[];
  patchSize: number;
  embedDim: number;
  grid?: { rows: number; cols: number };
  /** Tokens before the patch tokens (CLS, distillation, registers). */
  prefixTokens: number;
  /** Number of tokens the attention sees (prefix + patches), when static. */
  tokens?: number;
  layers: number;
  /** Known statically from the attention scale, else found at run time. */
  heads?: number;
  /** 'res-post' (Swin V2): x + LN(f(x)), the normalization on the branch's output before the residual Add. */
  norm: 'pre' | 'post' | 'res-post' | 'unknown';
  /** What the head reads, found by walking back from it (classifierHead.ts). */
  classifier: ClassifierKind;
  /** MAP head (SigLIP): the learned probe's attention over all tokens, not one of the `attention` layers. */
  mapProbe?: { tensor: string; heads?: number };
  attention: AttentionTap[];
  opset?: number;
  producer: string;
  /** Constant tensors behind the teaching views: the patch-embedding Conv weight, the position embedding. */
  parameters: { patchWeight: string; positionEmbedding?: string };
  /** DeiT: the CLS and distillation heads' logits, averaged into the output. */
  distillation?: DistillationHeads;
  /** The final token features [batch, tokens, width] (output of the last normalization), for PCA views. */
  features?: { tensor: string; where: string };
  /** Hierarchical window attention (family 'swin'): stages, windows and shifts per block. */
  swin?: SwinInfo;
  /** Hybrid ViT: the CNN stem before the patch projection (`patchSize` is then the stem's total stride). */
  stem?: StemInfo;
  /** The residual stream after each block [batch, tokens, width] (high-norm tokens view), when found unambiguously. */
  residual?: string[];
  /** Why `residual` is absent. */
  residualMissing?: string;
}

function lookedFor(): string[] {
  return [
    t('a 4-D image input'),
    t('a patch embedding (Conv with kernel size = stride) applied to it, or a projection Conv after a CNN stem (hybrid)'),
    t('self-attention blocks: MatMul(Q, Kᵀ) → scale → Softmax → MatMul(·, V)'),
  ];
}

export function detectVit(model: OnnxModel): VitStructure {
  const g = new GraphIndex(model.graph);
  const image = model.graph.inputs.find((i) => !model.graph.initializers.has(i.name) && (i.shape?.length ?? 4) === 4);
  if (!image) {
    throw new NotAViTError(t`The model has no 4-D image input (it takes ${describeInputs(model)}).`, lookedFor());
  }
  // A MAP head's probe attends like a layer but is the classifier's: keep it out of the layers.
  const probes = findMapProbes(g);
  const softmaxTaps = findAttentionSoftmaxes(g).filter((tap) => !probes.includes(tap.node));
  const fusedTaps = softmaxTaps.length ? [] : findFusedAttention(g);
  const taps = softmaxTaps.length ? softmaxTaps : fusedTaps;
  const h = typeof image.shape?.[2] === 'number' ? image.shape[2] : undefined;
  const w = typeof image.shape?.[3] === 'number' ? image.shape[3] : undefined;
  const patch = findPatchEmbedding(g, image.name, taps[0]?.node, { h, w });
  const patchConv = patch?.conv;
  if (taps.length === 0) {
    rejectFusedAttention(model);
  }
  if (!patchConv && taps.length === 0) {
    const ops = [...new Set(model.graph.nodes.map((n) => n.opType))].slice(0, 12).join(', ');
    throw new NotAViTError(t`This model does not look like a Vision Transformer: no patch embedding and no self-attention were found (its operators: ${ops}).`, lookedFor());
  }
  if (!patchConv) {
    throw new NotAViTError(t`Found ${taps.length} attention block(s) but no patch embedding on the image input.`, lookedFor());
  }
  if (taps.length === 0) {
    throw new NotAViTError(t('Found a patch embedding but no self-attention Softmax fed by MatMul(Q, Kᵀ).'), lookedFor());
  }

  const weight = g.constant(patchConv.inputs[1]);
  const kernel = patchConv.attributes.get('kernel_shape')?.ints ?? weight?.dims.slice(2) ?? [];
  const stem = patch.stem;
  // A hybrid's tokens lie the stem's stride times the projection's apart, in input pixels.
  const patchSize = stem ? stem.stride * stem.projection.stride : kernel[0];
  const embedDim = weight?.dims[0] ?? 0;
  // A hybrid's projection reads feature channels: the image's channels are on the input.
  const channels = stem ? (typeof image.shape?.[1] === 'number' ? image.shape[1] : 3) : weight?.dims[1] ?? 3;
  const grid = patch.grid ?? (h && w ? { rows: Math.floor(h / patchSize), cols: Math.floor(w / patchSize) } : undefined);

  // The token path runs from the patch Conv to the first attention block: look for learned tokens and the
  // position embedding there.
  const firstTap = g.order.get(taps[0].node) ?? g.graph.nodes.length;
  const tokenPath = g.graph.nodes.slice(g.order.get(patchConv) ?? 0, firstTap);
  const flow = patchTokenFlow(g, patchConv, tokenPath);
  const posEmbed = findPositionEmbedding(g, tokenPath, embedDim, flow);
  const posTokens = posEmbed?.tokens;
  // Learned tokens (CLS, distillation, registers) may be concatenated before or after the position
  // embedding is added; the larger of the two counts is the number of prefix tokens.
  let prefixTokens = countLearnedTokens(g, tokenPath, embedDim, flow);
  if (posTokens !== undefined && grid && posTokens >= grid.rows * grid.cols) {
    prefixTokens = Math.max(prefixTokens, posTokens - grid.rows * grid.cols);
  }
  const nPatches = grid ? grid.rows * grid.cols : posTokens !== undefined ? posTokens - prefixTokens : undefined;
  const resolvedGrid = grid ?? (nPatches && Number.isInteger(Math.sqrt(nPatches)) ? { rows: Math.sqrt(nPatches), cols: Math.sqrt(nPatches) } : undefined);

  const swin = detectSwin(g, taps.map((tap) => tap.node), grid?.rows);
  if (swin) prefixTokens = 0;
  const fusedHeads = taps[0].node.attributes.get('num_heads')?.i ?? taps[0].node.attributes.get('q_num_heads')?.i;
  const heads = swin ? undefined : fusedHeads ?? headsFromScale(g, taps.map((tap) => tap.node), embedDim);
  const outputs = model.graph.outputs.map((o) => describeOutput(g, o, embedDim, resolvedGrid && !swin ? resolvedGrid.rows * resolvedGrid.cols + prefixTokens : undefined));
  const main = mainOutput(outputs);
  const classes = main.kind === 'classes' ? main.width : undefined;

  const distillation = swin || main.kind !== 'classes' ? undefined : findDistillationHeads(g, main.name);
  const classifier = swin ? 'gap' : distillation ? 'cls' : findClassifier(g, main.name, prefixTokens, probes, taps[taps.length - 1].node) ?? (prefixTokens > 0 ? 'cls' : 'gap');
  const probe = classifier === 'map' ? probes.find((p) => (g.order.get(p) ?? 0) > (g.order.get(taps[taps.length - 1].node) ?? 0)) : undefined;
  return {
    // Two prefix tokens may be CLS + a register: DeiT only where its distillation head is found.
    family: swin ? 'swin' : distillation ? 'deit' : 'vit',
    input: { name: image.name, channels, height: h, width: w, dynamicBatch: typeof image.shape?.[0] !== 'number' },
    logits: { name: main.name, classes },
    outputs,
    patchSize,
    embedDim,
    grid: resolvedGrid,
    prefixTokens,
    tokens: resolvedGrid ? resolvedGrid.rows * resolvedGrid.cols + prefixTokens : undefined,
    layers: taps.length,
    heads,
    norm: normPlacement(g, taps[0].node),
    classifier,
    mapProbe: probe && { tensor: probe.outputs[0], heads: headsFromScale(g, [probe], embedDim) },
    attention: taps.map((tap, layer) => ({ layer, tensor: tap.fused ? `${tap.node.outputs[0]}/vitlens_probs` : tap.tensor ?? tap.node.outputs[0], where: tap.where, fused: tap.fused, ...(tap.tensor ? { headMix: true } : {}), ...laterTokens(g, taps.map((x) => x.node), layer, prefixTokens, embedDim) })),
    features: finalFeatures(g, taps[taps.length - 1].node),
    parameters: { patchWeight: patchConv.inputs[1], positionEmbedding: posEmbed?.name },
    distillation,
    swin,
    stem,
    ...residualOf(g, taps.map((tap) => tap.node), swin, embedDim, resolvedGrid ? resolvedGrid.rows * resolvedGrid.cols + prefixTokens : undefined),
    opset: opsetVersion(model),
    producer: [model.producerName, model.producerVersion].filter(Boolean).join(' '),
  };
}

/**
 * CaiT: CLS is concatenated only after the self-attention layers, so the layers after that Concat see more prefix
 * tokens than the first; a class-attention layer (Q from token 0 alone) has one query row by design.
 */
function laterTokens(g: GraphIndex, taps: OnnxNode[], layer: number, prefix: number, embedDim: number): Pick<AttentionTap, 'prefixTokens' | 'classAttention'> {
  const extra = learnedTokensIn(g, g.graph.nodes.slice(g.order.get(taps[0]) ?? 0, g.order.get(taps[layer]) ?? 0), embedDim);
  const scores = taps[layer].opType === 'Softmax' ? scoresMatMul(g, taps[layer].inputs[0]) : undefined;
  const classAttention = !!scores && queriesOnlyToken0(g, queryProjection(g, scores));
  return { ...(extra > 0 ? { prefixTokens: prefix + extra } : {}), ...(classAttention ? { classAttention } : {}) };
}

function residualOf(g: GraphIndex, taps: OnnxNode[], swin: SwinInfo | undefined, width: number, tokens: number | undefined): Pick<VitStructure, 'residual' | 'residualMissing'> {
  if (swin) return { residualMissing: t('Swin merges patches between stages, so there is no single token sequence to compare across blocks') };
  const r = findResidualStream(g, taps, normPlacement(g, taps[0]), finalFeatures(g, taps[taps.length - 1])?.tensor, { tokens, width });
  return 'tensors' in r ? { residual: r.tensors } : { residualMissing: r.problem };
}

function describeInputs(model: OnnxModel): string {
  const ins = model.graph.inputs.filter((i) => !model.graph.initializers.has(i.name));
  return ins.map((i) => `${i.name} [${(i.shape ?? []).map((d) => d ?? '?').join('×')}]`).join(', ') || t('no inputs');
}

/** Hybrid ViT: a CNN stem turns pixels into feature maps, and the patch projection (often 1×1) reads those. */
export interface StemInfo {
  /** Total stride of the stem alone, in input pixels (the projection's stride comes on top). */
  stride: number;
  /** Conv nodes in the stem, shortcut projections included. */
  convs: number;
  /** Feature channels the patch projection reads. */
  channels: number;
  /** The token-producing Conv over the stem's features. */
  projection: { kernel: number; stride: number };
  /** The downsampling steps on the stem's main path, in words. */
  where: string;
  /**
   * A Pad whose amounts the graph computes (timm's TF-'SAME' pad_same): a static-size export traced that
   * arithmetic at its own size, so the stem is not known to be right at another.
   */
  computedPads?: boolean;
}

interface PatchEmbedding { conv: OnnxNode; stem?: StemInfo; grid?: { rows: number; cols: number } }

/**
 * The Conv that makes the patch tokens. A plain ViT: the first Conv fed (through elementwise preprocessing)
 * by the image whose kernel equals its stride. A hybrid: the last Conv before the first attention, when a CNN
 * stem (more Convs or pools) lies between it and the image; `stem` then says how far apart its tokens are.
 */
function findPatchEmbedding(g: GraphIndex, imageName: string, firstTap: OnnxNode | undefined, size: { h?: number; w?: number }): PatchEmbedding | undefined {
  const pixel = pixelPatchConv(g, imageName);
  const token = firstTap && tokenConv(g, firstTap);
  if (token && token !== pixel) {
    const hybrid = hybridStem(g, imageName, token, size);
    if (hybrid) return { conv: token, ...hybrid };
  }
  return pixel && { conv: pixel };
}

function pixelPatchConv(g: GraphIndex, imageName: string): OnnxNode | undefined {
  for (const n of g.graph.nodes) {
    if (n.opType !== 'Conv') continue;
    const k = n.attributes.get('kernel_shape')?.ints ?? g.constant(n.inputs[1])?.dims.slice(2);
    const s = n.attributes.get('strides')?.ints;
    if (!k || !s || k.length !== 2 || k[0] < 2 || k[0] !== s[0] || k[1] !== s[1]) continue;
    if (n.inputs[0] === imageName || reachesFrom(g, imageName, n, 8)) return n;
  }
  return undefined;
}

/** Tensors computed from the image (constants, weights and shapes of constants are not). */
function fromImage(g: GraphIndex, imageName: string): Set<string> {
  const tensors = new Set([imageName]);
  for (const n of g.graph.nodes) if (n.inputs.some((i) => tensors.has(i))) for (const o of n.outputs) if (o) tensors.add(o);
  return tensors;
}

/**
 * The token sequence's Conv: the last Conv, in execution order, that the first attention depends on. Every
 * path from a stem Conv to the attention runs through it (a stem Conv feeds only later Convs), whatever the
 * exporter did with flatten and transpose.
 */
function tokenConv(g: GraphIndex, firstTap: OnnxNode): OnnxNode | undefined {
  let last: OnnxNode | undefined;
  for (const n of g.ancestors(firstTap.inputs)) {
    if (n.opType === 'Conv' && (!last || (g.order.get(n) ?? 0) > (g.order.get(last) ?? 0))) last = n;
  }
  return last;
}

const SPATIAL = new Set(['Conv', 'MaxPool', 'AveragePool', 'LpPool']);
/** Ops that mean the tokens already exist: a Conv behind them is inside the transformer, not after a CNN stem. */
const NOT_CNN = new Set(['Softmax', 'MatMul', 'Gemm', 'LayerNormalization', 'Attention', 'MultiHeadAttention']);

/** One spatial axis through a Conv or pool: explicit pads, SAME/VALID auto_pad, ceil_mode. */
function spatialOut(n: OnnxNode, size: number, axis: 0 | 1): number {
  const k = n.attributes.get('kernel_shape')?.ints?.[axis] ?? 1;
  const s = n.attributes.get('strides')?.ints?.[axis] ?? 1;
  const d = n.attributes.get('dilations')?.ints?.[axis] ?? 1;
  const pads = n.attributes.get('pads')?.ints ?? [0, 0, 0, 0];
  const autoPad = n.attributes.get('auto_pad')?.s;
  if (autoPad === 'SAME_UPPER' || autoPad === 'SAME_LOWER') return Math.ceil(size / s);
  const span = size + pads[axis] + pads[axis + 2] - d * (k - 1) - 1;
  return (n.attributes.get('ceil_mode')?.i ? Math.ceil(span / s) : Math.floor(span / s)) + 1;
}

/**
 * The stem between the image and the token Conv, or undefined when there is none (a plain ViT) or it is no
 * CNN. The stride is the product of the strides on one path back from the token Conv to the image: every
 * branch of a residual block downsamples alike (else their Add would not type-check), so one path counts each
 * downsampling once. The grid is computed through the stem where pads are constants, else from the stride.
 */
function hybridStem(g: GraphIndex, imageName: string, token: OnnxNode, size: { h?: number; w?: number }): Pick<PatchEmbedding, 'stem' | 'grid'> | undefined {
  const image = fromImage(g, imageName);
  const stemNodes = [...g.ancestors([token.inputs[0]])].filter((n) => n.inputs.some((i) => image.has(i)));
  if (!stemNodes.some((n) => SPATIAL.has(n.opType)) || stemNodes.some((n) => NOT_CNN.has(n.opType))) return undefined;
  let stride = 1;
  const steps: string[] = [];
  for (let t = token.inputs[0], i = 0; t !== imageName; i++) {
    const p = g.producer.get(t);
    if (!p || i > 10_000) return undefined;
    if (p.opType === 'Resize' || p.opType === 'Upsample' || p.opType === 'ConvTranspose' || p.opType === 'DepthToSpace' || p.opType === 'SpaceToDepth') return undefined;
    if (SPATIAL.has(p.opType)) {
      const s = p.attributes.get('strides')?.ints ?? [1, 1];
      if (s[0] !== s[1]) return undefined;
      stride *= s[0];
      const k = p.attributes.get('kernel_shape')?.ints ?? g.constant(p.inputs[1])?.dims.slice(2) ?? [];
      if (s[0] > 1) steps.unshift(`${p.opType} ${k.join('×')}/${s[0]}`);
      t = p.inputs[0];
    } else {
      const next = p.inputs.find((x) => image.has(x));
      if (!next) return undefined;
      t = next;
    }
  }
  const k = token.attributes.get('kernel_shape')?.ints ?? g.constant(token.inputs[1])?.dims.slice(2) ?? [1, 1];
  const s = token.attributes.get('strides')?.ints ?? [1, 1];
  const channels = g.constant(token.inputs[1])?.dims[1] ?? 0;
  const stem: StemInfo = {
    stride,
    convs: stemNodes.filter((n) => n.opType === 'Conv').length,
    channels,
    projection: { kernel: k[0], stride: s[0] },
    where: steps.join(' → '),
    ...(stemNodes.some((n) => n.opType === 'Pad' && !!n.inputs[1] && !g.isConstant(n.inputs[1])) ? { computedPads: true } : {}),
  };
  if (!size.h || !size.w) return { stem };
  // CNN stems pad so that every step rounds up (7×7/2 pad 3, 3×3/2 pad 1, SAME): ceil where pads are not constants.
  const side = spatialSize(g, imageName, token.inputs[0], size.h, size.w) ?? [Math.ceil(size.h / stride), Math.ceil(size.w / stride)];
  return { stem, grid: { rows: spatialOut(token, side[0], 0), cols: spatialOut(token, side[1], 1) } };
}

/** H×W of a 4-D tensor of the stem, from the image size through Convs, pools and constant Pads; undefined where unknown. */
function spatialSize(g: GraphIndex, imageName: string, tensor: string, h: number, w: number): [number, number] | undefined {
  const memo = new Map<string, [number, number] | undefined>();
  const size = (t: string, depth: number): [number, number] | undefined => {
    if (t === imageName) return [h, w];
    if (memo.has(t)) return memo.get(t);
    const p = g.producer.get(t);
    let r: [number, number] | undefined;
    if (!p || depth > 2000) r = undefined;
    else if (SPATIAL.has(p.opType)) {
      const x = size(p.inputs[0], depth + 1);
      r = x && [spatialOut(p, x[0], 0), spatialOut(p, x[1], 1)];
    } else if (p.opType === 'Pad') {
      const pads = p.inputs[1] ? g.constant(p.inputs[1]) : undefined;
      const v = pads && !pads.external && !p.inputs[3] ? tensorValues(pads) : p.attributes.get('pads')?.ints;
      const x = size(p.inputs[0], depth + 1);
      r = x && v?.length === 8 ? [x[0] + v[2] + v[6], x[1] + v[3] + v[7]] : undefined;
    } else if (p.opType === 'Reshape') {
      // GroupNorm exports as Reshape → InstanceNormalization → Reshape(·, Shape(x)): back to x's size.
      const shapeOf = g.producer.get(p.inputs[1]);
      r = shapeOf?.opType === 'Shape' ? size(shapeOf.inputs[0], depth + 1) : undefined;
    } else if (SHAPE_KEEPING.has(p.opType)) {
      for (const x of p.inputs) {
        if (!x || g.isConstant(x)) continue;
        r = size(x, depth + 1);
        if (r) break;
      }
    }
    memo.set(t, r);
    return r;
  };
  return size(tensor, 0);
}

const SHAPE_KEEPING = new Set(['Relu', 'LeakyRelu', 'PRelu', 'Sigmoid', 'HardSigmoid', 'HardSwish', 'Tanh', 'Clip', 'Gelu', 'Erf', 'Elu', 'Selu', 'Softplus', 'Mish',
  'Add', 'Sub', 'Mul', 'Div', 'BatchNormalization', 'InstanceNormalization', 'Identity', 'Cast', 'Dropout', 'Max', 'Min', 'Sum']);

/** Shallow forward search (the patch Conv sits right after optional normalization ops). */
function reachesFrom(g: GraphIndex, from: string, to: OnnxNode, depth: number): boolean {
  if (depth === 0) return false;
  for (const c of g.consumersOf(from)) {
    if (c === to) return true;
    if (c.outputs.some((o) => reachesFrom(g, o, to, depth - 1))) return true;
  }
  return false;
}

interface SoftmaxTap { node: OnnxNode; where: string; fused?: AttentionTap['fused']; /** Talking heads: the mixed weights, not the Softmax output. */ tensor?: string }

/**
 * Fused attention that can still be opened up: ONNX Attention (opset ≥ 23; its 4th output with
 * qk_matmul_output_mode = 3 is the softmax probabilities) and com.microsoft.MultiHeadAttention (its 4th output
 * is the scaled QKᵀ before softmax).
 */
function findFusedAttention(g: GraphIndex): SoftmaxTap[] {
  const taps: SoftmaxTap[] = [];
  for (const n of g.graph.nodes) {
    const attrs = [...n.attributes.values()].filter((a) => a.i !== undefined || a.f !== undefined).map((a) => ({ name: a.name, i: a.i, f: a.f }));
    if (n.opType === 'Attention' && n.domain === '') {
      const withProbs = [...attrs.filter((a) => a.name !== 'qk_matmul_output_mode'), { name: 'qk_matmul_output_mode', i: 3 }];
      taps.push({ node: n, where: t('ONNX Attention, its softmax-probabilities output (qk_matmul_output_mode = 3)'), fused: { kind: 'onnx-attention', inputs: n.inputs, attributes: withProbs } });
    } else if (n.opType === 'MultiHeadAttention' && n.domain === 'com.microsoft') {
      taps.push({ node: n, where: t('com.microsoft.MultiHeadAttention, Softmax added on its qk (scaled QKᵀ) output'), fused: { kind: 'ms-mha', inputs: n.inputs, attributes: attrs } });
    }
  }
  return taps;
}

/**
 * Softmax nodes whose input is QKᵀ (a MatMul of two computed tensors, possibly scaled, biased or masked)
 * and whose output is multiplied with V. The classifier's softmax (if any) fails the first test.
 */
function findAttentionSoftmaxes(g: GraphIndex): SoftmaxTap[] {
  const taps: SoftmaxTap[] = [];
  for (const n of g.graph.nodes) {
    if (n.opType !== 'Softmax' || n.domain !== '') continue;
    const scores = scoresMatMul(g, n.inputs[0], 6);
    if (!scores) continue;
    // Talking heads (CaiT): V is multiplied with the post-softmax head mix, so that is the attention tapped.
    const mixed = afterHeadMix(g, n.outputs[0]);
    const feedsV = g.consumersThroughPassThrough(mixed ?? n.outputs[0]).some((c) => c.opType === 'MatMul' && !g.isConstant(c.inputs[1]) && !g.isConstant(c.inputs[0]));
    if (!feedsV) continue;
    const chain = describeChain(g, n.inputs[0], scores);
    taps.push(mixed
      ? { node: n, tensor: mixed, where: t('talking heads: the weights after the post-softmax head mix (Linear across heads), which multiply V — not the Softmax output') }
      : { node: n, where: t`Softmax output after MatMul(Q, Kᵀ)${chain}` });
  }
  return taps;
}

function describeChain(g: GraphIndex, tensor: string, stop: OnnxNode): string {
  const ops: string[] = [];
  let p = g.producer.get(tensor);
  while (p && p !== stop) {
    ops.unshift(p.opType);
    const next = p.inputs.find((i) => i && !g.isConstant(i));
    p = next ? g.producer.get(next) : undefined;
  }
  return ops.length ? ` → ${ops.join(' → ')}` : '';
}

/** 1/√d as a Mul on the scores or on Q (timm), or √d as a Div, gives the head dimension d. */
function headsFromScale(g: GraphIndex, softmaxes: OnnxNode[], embedDim: number): number | undefined {
  const n = softmaxes[0];
  const scores = scoresMatMul(g, n.inputs[0], 6);
  const candidates: OnnxNode[] = [];
  let p = g.producer.get(n.inputs[0]);
  for (let i = 0; p && p !== scores && i < 6; i++) {
    candidates.push(p);
    const next = p.inputs.find((x) => x && !g.isConstant(x));
    p = next ? g.producer.get(next) : undefined;
  }
  if (scores) {
    for (const inp of scores.inputs) {
      const q = g.producer.get(inp);
      if (q) candidates.push(q);
    }
  }
  for (const c of candidates) {
    if (c.opType !== 'Mul' && c.opType !== 'Div') continue;
    const s = c.inputs.map((i) => g.scalar(i)).find((v) => v !== undefined);
    if (!s || s <= 0) continue;
    // Scale may be split as d^-1/4 on both Q and K (HF does this in some exports).
    const d = c.opType === 'Mul' ? 1 / (s * s) : s * s;
    for (const dim of [d, Math.sqrt(d)]) {
      const r = Math.round(dim);
      if (Math.abs(dim - r) < 1e-2 * r && r > 0 && embedDim % r === 0) return embedDim / r;
    }
  }
  return undefined;
}

/**
 * The position embedding added to the token sequence: a [1, T, D] or [T, D] constant, or (DINO's
 * interpolate_pos_encoding, dynamic H/W) a Concat of the prefix rows' constant with the patch rows' constant
 * reshaped and resized to the runtime grid. `tokens` is the rows it holds at its native size; `name` only
 * when one constant holds them all (the split form has no single tensor to show or rewrite).
 */
function findPositionEmbedding(g: GraphIndex, tokenPath: OnnxNode[], embedDim: number, flow: Set<string>): { name?: string; tokens: number } | undefined {
  const rows = (name: string): number | undefined => {
    const d = g.constant(name)?.dims;
    if (d?.length === 3 && d[0] === 1 && d[2] === embedDim) return d[1];
    if (d?.length === 2 && d[1] === embedDim) return d[0];
    return undefined;
  };
  for (const n of tokenPath) {
    if (n.opType !== 'Add') continue;
    for (const inp of n.inputs) {
      const t = rows(inp);
      if (t !== undefined && t > 1) return { name: inp, tokens: t };
    }
    // Only an Add onto the patch tokens, of something not computed from them, is a position embedding.
    if (!n.inputs.some((x) => flow.has(x))) continue;
    const other = n.inputs.find((x) => x && !flow.has(x));
    const cat = other ? g.producer.get(other) : undefined;
    if (cat?.opType !== 'Concat') continue;
    let total = 0;
    for (const piece of cat.inputs) {
      // Walk a piece back through the reshapes, transposes and the resize to the stored rows.
      let x = piece;
      let k = rows(x);
      for (let i = 0; k === undefined && i < 8; i++) {
        const p = g.producer.get(x);
        if (!p || !['Reshape', 'Transpose', 'Resize', 'Upsample', 'Cast', 'Unsqueeze', 'Squeeze', 'Flatten'].includes(p.opType)) break;
        x = p.inputs[0];
        k = rows(x);
      }
      if (k === undefined) { total = 0; break; }
      total += k;
    }
    if (total > 1) return { tokens: total };
  }
  return undefined;
}

/**
 * Tensors that carry the patch tokens (data flow from the patch Conv; shapes read off them do not count), so
 * that pieces of the position embedding concatenated with each other are not taken for learned tokens.
 */
function patchTokenFlow(g: GraphIndex, conv: OnnxNode, tokenPath: OnnxNode[]): Set<string> {
  const flow = new Set(conv.outputs);
  const dataOnly = new Set(['Reshape', 'Expand', 'Resize', 'Upsample', 'Slice', 'Tile', 'Unsqueeze', 'Squeeze', 'Gather', 'Pad', 'Flatten']);
  for (const n of tokenPath) {
    if (n === conv || n.opType === 'Shape' || n.opType === 'Size' || n.opType === 'ConstantOfShape') continue;
    const data = dataOnly.has(n.opType) ? n.inputs.slice(0, 1) : n.inputs;
    if (data.some((x) => flow.has(x))) for (const o of n.outputs) flow.add(o);
  }
  return flow;
}

/** Learned [1, k, D] tokens (CLS, distillation, registers) concatenated to the patch tokens, wherever they go. */
function countLearnedTokens(g: GraphIndex, tokenPath: OnnxNode[], embedDim: number, flow: Set<string>): number {
  let count = 0;
  for (const n of tokenPath) {
    if (n.opType !== 'Concat' || !n.inputs.some((x) => flow.has(x))) continue;
    // Learned tokens after the last piece of the running sequence come after the patches: they are not prefix tokens
    // (the drawing rule then refuses the layers, since the patches no longer end the sequence).
    const last = n.inputs.reduce((at, x, i) => (flow.has(x) ? i : at), -1);
    n.inputs.slice(0, last).forEach((inp) => {
      const t = constantThroughExpand(g, inp);
      if (t && t.dims.length >= 2 && t.dims[t.dims.length - 1] === embedDim) count += t.dims[t.dims.length - 2];
    });
  }
  return count;
}

function constantThroughExpand(g: GraphIndex, name: string) {
  const c = g.constant(name);
  if (c) return c;
  const p = g.producer.get(name);
  if (p && (p.opType === 'Expand' || p.opType === 'Tile')) return g.constant(p.inputs[0]);
  return undefined;
}

/**
 * Pre-norm: the first block's attention input passes a normalization right before the QKV projections. Res-post
 * (Swin V2) is read first, from the other side: its blocks have no norm before Q, so walking back would meet the
 * patch embedding's norm (block 1) or the previous block's (later blocks) and read as pre-norm.
 */
function normPlacement(g: GraphIndex, firstTap: OnnxNode): VitStructure['norm'] {
  if (normBeforeResidualAdd(g, firstTap.outputs[0])) return 'res-post';
  // From Q: the first input of QKᵀ, or of a fused attention operator.
  const scores = firstTap.opType === 'Softmax' ? scoresMatMul(g, firstTap.inputs[0], 6) : firstTap;
  if (!scores) return 'unknown';
  // Walk back from Q to the block input; note whether a normalization is passed before a residual Add.
  let t = scores.inputs[0];
  for (let i = 0; i < 20; i++) {
    const p = g.producer.get(t);
    if (!p) return 'unknown';
    if (p.opType === 'LayerNormalization' || p.opType === 'BatchNormalization' || p.opType === 'SimplifiedLayerNormalization') return 'pre';
    if (p.opType === 'Div' && g.producer.get(p.inputs[1])?.opType === 'Sqrt') return 'pre'; // decomposed LayerNorm (opset < 17)
    if (p.opType === 'Add' && !p.inputs.some((x) => g.isConstant(x))) return 'post';
    if (p.opType === 'Concat' || p.opType === 'Conv') return 'post';
    t = p.inputs.find((x) => x && !g.isConstant(x)) ?? '';
  }
  return 'unknown';
}

/** The last normalization after the last attention block: its output holds the final token features. */
function finalFeatures(g: GraphIndex, lastSoftmax: OnnxNode): VitStructure['features'] {
  const after = g.order.get(lastSoftmax) ?? 0;
  const norms = g.graph.nodes.filter((n) => (g.order.get(n) ?? 0) > after && (n.opType === 'LayerNormalization' || n.opType === 'BatchNormalization') && !readsProbe(g, n, after));
  const last = norms[norms.length - 1];
  return last ? { tensor: last.outputs[0], where: t`${last.opType} output after the last block` } : undefined;
}

/**
 * SigLIP's MAP LayerNorm reads the probe's one output token, not the token sequence: walking back along its data
 * input meets the probe's Softmax before the last block's.
 */
function readsProbe(g: GraphIndex, norm: OnnxNode, after: number): boolean {
  let p = g.producer.get(norm.inputs[0]);
  for (let i = 0; p && (g.order.get(p) ?? 0) > after && i < 40; i++) {
    if (p.opType === 'Softmax') return true;
    const next = p.inputs.find((x) => x && !g.isConstant(x));
    p = next ? g.producer.get(next) : undefined;
  }
  return false;
}

/** ORT's fused operators hide the probabilities; name them so the user can re-export. */
function rejectFusedAttention(model: OnnxModel): void {
  const fused = model.graph.nodes.find((n) => n.opType === 'Attention' && n.domain === 'com.microsoft');
  if (fused) {
    throw new FusedAttentionError(
      t('This model computes attention inside com.microsoft.Attention, a fused ONNX Runtime operator that does not expose attention probabilities.'),
      t('Export the model without ORT transformer optimizations (e.g. plain torch.onnx.export with eager attention, or optimum with --no-post-process / optimization level O0).'),
    );
  }
}
