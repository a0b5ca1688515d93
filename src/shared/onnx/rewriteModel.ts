/**
 * A copy of an ONNX model with a few graph entries replaced: initializers, shape constants, input shapes.
 * Every other byte is copied verbatim (weights are never decoded); only the length prefixes of the graph
 * message change. Used for the teaching variants of a model (another resolution, no position embedding).
 */
import { Reader, Writer } from 'protobufjs/minimal';
import { floatToHalf } from '../half';
import { readOnnxModel, TensorDataType } from './onnxModel';

export interface ModelEdits {
  /** New float values and dims for these initializers (stored in the tensor's own type, float32 or float16). */
  initializers?: Map<string, { dims: number[]; data: Float32Array }>;
  /** New int64 values for these 1-D constants: initializers or outputs of Constant nodes (shape arguments). */
  int64Constants?: Map<string, number[]>;
  /** New dimensions for these graph inputs. */
  inputDims?: Map<string, (number | string)[]>;
  /** Drop the graph's value_info: intermediate shapes recorded by the exporter no longer hold. */
  dropValueInfo?: boolean;
}

/** Where one field of a message lies: [start, end) including its tag, and its body for length-delimited fields. */
interface FieldSpan { field: number; start: number; end: number; bodyStart: number }

function fieldsOf(bytes: Uint8Array, start: number, end: number): FieldSpan[] {
  const r = Reader.create(bytes);
  r.pos = start;
  const out: FieldSpan[] = [];
  while (r.pos < end) {
    const s = r.pos;
    const tag = r.uint32();
    let bodyStart = r.pos;
    if ((tag & 7) === 2) {
      const len = r.uint32();
      bodyStart = r.pos;
      r.pos += len;
    } else {
      r.skipType(tag & 7);
    }
    out.push({ field: tag >>> 3, start: s, end: r.pos, bodyStart });
  }
  return out;
}

/** The string at field `want` of the message body [start, end) (names of tensors, value infos, node outputs). */
function stringsAt(bytes: Uint8Array, start: number, end: number, want: number): string[] {
  const dec = new TextDecoder();
  return fieldsOf(bytes, start, end).filter((f) => f.field === want).map((f) => dec.decode(bytes.subarray(f.bodyStart, f.end)));
}

function lengthDelimited(field: number, body: Uint8Array): Uint8Array {
  return Writer.create().uint32((field << 3) | 2).bytes(body).finish();
}

function encodeFloatTensor(name: string, dims: number[], data: Float32Array, dataType: number): Uint8Array {
  const w = Writer.create();
  for (const d of dims) w.uint32((1 << 3) | 0).int64(d);
  w.uint32((2 << 3) | 0).int32(dataType);
  let raw: Uint8Array;
  if (dataType === TensorDataType.FLOAT16) {
    const h = new Uint16Array(data.length);
    for (let i = 0; i < data.length; i++) h[i] = floatToHalf(data[i]);
    raw = new Uint8Array(h.buffer);
  } else {
    raw = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  }
  return w.uint32((8 << 3) | 2).string(name).uint32((9 << 3) | 2).bytes(raw).finish();
}

function encodeInt64Tensor(name: string, values: number[]): Uint8Array {
  const w = Writer.create().uint32((1 << 3) | 0).int64(values.length).uint32((2 << 3) | 0).int32(TensorDataType.INT64);
  for (const v of values) w.uint32((7 << 3) | 0).int64(v);
  if (name) w.uint32((8 << 3) | 2).string(name);
  return w.finish();
}

function encodeConstantNode(name: string, output: string, values: number[]): Uint8Array {
  const attr = Writer.create().uint32((1 << 3) | 2).string('value').uint32((5 << 3) | 2).bytes(encodeInt64Tensor('', values)).uint32((20 << 3) | 0).int32(4).finish();
  return Writer.create().uint32((2 << 3) | 2).string(output).uint32((3 << 3) | 2).string(name).uint32((4 << 3) | 2).string('Constant').uint32((5 << 3) | 2).bytes(attr).finish();
}

