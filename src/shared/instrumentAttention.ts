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
}

export function instrumentAttention(original: Uint8Array, structure: VitStructure, existingOutputs: string[], elemType = TensorDataType.FLOAT): InstrumentedModel {
  const extra = structure.features ? [structure.features.tensor] : [];
  const wanted = [...structure.attention.map((t) => t.tensor), ...extra].filter((name) => !existingOutputs.includes(name));
  const patch = encodeOutputPatch(wanted, elemType);
  const bytes = new Uint8Array(original.byteLength + patch.byteLength);
  bytes.set(original, 0);
  bytes.set(patch, original.byteLength);
  return { bytes, attentionOutputs: structure.attention.map((t) => t.tensor), logitsOutput: structure.logits.name, featureOutput: structure.features?.tensor };
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
