/**
 * What the views need when full attention is over the memory budget, computed inside the graph so only a few
 * numbers per layer leave it: the CLS row (a Gather), the rollout of the CLS token through layers 1…l (mean
 * over heads, nothing discarded) and each head's mean attention distance (ViT paper, Fig. 7 right).
 * The maths matches rollout.ts and locality.ts, which the tests hold it to.
 */
import type { GraphPatch, PatchNode } from './instrumentAttention';

export interface SummaryLayout {
  tokens: number;
  prefix: number;
  grid: { rows: number; cols: number };
  patchSize: number;
  /** Default-domain opset: ReduceMean/ReduceSum take axes as an input from 18/13 on, an attribute before. */
  opset: number;
  /** Query rows kept: [0] (CLS), or [0, 1] for DeiT (CLS and distillation token). */
  queryRows?: number[];
}

export interface InGraphSummaries {
  /** Per layer, in layer order: [.., Q, T] query rows (CLS, and DeiT's distillation token) of the attention. */
  clsRows: string[];
  /** Per layer: [.., T] rollout row of token 0 through layers 1…l. */
  rollout: string[];
  /** Per layer: [.., H, 1, 1] mean attention distance of each head, in pixels. */
  distance: string[];
}

/**
 * Adds the summary nodes for `taps` ([B,H,T,T] or [B·H,T,T], batch 1 at run time) to `patch`.
 * onnxruntime orders execution by a depth-first walk from the graph's leaves, last-appended leaf first, so each
 * layer's leaves are appended after the next layer's: layer 1's outputs are computed as soon as its softmax is,
 * and no layer's T×T matrix waits for the end of the network (ViT-S/8 at 480 px: 4.36 GB peak in forward
 * order, 1.01 GB this way round, onnxruntime-web in Node).
 */
export function addInGraphSummaries(patch: GraphPatch, taps: string[], l: SummaryLayout, withStatistics: boolean, halfTaps = false): InGraphSummaries {
  const { tokens: T, prefix, grid, patchSize } = l;
  const n = grid.rows * grid.cols;
  const name = (s: string) => `vitlens_${s}`;
  const float = (s: string, dims: number[], values: ArrayLike<number>) => {
    patch.initializers.push({ name: name(s), dims, float: Float32Array.from(values) });
    return name(s);
  };
  const int64 = (s: string, values: number[]) => {
    patch.initializers.push({ name: name(s), dims: [values.length], int64: values });
    return name(s);
  };
  const shared: PatchNode[] = [];
  const node = (list: PatchNode[], opType: string, inputs: string[], output: string, attributes: PatchNode['attributes'] = []) => {
    list.push({ opType, domain: '', inputs, outputs: [output], attributes });
    return output;
  };
  const reduce = (list: PatchNode[], op: 'ReduceMean' | 'ReduceSum', input: string, axis: number, keep: number, output: string) => {
    const axesAsInput = op === 'ReduceSum' ? l.opset >= 13 : l.opset >= 18;
    return axesAsInput
      ? node(list, op, [input, int64(`axes_${output}`, [axis])], output, [{ name: 'keepdims', i: keep }])
      : node(list, op, [input], output, [{ name: 'axes', ints: [axis] }, { name: 'keepdims', i: keep }]);
  };

  const clsIndex = int64('cls_index', l.queryRows ?? [0]);
  const clsRows = taps.map((t) => `${t}/vitlens_cls_row`);
  const rollout = taps.map((t) => `${t}/vitlens_rollout`);
  const distance = taps.map((t) => `${t}/vitlens_distance`);
  const half = withStatistics ? float('half', [], [0.5]) : '';
  let distanceMatrix = '';
  let keyMaskColumn = '';
  let queryMean = '';
  let tiny = '';
  if (withStatistics) {
    // Pixel distance between patch centres, [T, T], zero on prefix-token keys (they have no position).
    const q = new Float32Array(T * 2);
    const keyMask = new Float32Array(T);
    const queryWeights = new Float32Array(T);
    for (let i = 0; i < n; i++) {
      q[(prefix + i) * 2] = Math.floor(i / grid.cols) * patchSize;
      q[(prefix + i) * 2 + 1] = (i % grid.cols) * patchSize;
      keyMask[prefix + i] = 1;
      queryWeights[prefix + i] = 1 / n;
    }
    const diff = node(shared, 'Sub', [float('pos_q', [T, 1, 2], q), float('pos_k', [1, T, 2], q)], name('pos_diff'));
    const sq = reduce(shared, 'ReduceSum', node(shared, 'Mul', [diff, diff], name('pos_diff_sq')), -1, 0, name('pos_dist_sq'));
    distanceMatrix = node(shared, 'Mul', [node(shared, 'Sqrt', [sq], name('pos_dist')), float('key_mask', [1, T], keyMask)], name('patch_distance'));
    keyMaskColumn = float('key_mask_col', [T, 1], keyMask);
    queryMean = float('query_mean', [1, T], queryWeights);
    tiny = float('tiny', [], [1e-30]);
  }
  // float16 graphs: the statistics run in float32 on a cast copy of each layer's probabilities (rollout
  // multiplies up to L matrices; half precision would drift), so rollout and distances come out as float32.
  const stats = halfTaps && withStatistics ? taps.map((t) => node(shared, 'Cast', [t], `${t}/vitlens_f32`, [{ name: 'to', i: 1 }])) : taps;
  const meanOverHeads = withStatistics ? stats.map((t, k) => reduce(shared, 'ReduceMean', t, -3, 1, name(`mean_heads_${k}`))) : [];
  const e0 = withStatistics ? float('e0', [1, T], Array.from({ length: T }, (_, i) => (i === 0 ? 1 : 0))) : '';

  const groups: PatchNode[][] = taps.map((t, layer) => {
    const g: PatchNode[] = [];
    if (withStatistics) {
      // Rollout row of token 0: e0ᵀ Â_l ··· Â_0 with Â = (Ā + I) / 2, so v ← (v Ā + v) / 2, deepest layer first.
      let v = e0;
      for (let k = layer; k >= 0; k--) {
        const u = node(g, 'MatMul', [v, meanOverHeads[k]], name(`roll_${layer}_${k}_u`));
        const sum = node(g, 'Add', [u, v], name(`roll_${layer}_${k}_sum`));
        v = node(g, 'Mul', [sum, half], k === 0 ? rollout[layer] : name(`roll_${layer}_${k}`));
      }
      // Mean distance: Σ_k a_qk d_qk / Σ_k a_qk over patch keys, averaged over patch queries.
      const weighted = reduce(g, 'ReduceSum', node(g, 'Mul', [stats[layer], distanceMatrix], name(`dist_${layer}_w`)), -1, 1, name(`dist_${layer}_num`));
      const mass = node(g, 'Max', [node(g, 'MatMul', [stats[layer], keyMaskColumn], name(`dist_${layer}_mass0`)), tiny], name(`dist_${layer}_mass`));
      node(g, 'MatMul', [queryMean, node(g, 'Div', [weighted, mass], name(`dist_${layer}_per_query`))], distance[layer]);
    }
    g.push({ opType: 'Gather', domain: '', inputs: [t, clsIndex], outputs: [clsRows[layer]], attributes: [{ name: 'axis', i: -2 }] });
    return g;
  });
  patch.nodes.push(...shared);
  for (let layer = groups.length - 1; layer >= 0; layer--) patch.nodes.push(...groups[layer]);
  return { clsRows, rollout: withStatistics ? rollout : [], distance: withStatistics ? distance : [] };
}
