/**
 * Makes every attention map an output of the model without re-encoding its weights.
 *
 * ORT only returns graph outputs. A protobuf parser merges repeated occurrences of an embedded message, so
 * appending `ModelProto.graph = GraphProto { output: [...] }` (field 7) to the original bytes adds outputs to
 * the existing graph. ORT's C++ parser follows that rule; the copy costs one memcpy of the file and no
 * parsing or encoding of the weights.
 */
import { Writer } from 'protobufjs/minimal';
import { TensorDataType } from './onnx/onnxModel';
import { VitStructure } from './vitStructure';

export interface InstrumentedModel {
  bytes: Uint8Array;
  /** Output names the session must fetch, in layer order. */
  attentionOutputs: string[];
  logitsOutput: string;
  featureOutput?: string;
  /** 'full': [B, H, T, T] per layer; 'cls-rows': only the first query row, [B, H, 1, T], computed in the graph. */
  attentionMode: 'full' | 'cls-rows';
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
export function instrumentAttention(original: Uint8Array, structure: VitStructure, existingOutputs: string[], elemType = TensorDataType.FLOAT, budgetBytes = Infinity): InstrumentedModel {
  const full = fullAttentionBytes(structure) ?? 0;
  const mode = full > budgetBytes && !structure.swin ? 'cls-rows' : 'full';
  const taps = structure.attention.map((t) => t.tensor);
  const attentionOutputs = mode === 'full' ? taps : taps.map((t) => `${t}/vitlens_cls_row`);
  const extra = structure.features ? [structure.features.tensor] : [];
  const wanted = [...attentionOutputs, ...extra].filter((name) => !existingOutputs.includes(name));
  const patch = mode === 'full' ? encodeOutputPatch(wanted, elemType) : encodeClsRowPatch(taps, wanted, elemType);
  const bytes = new Uint8Array(original.byteLength + patch.byteLength);
  bytes.set(original, 0);
  bytes.set(patch, original.byteLength);
  return { bytes, attentionOutputs, logitsOutput: structure.logits.name, featureOutput: structure.features?.tensor, attentionMode: mode };
}

/** Output patch plus, per tap, `Gather(tap, [0], axis=2)` and the int64 index initializer it reads. */
function encodeClsRowPatch(taps: string[], outputs: string[], elemType: number): Uint8Array {
  const graph = Writer.create();
  const index = 'vitlens_cls_index';
  for (const tap of taps) {
    const node = Writer.create()
      .uint32((1 << 3) | 2).string(tap)
      .uint32((1 << 3) | 2).string(index)
      .uint32((2 << 3) | 2).string(`${tap}/vitlens_cls_row`)
      .uint32((3 << 3) | 2).string(`${tap}/vitlens_cls_gather`)
      .uint32((4 << 3) | 2).string('Gather');
    // AttributeProto { name: 'axis', i: 2, type: INT (2) }
    const attr = Writer.create().uint32((1 << 3) | 2).string('axis').uint32((3 << 3) | 0).int64(2).uint32((20 << 3) | 0).int32(2).finish();
    node.uint32((5 << 3) | 2).bytes(attr);
    graph.uint32((1 << 3) | 2).bytes(node.finish());
  }
  // TensorProto { dims: [1], data_type: INT64, int64_data: [0], name }
  const init = Writer.create().uint32((1 << 3) | 0).int64(1).uint32((2 << 3) | 0).int32(TensorDataType.INT64).uint32((7 << 3) | 0).int64(0).uint32((8 << 3) | 2).string(index).finish();
  graph.uint32((5 << 3) | 2).bytes(init);
  const outs = encodeOutputPatch(outputs, elemType);
  // encodeOutputPatch returns a whole ModelProto patch; splice our graph fields in front of its graph's fields.
  const inner = outs.subarray(outPatchHeaderLength(outs));
  const merged = new Uint8Array(graph.len + inner.length);
  merged.set(graph.finish(), 0);
  merged.set(inner, merged.length - inner.length);
  return Writer.create().uint32((7 << 3) | 2).bytes(merged).finish();
}

/** Length of the `field 7, length` prefix of a ModelProto graph patch. */
function outPatchHeaderLength(patch: Uint8Array): number {
  let i = 1;
  while (patch[i] & 0x80) i++;
  return i + 1;
}

/** Bytes of `ModelProto { graph: GraphProto { output: [ValueInfoProto{name, tensor type}] } }`. */
export function encodeOutputPatch(names: string[], elemType: number): Uint8Array {
  const graph = Writer.create();
  for (const name of names) {
    const vi = Writer.create();
    vi.uint32((1 << 3) | 2).string(name);
    const tensorType = Writer.create().uint32((1 << 3) | 0).int32(elemType).finish();
    const typeProto = Writer.create().uint32((1 << 3) | 2).bytes(tensorType).finish();
    vi.uint32((2 << 3) | 2).bytes(typeProto);
    graph.uint32((12 << 3) | 2).bytes(vi.finish());
  }
  return Writer.create().uint32((7 << 3) | 2).bytes(graph.finish()).finish();
}
