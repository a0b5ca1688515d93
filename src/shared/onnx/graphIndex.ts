/** Lookup tables over an ONNX graph: who produces and who consumes each tensor, and constant values. */
import { OnnxGraph, OnnxNode, OnnxTensor, tensorValues } from './onnxModel';

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

  /** The constant tensor behind a name: an initializer or the output of a Constant node. */
  constant(name: string): OnnxTensor | undefined {
    const init = this.graph.initializers.get(name);
    if (init) return init;
    const p = this.producer.get(name);
    if (p?.opType === 'Constant') return p.attributes.get('value')?.t;
    // Weights are often fed through Identity/Cast/DequantizeLinear, still constant.
    if (p && (p.opType === 'Identity' || p.opType === 'Cast') && p.inputs[0]) return this.constant(p.inputs[0]);
    return undefined;
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
