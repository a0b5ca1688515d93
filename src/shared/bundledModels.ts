import { t } from './l10n';

/** The models shipped in the extension's `models/` folder, selectable as `bundled:<name>` (vitLens.modelPath). */
export function bundledModels(): { name: string; label: string }[] {
  return [
    { name: 'vit-tiny-imagenet', label: t('ViT-Ti/16, ImageNet-1k (Google AugReg weights): the default') },
    { name: 'vit-demo', label: t('Shapes demo ViT (ViT-Tiny/16 trained on synthetic shapes, CLS token)') },
    { name: 'swin-demo', label: t('Swin demo (patch 4, window 7, shifted windows; synthetic shapes)') },
    { name: 'deit-demo', label: t('DeiT demo (CLS + distillation token, taught by a CNN; synthetic shapes)') },
  ];
}

/** Used when vitLens.modelPath is empty, and by the CLI when no model is given: a real ImageNet ViT. */
export const DEFAULT_BUNDLED_MODEL = 'vit-tiny-imagenet';
