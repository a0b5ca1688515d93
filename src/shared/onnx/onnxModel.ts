/**
 * Reads the parts of an ONNX ModelProto that ViT Lens needs (graph topology, attributes, initializer
 * metadata) straight from the protobuf wire format. Tensor payloads (raw_data) are kept as views into the
 * original bytes, never copied, so a 350 MB ViT-B costs no second copy of its weights.
 * Field numbers follow onnx/onnx.proto (IR version 10).
 */
import { Reader } from 'protobufjs/minimal';
import { ModelFormatError } from '../errors';
import { halfToFloat } from '../half';
import { t } from '../l10n';
import { dequantizeLinear } from './dequantize';

export const enum TensorDataType {
  FLOAT = 1,
  UINT8 = 2,
  INT8 = 3,
  INT32 = 6,
  INT64 = 7,
  FLOAT16 = 10,
  DOUBLE = 11,
}

export interface OnnxTensor {
  name: string;
  dims: number[];
  dataType: number;
  /** Little-endian payload when stored as raw_data (a view into the model bytes). */
  raw?: Uint8Array;
  floatData?: number[];
  int64Data?: number[];
  int32Data?: number[];
  /** Set when the payload lives in an external file (data_location = EXTERNAL). */
  external?: Record<string, string>;
  /** A DequantizeLinear of constants read as a float constant (GraphIndex.constant); values computed on demand. */
  dequantize?: { x: OnnxTensor; scale: OnnxTensor; zeroPoint?: OnnxTensor; axis: number };
}

export interface OnnxAttribute {
  name: string;
  type: number;
  f?: number;
  i?: number;
  s?: string;
  t?: OnnxTensor;
  floats?: number[];
  ints?: number[];
}

export interface OnnxNode {
  name: string;
  opType: string;
  domain: string;
  inputs: string[];
  outputs: string[];
  attributes: Map<string, OnnxAttribute>;
}

export interface OnnxValueInfo {
  name: string;
  /** Element type (TensorDataType) when the value is a tensor. */
  elemType?: number;
  /** Dimensions: a number when fixed, a string for a symbolic dimension, undefined when unknown. */
  shape?: (number | string | undefined)[];
}

export interface OnnxGraph {
  name: string;
  nodes: OnnxNode[];
  initializers: Map<string, OnnxTensor>;
  inputs: OnnxValueInfo[];
  outputs: OnnxValueInfo[];
  valueInfo: Map<string, OnnxValueInfo>;
}

export interface OnnxModel {
  irVersion: number;
  producerName: string;
  producerVersion: string;
  opsets: { domain: string; version: number }[];
  graph: OnnxGraph;
  byteLength: number;
}

/** int64 as a JS number (protobufjs yields a Long object when the long package is present). */
function i64(r: Reader): number {
  const v: unknown = r.int64();
  return typeof v === 'number' ? v : (v as { toNumber(): number }).toNumber();
}

/** Iterates the fields of one message occupying reader[pos, end). */
function forEachField(r: Reader, end: number, onField: (field: number, wireType: number) => boolean): void {
  while (r.pos < end) {
    const tag = r.uint32();
    const field = tag >>> 3;
    const wireType = tag & 7;
    if (field === 0) {
      throw new Error(t`illegal field number 0 at byte ${r.pos}`);
    }
    if (!onField(field, wireType)) {
      r.skipType(wireType);
    }
  }
  if (r.pos !== end) {
    throw new Error(t`message overruns its length at byte ${r.pos}`);
  }
}

/** Start/end of a length-delimited sub-message, checked against the buffer. */
function subMessage(r: Reader): number {
  const len = r.uint32();
  const end = r.pos + len;
  if (end > r.len) {
    throw new Error(t`length ${len} at byte ${r.pos} runs past the end of the file`);
  }
  return end;
}

function readPacked(r: Reader, wireType: number, read: () => number, into: number[]): void {
  if (wireType === 2) {
    const end = subMessage(r);
    while (r.pos < end) into.push(read());
  } else {
    into.push(read());
  }
}

