/** Lookup tables over an ONNX graph: who produces and who consumes each tensor, and constant values. */
import { OnnxGraph, OnnxNode, OnnxTensor, TensorDataType, tensorValues } from './onnxModel';

export class GraphIndex {
  readonly producer = new Map<string, OnnxNode>();
  readonly consumers = new Map<string, OnnxNode[]>();
  readonly order = new Map<OnnxNode, number>();

  constructor(readonly graph: OnnxGraph) {
    graph.nodes.forEach((n, i) => {
      this.order.set(n, i);
      for (const o of n.outputs) if (o) this.producer.set(o, n);
      for (const inp of n.inputs) {
        if (!inp) continue;
        const list = this.consumers.get(inp);
        if (list) list.push(n);
        else this.consumers.set(inp, [n]);
      }
    });
  }

  consumersOf(tensor: string): OnnxNode[] {
    return this.consumers.get(tensor) ?? [];
  }

  /** Nodes that compute `tensors` (their ancestors through every input). */
  ancestors(tensors: string[]): Set<OnnxNode> {
    const seen = new Set<OnnxNode>();
    const stack = [...tensors];
    while (stack.length) {
      const p = this.producer.get(stack.pop()!);
      if (!p || seen.has(p)) continue;
      seen.add(p);
      stack.push(...p.inputs.filter(Boolean));
    }
    return seen;
  }

  /** The constant tensor behind a name: an initializer or the output of a Constant node. */
  constant(name: string): OnnxTensor | undefined {
    const init = this.graph.initializers.get(name);
    if (init) return init;
    const p = this.producer.get(name);
    if (p?.opType === 'Constant') return p.attributes.get('value')?.t;
    // Weights are often fed through Identity/Cast/DequantizeLinear, still constant.
    if (p && (p.opType === 'Identity' || p.opType === 'Cast') && p.inputs[0]) return this.constant(p.inputs[0]);
    if (p?.opType === 'DequantizeLinear') return this.dequantized(name, p);
    return undefined;
  }

  private readonly dequantizedCache = new Map<string, OnnxTensor | undefined>();

  /**
   * A DequantizeLinear of constant int8/uint8 weights as a float constant with the weight's dims (patch Conv,
   * CLS token, position embedding of QDQ exports). Per-tensor or per-axis scales only: blocked ones are not
   * read (the node still counts as constant, see isConstant). Values are dequantized only when asked for.
   */
  private dequantized(name: string, p: OnnxNode): OnnxTensor | undefined {
    if (this.dequantizedCache.has(name)) return this.dequantizedCache.get(name);
    const x = p.inputs[0] ? this.constant(p.inputs[0]) : undefined;
    const scale = p.inputs[1] ? this.constant(p.inputs[1]) : undefined;
    const zeroPoint = p.inputs[2] ? this.constant(p.inputs[2]) : undefined;
    const axis = p.attributes.get('axis')?.i ?? 1;
    const a = x && axis < 0 ? axis + x.dims.length : axis;
    const channels = scale?.dims.reduce((m, d) => m * d, 1);
    const fits = !!x && !!scale && !p.attributes.get('block_size')?.i && (channels === 1 || x.dims[a] === channels);
    const t: OnnxTensor | undefined = fits ? { name, dims: x.dims, dataType: TensorDataType.FLOAT, external: x.external ?? scale.external ?? zeroPoint?.external, dequantize: { x, scale, zeroPoint, axis } } : undefined;
    this.dequantizedCache.set(name, t);
    return t;
  }

  isConstant(name: string): boolean {
    if (this.constant(name)) return true;
    const p = this.producer.get(name);
    return !!p && p.opType === 'DequantizeLinear' && this.isConstant(p.inputs[0]);
  }

  /** A scalar constant's value, if the tensor is a one-element constant. */
  scalar(name: string): number | undefined {
    const t = this.constant(name);
    if (!t || t.external) return undefined;
    const v = tensorValues(t);
    return v.length === 1 ? v[0] : undefined;
  }

  /** Nodes reached forwards through pass-through ops. */
  consumersThroughPassThrough(tensor: string): OnnxNode[] {
    const out: OnnxNode[] = [];
    for (const c of this.consumersOf(tensor)) {
      if (PASS_THROUGH.has(c.opType)) out.push(...this.consumersThroughPassThrough(c.outputs[0]));
      else out.push(c);
    }
    return out;
  }
}

export const PASS_THROUGH = new Set(['Cast', 'Identity', 'Dropout']);
