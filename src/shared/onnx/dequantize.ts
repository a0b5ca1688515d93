/** DequantizeLinear on constant weights, so quantized exports show the same structure and teaching views as float ones. */

/**
 * x = (q − zeroPoint) · scale, with one scale (and zero point) for the whole tensor, or one per index of
 * `axis` (per-channel weights: onnxruntime's quantize_static(per_channel=True) writes axis 0 for Conv and
 * Gemm(transB), axis 1 for MatMul). Returns undefined when the scale fits neither layout (e.g. blocked
 * quantization), so the caller treats the tensor as unknown rather than misreading it.
 */
export function dequantizeLinear(q: ArrayLike<number>, dims: readonly number[], scale: ArrayLike<number>, zeroPoint: ArrayLike<number> | undefined, axis = 1): Float32Array | undefined {
  const out = new Float32Array(q.length);
  if (scale.length === 1) {
    const s = scale[0], z = zeroPoint?.[0] ?? 0;
    for (let i = 0; i < q.length; i++) out[i] = (q[i] - z) * s;
    return out;
  }
  const a = axis < 0 ? axis + dims.length : axis;
  if (a < 0 || a >= dims.length || dims[a] !== scale.length) return undefined;
  if (zeroPoint && zeroPoint.length !== scale.length) return undefined;
  // Elements of one channel come in runs of `inner` (the product of the dimensions after the axis).
  let inner = 1;
  for (let i = a + 1; i < dims.length; i++) inner *= dims[i];
  const channels = dims[a];
  for (let i = 0; i < q.length; i++) {
    const c = Math.floor(i / inner) % channels;
    out[i] = (q[i] - (zeroPoint?.[c] ?? 0)) * scale[c];
  }
  return out;
}
