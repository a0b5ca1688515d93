/**
 * Makes every attention map an output of the model without re-encoding its weights.
 *
 * ORT only returns graph outputs. A protobuf parser merges repeated occurrences of an embedded message, so
 * appending `ModelProto.graph = GraphProto { output: [...] }` (field 7) to the original bytes adds outputs to
 * the existing graph. ORT's C++ parser follows that rule; nothing of the weights is parsed, encoded or copied
 * here (see instrumentedBytes).
 */
import { Writer } from 'protobufjs/minimal';
import { TensorDataType } from './onnx/onnxModel';
import { addInGraphSummaries, InGraphSummaries } from './inGraphSummaries';
import { addTokenNorms } from './tokenNormGraph';
import { VitStructure } from './vitStructure';

export interface InstrumentedModel {
  /** Bytes to append to the original model (a GraphProto patch); the original is never copied here. */
  graphPatch: Uint8Array;
  /** Output names the session must fetch, in layer order. */
  attentionOutputs: string[];
  logitsOutput: string;
  featureOutput?: string;
  /** 'full': [B, H, T, T] per layer; 'cls-rows': only the first query row, [B, H, 1, T], computed in the graph. */
  attentionMode: 'full' | 'cls-rows';
  /** cls-rows only: per layer, token 0's rollout row through layers 1…l (mean over heads), computed in the graph. */
  rolloutOutputs?: string[];
  /** cls-rows only: per layer, each head's mean attention distance in pixels, computed in the graph. */
  distanceOutputs?: string[];
  /** Per block: each token's L2 norm [B, T] of the block's output, and that output's shape (float32 [3]), computed in the graph. */
  tokenNormOutputs?: string[];
  residualShapeOutputs?: string[];
  /** MAP head (SigLIP): the learned probe's Softmax output, the attention the classifier reads. */
  mapProbeOutput?: string;
}

/** Bytes all layers' full attention takes for one image (float32). */
export function fullAttentionBytes(s: VitStructure): number | undefined {
  if (s.swin) return s.swin.blocks.reduce((a, b) => a + b.windows * (b.heads ?? 1) * (b.window * b.window) ** 2 * 4, 0);
  if (!s.tokens) return undefined;
  // Heads unknown statically: assume 64-wide heads, the usual ViT choice.
  const heads = s.heads ?? Math.max(1, Math.round(s.embedDim / 64));
  return s.layers * heads * s.tokens * s.tokens * 4;
}

/**
 * Adds the attention maps (and final features) as outputs. Over `budgetBytes`, global-attention models get
 * only each layer's CLS row, sliced inside the graph (a Gather appended with the outputs), so the full
 * T×T matrices are never copied out: 3 601 tokens × 6 heads is 311 MB per layer, the CLS rows 86 KB.
 */
