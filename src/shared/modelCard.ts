/**
 * What the model file alone does not say: labels and preprocessing. Read, in this precedence, from a ViT
 * Lens model card (`model.json` beside `model.onnx`), timm's config.json, Hugging Face's
 * preprocessor_config.json (+ config.json for labels), else defaulted (ImageNet statistics, the graph's
 * input size); each setting records where it came from so the panel can say so.
 */
import IMAGENET_LABELS from './imagenetLabels.json';
import { t } from './l10n';
import type { Interpolation } from './resample';
import type { VitStructure } from './vitStructure';

export type { Interpolation };

/** Settings whose origin the panel reports. */
export type PreprocessSetting = 'size' | 'interpolation' | 'geometry' | 'normalize' | 'scale';

export interface Preprocess {
  /** Side of the square fed to the model; for a non-square input, its height (see `width`). */
  size: number;
  /** The input's width where it differs from its height (`size`), e.g. 384 for a 384×288 model. */
  width?: number;
  /** Before the crop: shorter side to the resize size (aspect kept), both sides ('squash'), or the longer side (timm 'border', padded). */
  resize: 'shorter-side' | 'squash' | 'longer-side';
  crop: 'center' | 'none';
  mean: number[];
  std: number[];
  /** Pixel values are divided by this before mean/std (255 for 0..1 inputs). */
  scale: number;
  /** PIL resampling filter; absent: bilinear (torchvision's Resize default, what the old cards meant). */
  interpolation?: Interpolation;
  /** timm's crop_pct: the resize size is floor(size / cropPct); absent: 1. */
  cropPct?: number;
  /** The resize size when a config states it (Hugging Face shortest_edge, {height, width}); overrides cropPct. */
  resizeSize?: number;
  /** 'squash' to a non-square size: its width (`resizeSize` is then its height). */
  resizeWidth?: number;
  /** Center-crop offset: torchvision/timm int(round((h − crop)/2)) or Hugging Face (h − crop)//2. Absent: 'round'. */
  cropRounding?: 'round' | 'floor';
  /** Where each setting came from, e.g. { interpolation: 'config.json, timm' }. */
  sources?: Partial<Record<PreprocessSetting, string>>;
}

export interface ModelCard {
  name: string;
  labels: string[];
  preprocess: Preprocess;
  source: 'card' | 'timm' | 'huggingface' | 'default';
  /** The labels are ImageNet-1k's names, assumed because the model has 1000 outputs and nothing named them. */
  labelsAssumed?: boolean;
  heldOutAccuracy?: number;
}

export const IMAGENET_MEAN = [0.485, 0.456, 0.406];
export const IMAGENET_STD = [0.229, 0.224, 0.225];

/** Labels for `classes` outputs when no file names them: ImageNet-1k's for 1000, else "class i". */
function defaultLabels(classes: number): { labels: string[]; labelsAssumed?: boolean } {
  if (classes === IMAGENET_LABELS.length) return { labels: [...IMAGENET_LABELS], labelsAssumed: true };
  return { labels: Array.from({ length: classes }, (_, i) => t`class ${i}`) };
}

export function defaultCard(name: string, s: VitStructure): ModelCard {
  const size = s.input.height ?? (s.grid ? s.grid.rows * s.patchSize : 224);
  const width = s.input.width ?? (s.grid && !s.input.height ? s.grid.cols * s.patchSize : size);
  const byDefault = t('default');
  return {
    name,
    ...defaultLabels(s.logits.classes ?? 0),
    preprocess: {
      // timm's eval rule for crop_pct 1: the shorter side (a non-square input: the image scaled to cover it), center crop.
      size, ...(width !== size ? { width } : {}), resize: 'shorter-side', crop: 'center', mean: IMAGENET_MEAN, std: IMAGENET_STD, scale: 255, interpolation: 'bilinear',
      sources: { size: t('graph input'), interpolation: byDefault, geometry: byDefault, normalize: t('default, ImageNet'), scale: byDefault },
    },
    source: 'default',
  };
}

/** The model input's height and width in pixels. */
export function inputSize(p: Pick<Preprocess, 'size' | 'width'>): { height: number; width: number } {
  return { height: p.size, width: p.width ?? p.size };
}

/** "224×224", or "384×288 (width×height)" where it is not square. */
export function describeInputSize(p: Pick<Preprocess, 'size' | 'width'>): string {
  const { height, width } = inputSize(p);
  return width === height ? `${width}×${height}` : t`${width}×${height} (width×height)`;
}

