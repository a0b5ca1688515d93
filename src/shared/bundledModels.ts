/** The models shipped in the extension's `models/` folder, selectable as `bundled:<name>` (vitLens.modelPath). */
export const BUNDLED_MODELS = [
  { name: 'vit-tiny-imagenet', label: 'ViT-Ti/16, ImageNet-1k (Google AugReg weights): the default' },
  { name: 'vit-demo', label: 'Shapes demo ViT (ViT-Tiny/16 trained on synthetic shapes, CLS token)' },
  { name: 'swin-demo', label: 'Swin demo (patch 4, window 7, shifted windows; synthetic shapes)' },
  { name: 'deit-demo', label: 'DeiT demo (CLS + distillation token, taught by a CNN; synthetic shapes)' },
];

/** Used when vitLens.modelPath is empty, and by the CLI when no model is given: a real ImageNet ViT. */
export const DEFAULT_BUNDLED_MODEL = 'vit-tiny-imagenet';
