/**
 * Finds the Vision Transformer inside an ONNX graph from its topology alone (never from node or tensor
 * names, which differ between timm, Hugging Face, torchvision and hand-written exports).
 */
import { DistillationHeads, findDistillationHeads } from './distillation';
import { FusedAttentionError, NotAViTError } from './errors';
import { GraphIndex } from './onnx/graphIndex';
import { queryProjection, scoresMatMul } from './attentionGraph';
import { afterHeadMix, learnedTokensIn, queriesOnlyToken0 } from './caitAttention';
import { detectSwin, SwinInfo } from './swinStructure';
import { findResidualStream } from './residualStream';
import { OnnxModel, OnnxNode, opsetVersion } from './onnx/onnxModel';
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
  input: { name: string; channels: number; height?: number; width?: number; dynamicBatch: boolean };
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
  norm: 'pre' | 'post' | 'unknown';
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
  /** The residual stream after each block [batch, tokens, width] (high-norm tokens view), when found unambiguously. */
  residual?: string[];
  /** Why `residual` is absent. */
  residualMissing?: string;
}

const LOOKED_FOR = [
  'a 4-D image input',
  'a patch embedding (Conv with kernel size = stride) applied to it',
  'self-attention blocks: MatMul(Q, Kᵀ) → scale → Softmax → MatMul(·, V)',
];

export function detectVit(model: OnnxModel): VitStructure {
  const g = new GraphIndex(model.graph);
  const image = model.graph.inputs.find((i) => !model.graph.initializers.has(i.name) && (i.shape?.length ?? 4) === 4);
  if (!image) {
    throw new NotAViTError('The model has no 4-D image input (it takes ' + describeInputs(model) + ').', LOOKED_FOR);
  }
  const patchConv = findPatchEmbedding(g, image.name);
  // A MAP head's probe attends like a layer but is the classifier's: keep it out of the layers.
  const probes = findMapProbes(g);
  const softmaxTaps = findAttentionSoftmaxes(g).filter((t) => !probes.includes(t.node));
  const fusedTaps = softmaxTaps.length ? [] : findFusedAttention(g);
  const taps = softmaxTaps.length ? softmaxTaps : fusedTaps;
  if (taps.length === 0) {
    rejectFusedAttention(model);
  }
  if (!patchConv && taps.length === 0) {
    const ops = [...new Set(model.graph.nodes.map((n) => n.opType))].slice(0, 12).join(', ');
    throw new NotAViTError(`This model does not look like a Vision Transformer: no patch embedding and no self-attention were found (its operators: ${ops}).`, LOOKED_FOR);
  }
  if (!patchConv) {
    throw new NotAViTError(`Found ${taps.length} attention block(s) but no patch embedding on the image input.`, LOOKED_FOR);
  }
  if (taps.length === 0) {
    throw new NotAViTError('Found a patch embedding but no self-attention Softmax fed by MatMul(Q, Kᵀ).', LOOKED_FOR);
  }

  const weight = g.constant(patchConv.inputs[1]);
  const kernel = patchConv.attributes.get('kernel_shape')?.ints ?? weight?.dims.slice(2) ?? [];
  const patchSize = kernel[0];
  const embedDim = weight?.dims[0] ?? 0;
  const channels = weight?.dims[1] ?? 3;
  const h = typeof image.shape?.[2] === 'number' ? image.shape[2] : undefined;
  const w = typeof image.shape?.[3] === 'number' ? image.shape[3] : undefined;
  const grid = h && w ? { rows: Math.floor(h / patchSize), cols: Math.floor(w / patchSize) } : undefined;

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

  const swin = detectSwin(g, taps.map((t) => t.node), grid?.rows);
  if (swin) prefixTokens = 0;
  const fusedHeads = taps[0].node.attributes.get('num_heads')?.i ?? taps[0].node.attributes.get('q_num_heads')?.i;
  const heads = swin ? undefined : fusedHeads ?? headsFromScale(g, taps.map((t) => t.node), embedDim);
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
    attention: taps.map((t, layer) => ({ layer, tensor: t.fused ? `${t.node.outputs[0]}/vitlens_probs` : t.tensor ?? t.node.outputs[0], where: t.where, fused: t.fused, ...(t.tensor ? { headMix: true } : {}), ...laterTokens(g, taps.map((x) => x.node), layer, prefixTokens, embedDim) })),
    features: finalFeatures(g, taps[taps.length - 1].node),
    parameters: { patchWeight: patchConv.inputs[1], positionEmbedding: posEmbed?.name },
    distillation,
    swin,
    ...residualOf(g, taps.map((t) => t.node), swin, embedDim, resolvedGrid ? resolvedGrid.rows * resolvedGrid.cols + prefixTokens : undefined),
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
  if (swin) return { residualMissing: 'Swin merges patches between stages, so there is no single token sequence to compare across blocks' };
  const r = findResidualStream(g, taps, normPlacement(g, taps[0]), finalFeatures(g, taps[taps.length - 1])?.tensor, { tokens, width });
  return 'tensors' in r ? { residual: r.tensors } : { residualMissing: r.problem };
}