/** Sets the input's height and width (`width` kept only where it differs). */
function setInputSize(q: Preprocess, height: number, width: number): void {
  q.size = height;
  if (width !== height) q.width = width;
  else delete q.width;
}

type Json = Record<string, unknown>;

function numbers(v: unknown, n: number): number[] | undefined {
  return Array.isArray(v) && v.length === n && v.every((x) => typeof x === 'number') ? (v as number[]) : undefined;
}

function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

const INTERPOLATIONS: readonly string[] = ['nearest', 'bilinear', 'bicubic'];

function interpolation(v: unknown): Interpolation | undefined {
  return typeof v === 'string' && INTERPOLATIONS.includes(v) ? (v as Interpolation) : undefined;
}

/** A copy of `fallback` that the next source overrides field by field. */
function layer(fallback: ModelCard, source: ModelCard['source']): ModelCard {
  return { ...fallback, labels: [...fallback.labels], preprocess: { ...fallback.preprocess, sources: { ...fallback.preprocess.sources } }, source };
}

/** A ViT Lens card (see models/vit-demo.json). Missing fields fall back to `fallback`; `from` names the file. */
export function cardFromJson(json: Json, fallback: ModelCard, from = t('model card')): ModelCard {
  const card = layer(fallback, 'card');
  const p = (isObject(json.preprocess) ? json.preprocess : {});
  const q = card.preprocess;
  const src = q.sources!;
  const held = json.heldOut as Json | undefined;
  if (typeof json.name === 'string') card.name = json.name;
  if (Array.isArray(json.labels)) { card.labels = json.labels.map(String); card.labelsAssumed = undefined; }
  // "size": 224, or [height, width] / { "height": 288, "width": 384 } for a non-square input.
  const hw = heightWidth(p.size);
  if (hw) { setInputSize(q, hw[0], hw[1]); src.size = from; }
  const interp = interpolation(p.interpolation);
  if (interp) { q.interpolation = interp; src.interpolation = from; }
  else if (p.interpolation !== undefined) src.interpolation = t`${from} asks for "${String(p.interpolation)}", not supported: ${interpolationName(q.interpolation ?? 'bilinear')} used`;
  // Our cards follow torchvision: shorter side, center crop with round(); crop_pct as timm.
  if (p.resize !== undefined || p.crop !== undefined || p.cropPct !== undefined || p.crop_pct !== undefined || p.resizeSize !== undefined) {
    q.resize = p.resize === 'squash' ? 'squash' : p.resize === 'longer-side' ? 'longer-side' : 'shorter-side';
    q.crop = p.crop === 'none' ? 'none' : 'center';
    const pct = typeof p.cropPct === 'number' ? p.cropPct : typeof p.crop_pct === 'number' ? p.crop_pct : undefined;
    q.cropPct = pct;
    q.resizeSize = typeof p.resizeSize === 'number' ? p.resizeSize : undefined;
    q.cropRounding = 'round';
    src.geometry = from;
  }
  setNormalize(q, p.mean, p.std, from);
  if (typeof p.scale === 'number') { q.scale = p.scale; src.scale = from; }
  card.heldOutAccuracy = typeof held?.accuracy === 'number' ? held.accuracy : undefined;
  return card;
}

/** Mean and std when the source gives them (three numbers each), noting where they came from. */
function setNormalize(q: Preprocess, mean: unknown, std: unknown, from: string): void {
  const m = numbers(mean, 3), s = numbers(std, 3);
  if (m) q.mean = m;
  if (s) q.std = s;
  if (m || s) (q.sources ??= {}).normalize = from;
}

/** Which library wrote a config.json: timm (pretrained_cfg, architecture, num_classes, label_names) or Hugging Face (id2label, model_type). */
export function configKind(json: Json): 'timm' | 'huggingface' | undefined {
  if (isObject(json.pretrained_cfg) || typeof json.architecture === 'string' || Array.isArray(json.label_names)) return 'timm';
  if (isObject(json.id2label) || typeof json.model_type === 'string' || Array.isArray(json.architectures)) return 'huggingface';
  if (typeof json.num_classes === 'number') return 'timm';
  return undefined;
}

/** A size as a number (square), [height, width] or { height, width }: [height, width]. */
function heightWidth(v: unknown): [number, number] | undefined {
  const ok = (x: unknown): x is number => typeof x === 'number' && Number.isInteger(x) && x > 0;
  if (ok(v)) return [v, v];
  if (Array.isArray(v) && v.length === 2 && ok(v[0]) && ok(v[1])) return [v[0], v[1]];
  if (isObject(v) && ok(v.height) && ok(v.width)) return [v.height, v.width];
  return undefined;
}

