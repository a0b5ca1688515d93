/**
 * What the model file alone does not say: labels and preprocessing. Read from a ViT Lens model card
 * (`model.json` beside `model.onnx`), from Hugging Face's config.json + preprocessor_config.json in the
 * same folder, or defaulted (ImageNet statistics, the graph's input size) and said so in the panel.
 */
import type { VitStructure } from './vitStructure';

export interface Preprocess {
  /** Square side fed to the model. */
  size: number;
  resize: 'shorter-side' | 'squash';
  crop: 'center' | 'none';
  mean: number[];
  std: number[];
  /** Pixel values are divided by this before mean/std (255 for 0..1 inputs). */
  scale: number;
}

export interface ModelCard {
  name: string;
  labels: string[];
  preprocess: Preprocess;
  source: 'card' | 'huggingface' | 'default';
  heldOutAccuracy?: number;
}

export const IMAGENET_MEAN = [0.485, 0.456, 0.406];
export const IMAGENET_STD = [0.229, 0.224, 0.225];

export function defaultCard(name: string, s: VitStructure): ModelCard {
  const size = s.input.height ?? (s.grid ? s.grid.rows * s.patchSize : 224);
  return {
    name,
    labels: Array.from({ length: s.logits.classes ?? 0 }, (_, i) => `class ${i}`),
    preprocess: { size, resize: 'shorter-side', crop: 'center', mean: IMAGENET_MEAN, std: IMAGENET_STD, scale: 255 },
    source: 'default',
  };
}

type Json = Record<string, unknown>;

function numbers(v: unknown, n: number): number[] | undefined {
  return Array.isArray(v) && v.length === n && v.every((x) => typeof x === 'number') ? (v as number[]) : undefined;
}

/** A ViT Lens card (see models/vit-demo.json). Missing fields fall back to `fallback`. */
export function cardFromJson(json: Json, fallback: ModelCard): ModelCard {
  const p = (json.preprocess ?? {}) as Json;
  const held = json.heldOut as Json | undefined;
  return {
    name: typeof json.name === 'string' ? json.name : fallback.name,
    labels: Array.isArray(json.labels) ? json.labels.map(String) : fallback.labels,
    preprocess: {
      size: typeof p.size === 'number' ? p.size : fallback.preprocess.size,
      resize: p.resize === 'squash' ? 'squash' : 'shorter-side',
      crop: p.crop === 'none' ? 'none' : 'center',
      mean: numbers(p.mean, 3) ?? fallback.preprocess.mean,
      std: numbers(p.std, 3) ?? fallback.preprocess.std,
      scale: typeof p.scale === 'number' ? p.scale : 255,
    },
    source: 'card',
    heldOutAccuracy: typeof held?.accuracy === 'number' ? held.accuracy : undefined,
  };
}

/** Hugging Face: labels from config.json's id2label, statistics from preprocessor_config.json. */
export function cardFromHuggingFace(config: Json | undefined, preprocessor: Json | undefined, fallback: ModelCard): ModelCard {
  const card: ModelCard = { ...fallback, preprocess: { ...fallback.preprocess }, source: 'huggingface' };
  const id2label = config?.id2label as Record<string, string> | undefined;
  if (id2label && typeof id2label === 'object') {
    const n = Math.max(fallback.labels.length, ...Object.keys(id2label).map((k) => Number(k) + 1));
    card.labels = Array.from({ length: n }, (_, i) => id2label[String(i)] ?? `class ${i}`);
  }
  if (preprocessor) {
    card.preprocess.mean = numbers(preprocessor.image_mean, 3) ?? card.preprocess.mean;
    card.preprocess.std = numbers(preprocessor.image_std, 3) ?? card.preprocess.std;
    if (typeof preprocessor.rescale_factor === 'number') card.preprocess.scale = 1 / preprocessor.rescale_factor;
    // HF ViTImageProcessor resizes to exactly size×size (no crop).
    if (preprocessor.do_center_crop !== true) { card.preprocess.resize = 'squash'; card.preprocess.crop = 'none'; }
  }
  return card;
}