function describeInputs(model: OnnxModel): string {
  const ins = model.graph.inputs.filter((i) => !model.graph.initializers.has(i.name));
  return ins.map((i) => `${i.name} [${(i.shape ?? []).map((d) => d ?? '?').join('×')}]`).join(', ') || 'no inputs';
}

/** The first Conv fed (through elementwise preprocessing) by the image whose kernel equals its stride. */
function findPatchEmbedding(g: GraphIndex, imageName: string): OnnxNode | undefined {
  for (const n of g.graph.nodes) {
    if (n.opType !== 'Conv') continue;
    const k = n.attributes.get('kernel_shape')?.ints ?? g.constant(n.inputs[1])?.dims.slice(2);
    const s = n.attributes.get('strides')?.ints;
    if (!k || !s || k.length !== 2 || k[0] < 2 || k[0] !== s[0] || k[1] !== s[1]) continue;
    if (n.inputs[0] === imageName || reachesFrom(g, imageName, n, 8)) return n;
  }
  return undefined;
}

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
      taps.push({ node: n, where: 'ONNX Attention, its softmax-probabilities output (qk_matmul_output_mode = 3)', fused: { kind: 'onnx-attention', inputs: n.inputs, attributes: withProbs } });
    } else if (n.opType === 'MultiHeadAttention' && n.domain === 'com.microsoft') {
      taps.push({ node: n, where: 'com.microsoft.MultiHeadAttention, Softmax added on its qk (scaled QKᵀ) output', fused: { kind: 'ms-mha', inputs: n.inputs, attributes: attrs } });
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
      ? { node: n, tensor: mixed, where: 'talking heads: the weights after the post-softmax head mix (Linear across heads), which multiply V — not the Softmax output' }
      : { node: n, where: `Softmax output after MatMul(Q, Kᵀ)${chain}` });
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
    for (const inp of n.inputs) {
      const t = constantThroughExpand(g, inp);
      if (t && t.dims.length >= 2 && t.dims[t.dims.length - 1] === embedDim) count += t.dims[t.dims.length - 2];
    }
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

/** Pre-norm: the first block's attention input passes a normalization right before the QKV projections. */
function normPlacement(g: GraphIndex, firstTap: OnnxNode): 'pre' | 'post' | 'unknown' {
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
  return last ? { tensor: last.outputs[0], where: `${last.opType} output after the last block` } : undefined;
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
      'This model computes attention inside com.microsoft.Attention, a fused ONNX Runtime operator that does not expose attention probabilities.',
      'Export the model without ORT transformer optimizations (e.g. plain torch.onnx.export with eager attention, or optimum with --no-post-process / optimization level O0).',
    );
  }
}
