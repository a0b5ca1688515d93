/**
 * Every ONNX export the project tries, by family: what ViT Lens shows for it or the reason it refuses, and the test
 * that compares it with PyTorch (or checks the refusal). The README's "Models it reads" table is rendered from this
 * list and test/inference/exportCensus.test.ts keeps the two equal, so the README cannot claim a family nobody tried.
 */

/** 'notDrawn': read, but every layer refused by the drawing rule (src/shared/tokenLayout.ts) when run. */
export type Outcome = 'shown' | 'partly' | 'notDrawn' | 'refused';

export interface Family {
  family: string;
  /** Paths from the repository root. */
  files: string[];
  outcome: Outcome;
  /** What the panel shows; for a refusal, a fragment of the message it gives. */
  shows: string;
  /** The tests that compare these exports with PyTorch (or check the refusal); each export is named in one of them. */
  verifiedBy: string[];
}

const cov = (...names: string[]) => names.map((n) => `test/fixtures/coverage/${n}.onnx`);
const real = (style: string) => ['fp32', 'fp16', 'int8-qdq', 'int8-dynamic'].map((f) => `test/fixtures/real-exports/${style}-${f}.onnx`);
const at = (dir: string, ...names: string[]) => names.map((n) => `test/fixtures/${dir}/${n}.onnx`);

