/** Paths and loaders for the bundled ImageNet ViT-Ti/16 (Google AugReg), its PyTorch references and view numbers. */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { prepareModel, PreparedModel } from '../../src/shared/prepareModel';
import { halfToFloat } from '../../src/shared/half';
import { readFloat32, type ReferenceFixture, ROOT } from './fixtures';

export const REAL_MODEL = path.join(ROOT, 'models/vit-tiny-imagenet.onnx');
export const REAL_CARD = path.join(ROOT, 'models/vit-tiny-imagenet.json');
export const REAL_REFERENCE_DIR = path.join(ROOT, 'models/reference/vit-tiny-imagenet');

/** The demo's reference fixture, plus the token norms of each block's output. */
export interface RealFixture extends ReferenceFixture {
  tokenNormsShape: number[];
}

export interface RealIndex {
  attentionQuantization: { maxAbsError: number; bound: number };
  /** Written by scripts/make_real_vit.py: 2 × the measured effect of storing the weights as float16 (+ quantization for attention). */
  tolerance: { logits: number; probabilities: number; attention: number; distancePx: number; method: string; measured: Record<string, number> };
  fixtures: RealFixture[];
}

export interface RealViews {
  positionEmbedding: { sameRow: number; sameColumn: number; neither: number; adjacent: number; allPairs: number; top1InRowOrColumn: number; top4InRowOrColumn: number; chanceInRowOrColumn: number };
  filters: { variances: number[]; components: number[][]; lowFrequencyFraction: number[]; whiteNoiseFraction: number };
  attentionDistance: { fixtures: Record<string, number[][]> };
  tokenNorms: { fixtures: Record<string, { layer: number; median: number; mad: number; cls: number; clsZ: number; outliers: number[]; maxZ: number }[]> };
}

export function realModel(): PreparedModel {
  const own = JSON.parse(readFileSync(REAL_CARD, 'utf8')) as Record<string, unknown>;
  return prepareModel(new Uint8Array(readFileSync(REAL_MODEL)), 'vit-tiny-imagenet.onnx', 'vit-tiny-imagenet', { own });
}

export function realIndex(): RealIndex {
  return JSON.parse(readFileSync(path.join(REAL_REFERENCE_DIR, 'index.json'), 'utf8')) as RealIndex;
}

export function realViews(): RealViews {
  return JSON.parse(readFileSync(path.join(REAL_REFERENCE_DIR, 'views.json'), 'utf8')) as RealViews;
}

export function readFloat16(file: string): Float32Array {
  const b = readFileSync(file);
  const out = new Float32Array(b.byteLength / 2);
  for (let i = 0; i < out.length; i++) out[i] = halfToFloat(b.readUInt16LE(2 * i));
  return out;
}

export function realReference(f: RealFixture) {
  const dir = path.join(REAL_REFERENCE_DIR, f.name);
  return {
    input: readFloat32(path.join(dir, 'input.bin')),
    logits: readFloat32(path.join(dir, 'logits.bin')),
    logitsFp16Weights: readFloat32(path.join(dir, 'logits.fp16-weights.bin')),
    attention: readFloat16(path.join(dir, 'attention.f16.bin')),
    tokenNorms: readFloat32(path.join(dir, 'tokenNorms.bin')),
  };
}

export function softmax(z: ArrayLike<number>): Float64Array {
  let m = -Infinity;
  for (let i = 0; i < z.length; i++) m = Math.max(m, z[i]);
  const e = Float64Array.from({ length: z.length }, (_, i) => Math.exp(z[i] - m));
  const s = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / s);
}

/** Indices of the k largest values, largest first. */
export function topK(z: ArrayLike<number>, k: number): number[] {
  return Array.from({ length: z.length }, (_, i) => i).sort((a, b) => z[b] - z[a]).slice(0, k);
}