function encodeTensorValueInfo(name: string, elemType: number, dims: (number | string)[]): Uint8Array {
  const shape = Writer.create();
  for (const d of dims) {
    const dim = typeof d === 'number' ? Writer.create().uint32((1 << 3) | 0).int64(d).finish() : Writer.create().uint32((2 << 3) | 2).string(d).finish();
    shape.uint32((1 << 3) | 2).bytes(dim);
  }
  const tensorType = Writer.create().uint32((1 << 3) | 0).int32(elemType).uint32((2 << 3) | 2).bytes(shape.finish()).finish();
  const typeProto = Writer.create().uint32((1 << 3) | 2).bytes(tensorType).finish();
  return Writer.create().uint32((1 << 3) | 2).string(name).uint32((2 << 3) | 2).bytes(typeProto).finish();
}

/**
 * The model's bytes with `edits` applied to its graph. Only the first graph message is kept: later ones are
 * the outputs ViT Lens appends when instrumenting, which the caller re-instruments for the new copy.
 */
export function rewriteModel(bytes: Uint8Array, edits: ModelEdits): Uint8Array {
  const model = readOnnxModel(bytes); // validates, and gives types to what is re-encoded
  const parts: Uint8Array[] = [];
  let graphs = 0;
  for (const top of fieldsOf(bytes, 0, bytes.byteLength)) {
    if (top.field !== 7) {
      parts.push(bytes.subarray(top.start, top.end));
      continue;
    }
    if (graphs++ > 0) continue;
    const body: Uint8Array[] = [];
    for (const f of fieldsOf(bytes, top.bodyStart, top.end)) {
      const verbatim = bytes.subarray(f.start, f.end);
      if (f.field === 13 && edits.dropValueInfo) continue;
      if (f.field === 5) {
        const [name] = stringsAt(bytes, f.bodyStart, f.end, 8);
        const float = edits.initializers?.get(name);
        const ints = edits.int64Constants?.get(name);
        const old = model.graph.initializers.get(name);
        if (float) body.push(lengthDelimited(5, encodeFloatTensor(name, float.dims, float.data, old?.dataType === TensorDataType.FLOAT16 ? TensorDataType.FLOAT16 : TensorDataType.FLOAT)));
        else if (ints) body.push(lengthDelimited(5, encodeInt64Tensor(name, ints)));
        else body.push(verbatim);
        continue;
      }
      if (f.field === 1 && edits.int64Constants) {
        const outputs = stringsAt(bytes, f.bodyStart, f.end, 2);
        const ints = outputs.length === 1 ? edits.int64Constants.get(outputs[0]) : undefined;
        const [opType] = stringsAt(bytes, f.bodyStart, f.end, 4);
        if (ints && opType === 'Constant') {
          const [name] = stringsAt(bytes, f.bodyStart, f.end, 3);
          body.push(lengthDelimited(1, encodeConstantNode(name ?? '', outputs[0], ints)));
          continue;
        }
      }
      if (f.field === 11 && edits.inputDims) {
        const [name] = stringsAt(bytes, f.bodyStart, f.end, 1);
        const dims = edits.inputDims.get(name);
        const info = model.graph.inputs.find((i) => i.name === name);
        if (dims && info) {
          body.push(lengthDelimited(11, encodeTensorValueInfo(name, info.elemType ?? TensorDataType.FLOAT, dims)));
          continue;
        }
      }
      body.push(verbatim);
    }
    const total = body.reduce((n, b) => n + b.byteLength, 0);
    const graph = new Uint8Array(total);
    let o = 0;
    for (const b of body) {
      graph.set(b, o);
      o += b.byteLength;
    }
    parts.push(lengthDelimited(7, graph));
  }
  return concatBytes(parts);
}

/** One new buffer holding `parts` in order. */
export function concatBytes(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.byteLength;
  }
  return out;
}
