/**
 * Each block's per-token L2 norms, computed in the graph (Darcet et al. 2023, high-norm tokens): Cast to float
 * (fp16 streams) → ReduceL2 over the width → [B, T], plus the stream's shape as floats, so only layers × tokens
 * numbers leave the model and the view can check each tensor is [1, tokens, width] before drawing it.
 */
import type { GraphPatch, PatchNode } from './instrumentAttention';

export interface TokenNormOutputs {
  /** Per block: [B, T] L2 norm of each token of the block's output. */
  norms: string[];
  /** Per block: the output's shape [B, T, D] as float32 (int64 outputs do not survive the worker's float conversion). */
  shapes: string[];
}

/**
 * Adds the nodes for `residual` (one tensor per block) to `patch`. `after[l]`, when given, names an output of
 * `patch` computed from block l's attention: the layer's nodes go right after it, so onnxruntime's leaf-first
 * ordering (see inGraphSummaries) still finishes one block before the next and holds no T×T map longer.
 */
export function addTokenNorms(patch: GraphPatch, residual: string[], opset: number, after?: string[]): TokenNormOutputs {
  const norms = residual.map((t) => `${t}/vitlens_token_norm`);
  const shapes = residual.map((t) => `${t}/vitlens_shape`);
  const axes = 'vitlens_token_norm_axes';
  // ReduceL2 takes axes as an input from opset 18, as an attribute before.
  if (opset >= 18) patch.initializers.push({ name: axes, dims: [1], int64: [-1] });
  const groups = residual.map((t, l): PatchNode[] => {
    const f = `${t}/vitlens_float`;
    const shape = `${t}/vitlens_shape_i64`;
    return [
      { opType: 'Cast', domain: '', inputs: [t], outputs: [f], attributes: [{ name: 'to', i: 1 }] },
      opset >= 18
        ? { opType: 'ReduceL2', domain: '', inputs: [f, axes], outputs: [norms[l]], attributes: [{ name: 'keepdims', i: 0 }] }
        : { opType: 'ReduceL2', domain: '', inputs: [f], outputs: [norms[l]], attributes: [{ name: 'axes', ints: [-1] }, { name: 'keepdims', i: 0 }] },
      { opType: 'Shape', domain: '', inputs: [t], outputs: [shape], attributes: [] },
      { opType: 'Cast', domain: '', inputs: [shape], outputs: [shapes[l]], attributes: [{ name: 'to', i: 1 }] },
    ];
  });
  for (let l = residual.length - 1; l >= 0; l--) {
    const at = after ? patch.nodes.findIndex((n) => n.outputs.includes(after[l])) : -1;
    if (at >= 0) patch.nodes.splice(at + 1, 0, ...groups[l]);
    else patch.nodes.push(...groups[l]);
  }
  return { norms, shapes };
}