function readTensor(r: Reader, end: number): OnnxTensor {
  const tensor: OnnxTensor = { name: '', dims: [], dataType: 0 };
  let location = 0;
  forEachField(r, end, (f, w) => {
    switch (f) {
      case 1: readPacked(r, w, () => i64(r), tensor.dims); return true;
      case 2: tensor.dataType = r.int32(); return true;
      case 4: readPacked(r, w, () => r.float(), (tensor.floatData ??= [])); return true;
      case 5: readPacked(r, w, () => r.int32(), (tensor.int32Data ??= [])); return true;
      case 7: readPacked(r, w, () => i64(r), (tensor.int64Data ??= [])); return true;
      case 8: tensor.name = r.string(); return true;
      case 9: {
        const len = r.uint32();
        if (r.pos + len > r.len) throw new Error(t('tensor data runs past the end of the file'));
        tensor.raw = r.buf.subarray(r.pos, r.pos + len);
        r.pos += len;
        return true;
      }
      case 13: {
        const e = subMessage(r);
        let key = '';
        let value = '';
        forEachField(r, e, (ff) => {
          if (ff === 1) { key = r.string(); return true; }
          if (ff === 2) { value = r.string(); return true; }
          return false;
        });
        (tensor.external ??= {})[key] = value;
        return true;
      }
      case 14: location = r.int32(); return true;
      default: return false;
    }
  });
  if (location !== 1) delete tensor.external;
  return tensor;
}

function readAttribute(r: Reader, end: number): OnnxAttribute {
  const a: OnnxAttribute = { name: '', type: 0 };
  forEachField(r, end, (f, w) => {
    switch (f) {
      case 1: a.name = r.string(); return true;
      case 2: a.f = r.float(); return true;
      case 3: a.i = i64(r); return true;
      case 4: a.s = new TextDecoder().decode(r.bytes()); return true;
      case 5: a.t = readTensor(r, subMessage(r)); return true;
      case 7: readPacked(r, w, () => r.float(), (a.floats ??= [])); return true;
      case 8: readPacked(r, w, () => i64(r), (a.ints ??= [])); return true;
      case 20: a.type = r.int32(); return true;
      default: return false;
    }
  });
  return a;
}

function readNode(r: Reader, end: number): OnnxNode {
  const n: OnnxNode = { name: '', opType: '', domain: '', inputs: [], outputs: [], attributes: new Map() };
  forEachField(r, end, (f) => {
    switch (f) {
      case 1: n.inputs.push(r.string()); return true;
      case 2: n.outputs.push(r.string()); return true;
      case 3: n.name = r.string(); return true;
      case 4: n.opType = r.string(); return true;
      case 5: { const a = readAttribute(r, subMessage(r)); n.attributes.set(a.name, a); return true; }
      case 7: n.domain = r.string(); return true;
      default: return false;
    }
  });
  if (n.domain === 'ai.onnx') n.domain = '';
  return n;
}

function readShape(r: Reader, end: number): (number | string | undefined)[] {
  const dims: (number | string | undefined)[] = [];
  forEachField(r, end, (f) => {
    if (f !== 1) return false;
    const e = subMessage(r);
    let d: number | string | undefined;
    forEachField(r, e, (ff) => {
      if (ff === 1) { d = i64(r); return true; }
      if (ff === 2) { d = r.string(); return true; }
      return false;
    });
    dims.push(d);
    return true;
  });
  return dims;
}

function readValueInfo(r: Reader, end: number): OnnxValueInfo {
  const v: OnnxValueInfo = { name: '' };
  forEachField(r, end, (f) => {
    if (f === 1) { v.name = r.string(); return true; }
    if (f !== 2) return false;
    const typeEnd = subMessage(r);
    forEachField(r, typeEnd, (tf) => {
      if (tf !== 1) return false; // only tensor_type
      const tEnd = subMessage(r);
      forEachField(r, tEnd, (ttf) => {
        if (ttf === 1) { v.elemType = r.int32(); return true; }
        if (ttf === 2) { v.shape = readShape(r, subMessage(r)); return true; }
        return false;
      });
      return true;
    });
    return true;
  });
  return v;
}

function readGraph(r: Reader, end: number): OnnxGraph {
  const g: OnnxGraph = { name: '', nodes: [], initializers: new Map(), inputs: [], outputs: [], valueInfo: new Map() };
  forEachField(r, end, (f) => {
    switch (f) {
      case 1: g.nodes.push(readNode(r, subMessage(r))); return true;
      case 2: g.name = r.string(); return true;
      case 5: { const t = readTensor(r, subMessage(r)); g.initializers.set(t.name, t); return true; }
      case 11: g.inputs.push(readValueInfo(r, subMessage(r))); return true;
      case 12: g.outputs.push(readValueInfo(r, subMessage(r))); return true;
      case 13: { const v = readValueInfo(r, subMessage(r)); g.valueInfo.set(v.name, v); return true; }
      default: return false;
    }
  });
  return g;
}

/**
 * Parses ONNX model bytes. Throws ModelFormatError with a specific reason for empty, truncated,
 * corrupt or non-ONNX input.
 */
