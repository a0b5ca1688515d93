/**
 * Tensor data between the views (always float32) and a session, shared by the webview worker and the Node runner:
 * whole-graph float16 exports take and give float16, which onnxruntime does not convert by itself.
 */
import { ModelFormatError } from './errors';
import { floatToHalf, halfToFloat } from './half';
import { t } from './l10n';

/** What both onnxruntime builds report per session input (InferenceSession.inputMetadata). */
interface InputMetadata { readonly name: string; readonly isTensor: boolean; readonly type?: string }

export type ImageFeed = { type: 'float32'; data: Float32Array } | { type: 'float16'; data: Uint16Array };

/** The float32 pixels in the element type the image input declares; other types are refused with the reason. */
export function imageFeed(inputs: readonly InputMetadata[], name: string, pixels: Float32Array): ImageFeed {
  const type = inputs.find((m) => m.name === name)?.type ?? 'float32';
  if (type === 'float32') return { type, data: pixels };
  if (type === 'float16') return { type, data: Uint16Array.from(pixels, floatToHalf) };
  throw new ModelFormatError(t`The model's image input "${name}" takes ${type} values; ViT Lens feeds normalized pixels as float32 or float16 only.`, t('Export the model with a float32 (or float16) image input.'));
}

/** An output as float32: float16 outputs arrive as raw halves (Uint16Array) or, where the platform has it, a Float16Array. */
export function outputAsFloat32(t: { readonly type: string; readonly data: unknown }): Float32Array {
  if (t.data instanceof Float32Array) return t.data;
  if (t.type === 'float16' && t.data instanceof Uint16Array) return Float32Array.from(t.data, halfToFloat);
  return Float32Array.from(t.data as ArrayLike<number>);
}