export const FAMILIES: Family[] = [
  { family: 'Real ViT-Ti/16 (ImageNet), timm code (fused qkv): fp32, fp16 weights, per-channel int8 QDQ, int8 MatMulInteger', files: real('timm'), outcome: 'shown', shows: 'tabby cat top-1 and PyTorch\'s hottest patch in every weight format', verifiedBy: ['test/inference/realExports.test.ts'] },
  { family: 'Real ViT-Ti/16, Hugging Face code (separate query/key/value); the same four formats', files: real('hf'), outcome: 'shown', shows: 'the same top-1 and hottest patch as PyTorch', verifiedBy: ['test/inference/realExports.test.ts'] },
  { family: 'Real ViT-Ti/16 loaded into torchvision\'s `VisionTransformer`; the same four formats', files: real('torchvision'), outcome: 'shown', shows: 'the same top-1 and hottest patch as PyTorch', verifiedBy: ['test/inference/realExports.test.ts'] },
  { family: 'Real ViT-Ti/16, the bundled default (our pre-norm module, fp16 weights + Cast)', files: ['models/vit-tiny-imagenet.onnx'], outcome: 'shown', shows: 'tabby cat 45.2 %; all 12 layers\' attention equal to PyTorch', verifiedBy: ['test/inference/realModel.test.ts'] },
  { family: 'The shapes demo ViT (ours, timm-style)', files: ['models/vit-demo.onnx'], outcome: 'shown', shows: 'every layer equal to PyTorch on the reference images', verifiedBy: ['test/support/fixtures.ts'] },
  { family: 'ViT: timm fused qkv, Hugging Face q/k/v with `Div`, `nn.MultiheadAttention`, post-norm, BatchNorm, opset 11, registers', files: cov('timm-fused-qkv', 'hf-separate-qkv', 'torchvision-mha', 'post-norm', 'batchnorm', 'opset11', 'registers'), outcome: 'shown', shows: 'every layer and head; prefix tokens, norm placement and heads read from the graph', verifiedBy: ['test/inference/coverage.test.ts'] },
  { family: 'torchvision `VisionTransformer` and `SwinTransformer` classes', files: at('torchvision', 'vit', 'swin'), outcome: 'shown', shows: 'ViT layers; Swin windows with the shift read from `torch.roll`', verifiedBy: ['test/inference/torchvision.test.ts'] },
  { family: 'DeiT with a distillation token', files: [...cov('deit-distilled'), 'models/deit-demo.onnx'], outcome: 'shown', shows: 'two prefix tokens; the CLS and distillation heads side by side', verifiedBy: ['test/inference/deit.test.ts'] },
  { family: 'Global average pooling without CLS', files: cov('gap-no-cls'), outcome: 'shown', shows: 'no prefix token; classifier "global average pooling"', verifiedBy: ['test/inference/coverage.test.ts'] },
  { family: 'Weight formats: fp16 weights, int8 QDQ, MatMulInteger, an external data file', files: cov('fp16', 'int8-qdq', 'int8-dynamic-matmul', 'external-data'), outcome: 'shown', shows: 'the same structure and maps as float32', verifiedBy: ['test/inference/coverage.test.ts'] },
  { family: 'Per-channel int8 QDQ (`DequantizeLinear` with `axis`), whole-graph float16 (`--fp16`)', files: at('styles', 'int8-qdq-per-channel', 'fp16-graph'), outcome: 'shown', shows: 'the same structure and maps as float32; float16 pixels fed to a float16 input', verifiedBy: ['test/inference/exportStyles.test.ts'] },
  { family: 'Fused attention with a probabilities output: ONNX `Attention` (opset 23), `com.microsoft.MultiHeadAttention`', files: cov('onnx-attention-op23', 'fused-ms-mha'), outcome: 'shown', shows: 'tapped through a copy of the operator with that output declared', verifiedBy: ['test/inference/coverage.test.ts'] },
  { family: 'Classifier heads: mean of all tokens, BEiT mean of patches, DINOv2 CLS ⊕ mean, SigLIP attention pooling (MAP)', files: at('classifiers', 'mean-all', 'beit-mean-patches', 'dinov2-cls-mean', 'siglip-map'), outcome: 'shown', shows: 'each head named as what it is; the MAP probe\'s attention as a card of its own', verifiedBy: ['test/inference/classifierStyles.test.ts'] },
  { family: 'Backbones whose output is an embedding (DINO CLS, mean, Hugging Face `ViTModel`)', files: at('backbones', 'cls-embedding', 'mean-embedding', 'hf-vitmodel'), outcome: 'shown', shows: 'the output described, no invented classes', verifiedBy: ['test/inference/backbones.test.ts'] },
  { family: 'DINO with dynamic height and width (position embedding interpolated in the graph); CLS + 1 register', files: at('dino', 'dino-dynamic-hw', 'cls-plus-1-register'), outcome: 'shown', shows: 'one prefix token; run at each image\'s own aspect ratio; a register is not a distillation token', verifiedBy: ['test/inference/dinoStyles.test.ts'] },
  { family: 'Non-square input (exported at 24×40)', files: at('nonsquare', 'nonsquare-fixed'), outcome: 'shown', shows: 'the 3×5 grid on the 40×24 input', verifiedBy: ['test/inference/nonSquare.test.ts'] },
  { family: 'Hybrid ViTs: ResNetV2 stem + 1×1 projection (R50, R26), BatchNorm stem + 2×2 projection', files: at('hybrid', 'r50-s16', 'r26-s32', 'bn-s8-proj2'), outcome: 'shown', shows: 'the token grid at the stem\'s total stride (16 or 32)', verifiedBy: ['test/inference/hybridStyles.test.ts'] },
  { family: 'CaiT: talking heads, then class attention', files: at('pooling', 'cait'), outcome: 'shown', shows: 'every layer; class attention as the CLS row; rollout refused through talking heads, with the reason', verifiedBy: ['test/inference/poolingStyles.test.ts'] },
  { family: 'Swin V1 (timm-style demo)', files: ['models/swin-demo.onnx'], outcome: 'shown', shows: 'windows, shifted windows, stages', verifiedBy: ['test/inference/swinModel.test.ts'] },
  { family: 'Swin V2: cosine attention, continuous position bias (folded or run in the graph), res-post-norm', files: at('swinv2', 'swinv2-constant-cpb', 'swinv2-folded', 'swinv2-unfolded'), outcome: 'shown', shows: 'heads per stage, res-post-norm, windows and maps as Swin V1', verifiedBy: ['test/inference/swinV2.test.ts'] },
  { family: 'PiT (the token grid pooled 8×8 → 4×4 between stages)', files: at('pooling', 'pit'), outcome: 'partly', shows: 'layers before pooling; "Layer 3 is not drawn: its attention has 17 tokens, but 1 prefix + 8×8 patches = 65 tokens were expected."', verifiedBy: ['test/inference/poolingStyles.test.ts'] },
  { family: 'Register tokens appended after the patches', files: at('token-order', 'registers-after-patches'), outcome: 'notDrawn', shows: 'CLS is the only prefix token; "Layer 1 is not drawn: its attention has 19 tokens, but 1 prefix + 4×4 patches = 17 tokens were expected."', verifiedBy: ['test/inference/tokenOrder.test.ts'] },
  { family: '`com.microsoft.Attention` (fused, no probabilities output)', files: cov('fused-ms-attention'), outcome: 'refused', shows: 'a fused ONNX Runtime operator that does not expose attention probabilities', verifiedBy: ['test/inference/coverage.test.ts'] },
  { family: 'Weights in an external data file that is missing', files: cov('missing-external-data'), outcome: 'refused', shows: '"missing.onnx.data" next to it, and that file is missing', verifiedBy: ['test/inference/coverage.test.ts'] },
  { family: 'Not a ViT: CNNs', files: [...cov('cnn-not-vit'), 'test/fixtures/models/tiny-cnn.onnx'], outcome: 'refused', shows: 'does not look like a Vision Transformer: no patch embedding and no self-attention were found', verifiedBy: ['test/inference/coverage.test.ts', 'test/unit/vitStructure.test.ts'] },
  { family: 'Not a ViT: a patch Conv without attention (MLP-Mixer style)', files: cov('patch-conv-no-attention'), outcome: 'refused', shows: 'Found a patch embedding but no self-attention Softmax', verifiedBy: ['test/inference/coverage.test.ts'] },
  { family: 'Not an image model: an MLP on a vector', files: ['test/fixtures/models/tiny-mlp.onnx'], outcome: 'refused', shows: 'The model has no 4-D image input', verifiedBy: ['test/unit/vitStructure.test.ts'] },
];

/** The README table and count line, rendered from FAMILIES. */
export function censusMarkdown(families = FAMILIES): string {
  const n = (o: Outcome) => families.filter((f) => f.outcome === o).reduce((s, f) => s + f.files.length, 0);
  const total = families.reduce((s, f) => s + f.files.length, 0);
  const word: Record<Outcome, string> = { shown: 'shown', partly: 'shown in part', notDrawn: 'not drawn', refused: 'refused' };
  const rows = families.map((f) => `| ${f.family} | ${f.files.length} | ${word[f.outcome]}: ${f.shows} |`);
  return [
    '| Family / export style | Exports | What ViT Lens does |',
    '|---|---:|---|',
    ...rows,
    '',
    `**${total} exports tried: ${n('shown')} shown and checked against PyTorch, ${n('partly')} shown in part (the rest refused with the reason), ${n('refused') + n('notDrawn')} refused with the reason, 0 wrong.**`,
  ].join('\n');
}