export function readOnnxModel(bytes: Uint8Array): OnnxModel {
  if (bytes.byteLength === 0) {
    throw new ModelFormatError(t('The model file is empty (0 bytes).'));
  }
  if (looksLikeText(bytes)) {
    throw new ModelFormatError(t('The file is text, not an ONNX protobuf. Was a JSON or config file renamed to .onnx?'));
  }
  const r = Reader.create(bytes);
  const model: OnnxModel = { irVersion: 0, producerName: '', producerVersion: '', opsets: [], graph: undefined as unknown as OnnxGraph, byteLength: bytes.byteLength };
  let graphs = 0;
  try {
    forEachField(r, bytes.byteLength, (f) => {
      switch (f) {
        case 1: model.irVersion = i64(r); return true;
        case 2: model.producerName = r.string(); return true;
        case 3: model.producerVersion = r.string(); return true;
        case 7: {
          const g = readGraph(r, subMessage(r));
          // A repeated embedded message merges (protobuf semantics): later output lists append.
          if (graphs++ === 0) model.graph = g;
          else mergeGraph(model.graph, g);
          return true;
        }
        case 8: {
          const e = subMessage(r);
          const o = { domain: '', version: 0 };
          forEachField(r, e, (ff) => {
            if (ff === 1) { o.domain = r.string(); return true; }
            if (ff === 2) { o.version = i64(r); return true; }
            return false;
          });
          model.opsets.push(o);
          return true;
        }
        default: return false;
      }
    });
  } catch (e) {
    if (e instanceof ModelFormatError) throw e;
    throw new ModelFormatError(t`The file is not a valid ONNX model, or it is truncated or corrupt: ${(e as Error).message}.`);
  }
  if (!model.graph || model.graph.nodes.length === 0) {
    throw new ModelFormatError(t('The file parsed as protobuf but holds no ONNX graph (no nodes). Is it an ONNX model?'));
  }
  if (model.irVersion <= 0 || model.opsets.length === 0) {
    throw new ModelFormatError(t('The file has no ONNX IR version or opset import: it is not a valid ONNX model (or is corrupt).'));
  }
  return model;
}

function mergeGraph(into: OnnxGraph, g: OnnxGraph): void {
  into.nodes.push(...g.nodes);
  into.inputs.push(...g.inputs);
  into.outputs.push(...g.outputs);
  for (const [k, v] of g.initializers) into.initializers.set(k, v);
  for (const [k, v] of g.valueInfo) into.valueInfo.set(k, v);
}

function looksLikeText(bytes: Uint8Array): boolean {
  const n = Math.min(bytes.byteLength, 512);
  for (let i = 0; i < n; i++) {
    const b = bytes[i];
    if (b < 9 || (b > 13 && b < 32)) return false;
  }
  return true;
}

export function opsetVersion(model: OnnxModel, domain = ''): number | undefined {
  return model.opsets.find((o) => o.domain === domain || (domain === '' && o.domain === 'ai.onnx'))?.version;
}

/** Decodes an initializer to float64 numbers (FLOAT, FLOAT16, INT64, INT32, DOUBLE). External data is not resolved. */
export function tensorValues(t: OnnxTensor): number[] {
  if (t.dequantize) {
    const d = t.dequantize;
    const x = dequantizeLinear(tensorValues(d.x), d.x.dims, tensorValues(d.scale), d.zeroPoint && tensorValues(d.zeroPoint), d.axis);
    return x ? Array.from(x) : [];
  }
  if (t.floatData?.length) return t.floatData;
  if (t.int64Data?.length) return t.int64Data;
  if (t.int32Data?.length) {
    return t.dataType === TensorDataType.FLOAT16 ? t.int32Data.map(halfToFloat) : t.int32Data;
  }
  const raw = t.raw;
  if (!raw) return [];
  const dv = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  const out: number[] = [];
  switch (t.dataType) {
    case TensorDataType.FLOAT: for (let i = 0; i + 4 <= raw.byteLength; i += 4) out.push(dv.getFloat32(i, true)); break;
    case TensorDataType.DOUBLE: for (let i = 0; i + 8 <= raw.byteLength; i += 8) out.push(dv.getFloat64(i, true)); break;
    case TensorDataType.INT64: for (let i = 0; i + 8 <= raw.byteLength; i += 8) out.push(Number(dv.getBigInt64(i, true))); break;
    case TensorDataType.INT32: for (let i = 0; i + 4 <= raw.byteLength; i += 4) out.push(dv.getInt32(i, true)); break;
    case TensorDataType.FLOAT16: for (let i = 0; i + 2 <= raw.byteLength; i += 2) out.push(halfToFloat(dv.getUint16(i, true))); break;
    // Quantized weights (DequantizeLinear inputs).
    case TensorDataType.INT8: for (let i = 0; i < raw.byteLength; i++) out.push(dv.getInt8(i)); break;
    case TensorDataType.UINT8: for (let i = 0; i < raw.byteLength; i++) out.push(dv.getUint8(i)); break;
    default: break;
  }
  return out;
}