export function instrumentAttention(structure: VitStructure, existingOutputs: string[], elemType = TensorDataType.FLOAT, budgetBytes = Infinity): InstrumentedModel {
  const full = fullAttentionBytes(structure) ?? 0;
  const mode = full > budgetBytes && !structure.swin ? 'cls-rows' : 'full';
  const patch: GraphPatch = { nodes: [], initializers: [], outputs: [], valueInfo: [] };
  // Fused attention operators: a second copy of the node with the optional scores/probabilities output declared
  // (outputs of an existing node cannot be added by appending); MultiHeadAttention's qk output holds the scaled
  // scores before softmax, so a Softmax follows. The copy recomputes only the attention, not the whole block.
  for (const t of structure.attention) {
    if (!t.fused) continue;
    const f = t.fused;
    const y = `${t.tensor}/vitlens_y`;
    if (f.kind === 'onnx-attention') {
      patch.nodes.push({ opType: 'Attention', domain: '', inputs: f.inputs, outputs: [y, '', '', t.tensor], attributes: f.attributes });
    } else {
      const qk = `${t.tensor}/vitlens_qk`;
      patch.nodes.push({ opType: 'MultiHeadAttention', domain: 'com.microsoft', inputs: f.inputs, outputs: [y, '', '', qk], attributes: f.attributes });
      patch.nodes.push({ opType: 'Softmax', domain: '', inputs: [qk], outputs: [t.tensor], attributes: [{ name: 'axis', i: -1 }] });
      (patch.valueInfo ??= []).push({ name: qk, elemType });
    }
  }
  const taps = structure.attention.map((t) => t.tensor);
  let attentionOutputs = taps;
  let summaries: InGraphSummaries | undefined;
  if (mode === 'cls-rows') {
    const s = structure;
    const queryRows = s.distillation ? [0, 1] : [0];
    const layout = s.tokens && s.grid ? { tokens: s.tokens, prefix: s.prefixTokens, grid: s.grid, patchSize: s.patchSize, opset: s.opset ?? 17, queryRows } : undefined;
    // Rollout and distances need the token layout and float32 maths (the initializers are float32): float16
    // probabilities are cast to float32 first.
    const half = elemType === TensorDataType.FLOAT16;
    const withStatistics = !!layout && (elemType === TensorDataType.FLOAT || half);
    summaries = addInGraphSummaries(patch, taps, layout ?? { tokens: 0, prefix: 0, grid: { rows: 0, cols: 0 }, patchSize: 0, opset: 17, queryRows }, withStatistics, half);
    attentionOutputs = summaries.clsRows;
  }
  const norms = structure.residual ? addTokenNorms(patch, structure.residual, structure.opset ?? 17, summaries?.clsRows) : undefined;
  const d = structure.distillation;
  // The MAP probe's attention ([heads, 1, tokens] per image: small) is always output in full, whatever the budget.
  const probe = structure.mapProbe?.tensor;
  const extra = [...(structure.features ? [structure.features.tensor] : []), ...(d ? [d.cls, d.dist] : []), ...(probe ? [probe] : [])];
  const statistics = summaries ? [...summaries.rollout, ...summaries.distance] : [];
  patch.outputs = [...attentionOutputs, ...extra].filter((name) => !existingOutputs.includes(name)).map((name) => ({ name, elemType }));
  patch.outputs.push(...statistics.map((name) => ({ name, elemType: TensorDataType.FLOAT })));
  // Cast to float in the graph whatever the model computes in.
  if (norms) patch.outputs.push(...[...norms.norms, ...norms.shapes].map((name) => ({ name, elemType: TensorDataType.FLOAT })));
  return {
    // A plain Uint8Array: protobufjs gives a Node Buffer, which postMessage would send as {type, data} JSON.
    graphPatch: new Uint8Array(encodeGraphPatch(patch)), attentionOutputs, logitsOutput: structure.logits.name, featureOutput: structure.features?.tensor, attentionMode: mode,
    rolloutOutputs: summaries?.rollout.length ? summaries.rollout : undefined,
    distanceOutputs: summaries?.distance.length ? summaries.distance : undefined,
    tokenNormOutputs: norms?.norms, residualShapeOutputs: norms?.shapes,
    mapProbeOutput: probe,
  };
}

/**
 * The instrumented model as one buffer: original bytes, then the patch. Built once, where a copy is made anyway
 * (handing the model to the inference worker or to onnxruntime), so a 350 MB model is not copied twice.
 */
export function instrumentedBytes(m: { bytes: Uint8Array; graphPatch?: Uint8Array }): Uint8Array {
  const patch = m.graphPatch ?? new Uint8Array(0);
  const out = new Uint8Array(m.bytes.byteLength + patch.byteLength);
  out.set(m.bytes, 0);
  out.set(patch, m.bytes.byteLength);
  return out;
}

export interface PatchAttribute { name: string; i?: number; f?: number; s?: string; ints?: number[] }
export interface PatchNode { opType: string; domain: string; inputs: string[]; outputs: string[]; attributes: PatchAttribute[] }
export interface GraphPatch {
  nodes: PatchNode[];
  initializers: { name: string; dims: number[]; int64?: number[]; float?: Float32Array }[];
  outputs: { name: string; elemType: number }[];
  /** Type declarations for intermediate tensors whose type ORT cannot infer (e.g. MultiHeadAttention's qk). */
  valueInfo?: { name: string; elemType: number }[];
}