/** timm's config.json: preprocessing under `pretrained_cfg` (or at the top level), labels from `label_names`. */
export function cardFromTimm(config: Json, fallback: ModelCard, from = t('config.json, timm')): ModelCard {
  const card = layer(fallback, 'timm');
  const c: Json = isObject(config.pretrained_cfg) ? { ...config, ...config.pretrained_cfg } : config;
  const q = card.preprocess;
  const src = q.sources!;
  const labels = Array.isArray(config.label_names) ? config.label_names : c.label_names;
  if (Array.isArray(labels)) { card.labels = labels.map(String); card.labelsAssumed = undefined; }
  const input = numbers(c.input_size, 3);
  if (input) { setInputSize(q, input[1], input[2]); src.size = `${from}: input_size`; }
  const interp = interpolation(c.interpolation);
  if (interp) { q.interpolation = interp; src.interpolation = from; }
  else if (c.interpolation !== undefined) {
    // timm's other modes (lanczos, box, hamming, random) are not implemented: bicubic is the nearest in spirit.
    q.interpolation = 'bicubic';
    src.interpolation = t`${from} asks for "${String(c.interpolation)}", not supported: bicubic used`;
  }
  // timm's eval transform (transforms_imagenet_eval): crop_pct defaults to 0.875 and crop_mode to center (a
  // non-square input_size: ResizeKeepRatio to floor(side / crop_pct) per side, see resizeCropFor).
  q.cropPct = typeof c.crop_pct === 'number' ? c.crop_pct : 0.875;
  q.resize = c.crop_mode === 'squash' ? 'squash' : c.crop_mode === 'border' ? 'longer-side' : 'shorter-side';
  q.crop = 'center';
  q.resizeSize = undefined;
  q.resizeWidth = undefined;
  q.cropRounding = 'round';
  src.geometry = from;
  setNormalize(q, c.mean, c.std, from);
  // timm's ToTensor divides by 255.
  q.scale = 255;
  src.scale = t('timm ToTensor');
  return card;
}

const PIL_FILTERS: Record<number, Interpolation | undefined> = { 0: 'nearest', 2: 'bilinear', 3: 'bicubic' };

/**
 * Hugging Face: labels from config.json's id2label, preprocessing from preprocessor_config.json with the
 * image processors' semantics (resize with PIL, then center crop with (h − crop)//2).
 */
