/** Paths and loaders for the committed demo model, its PyTorch references and fixture images. */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { prepareModel, PreparedModel } from '../../src/shared/prepareModel';

export const ROOT = path.resolve(__dirname, '../..');
export const DEMO_MODEL = path.join(ROOT, 'models/vit-demo.onnx');
export const REFERENCE_DIR = path.join(ROOT, 'models/reference/vit-demo');

export interface ReferenceFixture {
  name: string;
  image: string;
  inputShape: number[];
  logitsShape: number[];
  attentionShape: number[];
  top5: { label: string; index: number; prob: number }[];
}

export function readFloat32(file: string): Float32Array {
  const b = readFileSync(file);
  return new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
}

export function demoModel(): PreparedModel {
  const bytes = new Uint8Array(readFileSync(DEMO_MODEL));
  const own = JSON.parse(readFileSync(path.join(ROOT, 'models/vit-demo.json'), 'utf8')) as Record<string, unknown>;
  return prepareModel(bytes, 'vit-demo.onnx', 'demo', { own });
}

export function referenceFixtures(): ReferenceFixture[] {
  return (JSON.parse(readFileSync(path.join(REFERENCE_DIR, 'index.json'), 'utf8')) as { fixtures: ReferenceFixture[] }).fixtures;
}

export function reference(f: ReferenceFixture) {
  const dir = path.join(REFERENCE_DIR, f.name);
  return { input: readFloat32(path.join(dir, 'input.bin')), logits: readFloat32(path.join(dir, 'logits.bin')), attention: readFloat32(path.join(dir, 'attention.bin')) };
}

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} ≠ ${b.length}`);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

export const SWIN_MODEL = path.join(ROOT, 'models/swin-demo.onnx');
export const SWIN_REFERENCE_DIR = path.join(ROOT, 'models/reference/swin-demo');

export interface SwinReferenceIndex {
  blocks: { block: number; stage: number; indexInStage: number; shifted: boolean; grid: number[]; windows: number; heads: number; attentionShape: number[] }[];
  fixtures: { name: string; image: string; inputShape: number[]; logitsShape: number[]; top5: { label: string; index: number; prob: number }[] }[];
}

export function swinModel(): PreparedModel {
  const bytes = new Uint8Array(readFileSync(SWIN_MODEL));
  const own = JSON.parse(readFileSync(path.join(ROOT, 'models/swin-demo.json'), 'utf8')) as Record<string, unknown>;
  return prepareModel(bytes, 'swin-demo.onnx', 'swin', { own });
}

export function swinReferenceIndex(): SwinReferenceIndex {
  return JSON.parse(readFileSync(path.join(SWIN_REFERENCE_DIR, 'index.json'), 'utf8')) as SwinReferenceIndex;
}