/**
 * Bytes of `ModelProto { graph: GraphProto { node…, initializer…, output… } }`, to append to a model:
 * repeated fields of the embedded graph message merge into the existing graph.
 */
export function encodeGraphPatch(p: GraphPatch): Uint8Array {
  const graph = Writer.create();
  p.nodes.forEach((n, k) => {
    const node = Writer.create();
    for (const i of n.inputs) node.uint32((1 << 3) | 2).string(i);
    for (const o of n.outputs) node.uint32((2 << 3) | 2).string(o);
    node.uint32((3 << 3) | 2).string(`vitlens_${n.opType}_${k}`).uint32((4 << 3) | 2).string(n.opType);
    for (const a of n.attributes) node.uint32((5 << 3) | 2).bytes(encodeAttribute(a));
    if (n.domain) node.uint32((7 << 3) | 2).string(n.domain);
    graph.uint32((1 << 3) | 2).bytes(node.finish());
  });
  for (const t of p.initializers) {
    const w = Writer.create();
    for (const d of t.dims) w.uint32((1 << 3) | 0).int64(d);
    if (t.float) {
      // raw_data is little-endian, as typed arrays are on every platform VS Code runs on.
      w.uint32((2 << 3) | 0).int32(TensorDataType.FLOAT).uint32((9 << 3) | 2).bytes(new Uint8Array(t.float.buffer, t.float.byteOffset, t.float.byteLength));
    } else {
      w.uint32((2 << 3) | 0).int32(TensorDataType.INT64);
      for (const v of t.int64 ?? []) w.uint32((7 << 3) | 0).int64(v);
    }
    graph.uint32((5 << 3) | 2).bytes(w.uint32((8 << 3) | 2).string(t.name).finish());
  }
  const valueInfo = (o: { name: string; elemType: number }) => {
    const tensorType = Writer.create().uint32((1 << 3) | 0).int32(o.elemType).finish();
    const typeProto = Writer.create().uint32((1 << 3) | 2).bytes(tensorType).finish();
    return Writer.create().uint32((1 << 3) | 2).string(o.name).uint32((2 << 3) | 2).bytes(typeProto).finish();
  };
  for (const o of p.outputs) graph.uint32((12 << 3) | 2).bytes(valueInfo(o));
  for (const o of p.valueInfo ?? []) graph.uint32((13 << 3) | 2).bytes(valueInfo(o));
  return Writer.create().uint32((7 << 3) | 2).bytes(graph.finish()).finish();
}

/** AttributeProto with its type (INT 2, FLOAT 1, STRING 3, INTS 7). */
function encodeAttribute(a: PatchAttribute): Uint8Array {
  const w = Writer.create().uint32((1 << 3) | 2).string(a.name);
  if (a.f !== undefined) w.uint32((2 << 3) | 5).float(a.f).uint32((20 << 3) | 0).int32(1);
  else if (a.i !== undefined) w.uint32((3 << 3) | 0).int64(a.i).uint32((20 << 3) | 0).int32(2);
  else if (a.s !== undefined) w.uint32((4 << 3) | 2).bytes(new TextEncoder().encode(a.s)).uint32((20 << 3) | 0).int32(3);
  else if (a.ints) {
    for (const v of a.ints) w.uint32((8 << 3) | 0).int64(v);
    w.uint32((20 << 3) | 0).int32(7);
  }
  return w.finish();
}

/** Bytes of `ModelProto { graph: GraphProto { output: [ValueInfoProto{name, tensor type}] } }`. */
export function encodeOutputPatch(names: string[], elemType: number): Uint8Array {
  return encodeGraphPatch({ nodes: [], initializers: [], outputs: names.map((name) => ({ name, elemType })) });
}