export function cardFromHuggingFace(config: Json | undefined, preprocessor: Json | undefined, fallback: ModelCard, from = 'preprocessor_config.json'): ModelCard {
  const card = layer(fallback, 'huggingface');
  const id2label = config?.id2label;
  if (isObject(id2label)) {
    const n = Math.max(fallback.labels.length, ...Object.keys(id2label).map((k) => Number(k) + 1).filter(Number.isFinite));
    card.labels = Array.from({ length: n }, (_, i) => (id2label[String(i)] !== undefined ? String(id2label[String(i)]) : `class ${i}`));
    card.labelsAssumed = undefined;
  }
  if (!preprocessor) return card;
  const pp = preprocessor;
  const q = card.preprocess;
  const src = q.sources!;
  if (pp.resample !== undefined) {
    const f = typeof pp.resample === 'number' ? PIL_FILTERS[pp.resample] : undefined;
    q.interpolation = f ?? 'bicubic';
    src.interpolation = f ? `${from}: resample ${String(pp.resample)}` : t`${from} asks for resample ${String(pp.resample)}, not supported: bicubic used`;
  }
  const crop = pp.do_center_crop === true;
  const cropHW = crop ? heightWidth(pp.crop_size) : undefined;
  const cropSide = cropHW?.[0];
  const size = pp.size;
  const resize = pp.do_resize !== false;
  q.cropRounding = 'floor';
  q.cropPct = undefined;
  q.resizeSize = undefined;
  q.resizeWidth = undefined;
  const sizeHW = isObject(size) ? heightWidth({ height: size.height, width: size.width }) : undefined;
  if (resize && sizeHW) {
    // {height, width}: a plain resize to that size, then the optional crop.
    if (cropHW) { q.resize = 'squash'; q.resizeSize = sizeHW[0]; q.resizeWidth = sizeHW[1] !== sizeHW[0] ? sizeHW[1] : undefined; q.crop = 'center'; setInputSize(q, cropHW[0], cropHW[1]); }
    else { q.resize = 'squash'; q.crop = 'none'; setInputSize(q, sizeHW[0], sizeHW[1]); }
    src.geometry = from;
  } else if (resize && (typeof size === 'number' || (isObject(size) && typeof size.shortest_edge === 'number'))) {
    const edge = typeof size === 'number' ? size : (size as { shortest_edge: number }).shortest_edge;
    if (typeof size === 'number' && !cropSide) {
      // A bare int without a crop is the old ViTFeatureExtractor's square size (default_to_square).
      q.resize = 'squash'; q.crop = 'none'; setInputSize(q, edge, edge);
      src.geometry = from;
    } else if (typeof pp.crop_pct === 'number' && edge < 384) {
      // ConvNextImageProcessor: shorter side to int(edge / crop_pct), then crop edge×edge.
      q.resize = 'shorter-side'; q.resizeSize = Math.trunc(edge / pp.crop_pct); q.crop = 'center'; setInputSize(q, edge, edge);
      src.geometry = `${from}: shortest_edge ${edge}, crop_pct ${pp.crop_pct}`;
    } else {
      q.resize = 'shorter-side'; q.resizeSize = edge; q.crop = 'center'; setInputSize(q, cropHW?.[0] ?? edge, cropHW?.[1] ?? edge);
      src.geometry = cropSide ? from : t`${from} (no center crop there: ViT Lens crops ${edge}×${edge}, the model needs a square input)`;
    }
  } else if (cropSide) {
    // No resize: only the crop (ViT Lens resizes the shorter side to it first, since images vary in size).
    q.resize = 'shorter-side'; q.resizeSize = Math.min(...cropHW!); q.crop = 'center'; setInputSize(q, cropHW![0], cropHW![1]);
    src.geometry = t`${from} (do_resize false: ViT Lens resizes the shorter side to the crop)`;
  }
  if (pp.do_rescale === false) { q.scale = 1; src.scale = t`${from}: do_rescale false`; }
  else if (typeof pp.rescale_factor === 'number' && pp.rescale_factor > 0) {
    const s = 1 / pp.rescale_factor;
    // 1/(1/255) is 255 within a few ulps; keep the integer.
    q.scale = Math.abs(s - Math.round(s)) < 1e-9 ? Math.round(s) : s;
    src.scale = `${from}: rescale_factor`;
  }
  if (pp.do_normalize === false) { q.mean = [0, 0, 0]; q.std = [1, 1, 1]; src.normalize = t`${from}: do_normalize false`; }
  else {
    setNormalize(q, pp.image_mean, pp.image_std, from);
  }
  return card;
}


/** An interpolation's name as shown; the value itself is an identifier. */
function interpolationName(i: Interpolation): string {
  return i === 'nearest' ? t('nearest') : i === 'bicubic' ? t('bicubic') : t('bilinear');
}

function list(v: number[]): string {
  return v.map((x) => +x.toFixed(4)).join(', ');
}

/** One line for the panel: every preprocessing setting and, in brackets, where it came from. */
export function describePreprocess(p: Preprocess): string {
  const s = p.sources ?? {};
  const at = (k: PreprocessSetting) => (s[k] ? ` (${s[k]})` : '');
  const { height, width } = inputSize(p);
  const wh = (w: number, h: number) => `${w}×${h}`;
  let geometry: string;
  if (p.crop === 'none') geometry = t`squash to ${wh(width, height)}`;
  else {
    const resize = p.resizeSize ?? Math.floor(p.size / (p.cropPct ?? 1));
    const how = p.resizeSize === undefined && p.cropPct !== undefined ? ` (crop_pct ${p.cropPct})` : '';
    const squashW = p.resizeWidth ?? (p.resizeSize !== undefined ? resize : Math.floor(width / (p.cropPct ?? 1)));
    const box = squashW !== resize ? `${wh(squashW, resize)}` : String(resize);
    const first = p.resize === 'squash' ? t`squash to ${wh(squashW, resize)}${how}` : p.resize === 'longer-side' ? t`longer side to ${box}${how}, padded with the mean colour`
      : squashW !== resize ? t`scaled to cover ${box}, aspect kept${how}` : t`shorter side to ${resize}${how}`;
    geometry = t`${first}, center crop ${width === height ? p.size : wh(width, height)}`;
  }
  return [
    `${describeInputSize(p)}${at('size')}`,
    `${interpolationName(p.interpolation ?? 'bilinear')}${at('interpolation')}`,
    `${geometry}${at('geometry')}`,
    `${t`mean ${list(p.mean)}, std ${list(p.std)}`}${at('normalize')}`,
    `${t`pixels ÷ ${+p.scale.toFixed(4)}`}${at('scale')}`,
  ].join('; ');
}
