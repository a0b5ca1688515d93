/**
 * Errors a user can act on. Each carries a message written for the panel and the notification,
 * and a stable `kind` the webview and the tests can branch on.
 */
import { t } from './l10n';

export type ErrorKind = 'model-format' | 'not-a-vit' | 'fused-attention' | 'image' | 'inference' | 'file';

export class VitLensError extends Error {
  constructor(public readonly kind: ErrorKind, message: string, public readonly hint?: string) {
    super(message);
    this.name = new.target.name;
  }
}

/** The bytes are not a readable ONNX model (empty, truncated, corrupt, or another format). */
export class ModelFormatError extends VitLensError {
  constructor(message: string, hint?: string) {
    super('model-format', message, hint);
  }
}

/** A valid ONNX model whose graph is not a Vision Transformer we can instrument. */
export class NotAViTError extends VitLensError {
  constructor(message: string, public readonly lookedFor: string[]) {
    super('not-a-vit', t`${message} Looked for: ${lookedFor.join('; ')}.`);
  }
}

/** Attention is computed inside a fused operator whose probabilities cannot be read out. */
export class FusedAttentionError extends VitLensError {
  constructor(message: string, hint: string) {
    super('fused-attention', message, hint);
  }
}

export class ImageError extends VitLensError {
  constructor(message: string) {
    super('image', message);
  }
}

/** Plain, serializable form for the protocol. */
export interface ErrorInfo {
  kind: ErrorKind;
  message: string;
  hint?: string;
}

export function toErrorInfo(e: unknown): ErrorInfo {
  if (e instanceof VitLensError) return { kind: e.kind, message: e.message, hint: e.hint };
  // Already an ErrorInfo (a rejection that crossed a worker or webview boundary as a plain object).
  if (typeof e === 'object' && e !== null && typeof (e as ErrorInfo).message === 'string' && typeof (e as ErrorInfo).kind === 'string') {
    const i = e as ErrorInfo;
    return { kind: i.kind, message: i.message, hint: i.hint };
  }
  return { kind: 'inference', message: e instanceof Error ? e.message : String(e) };
}
