/**
 * What a model's outputs are: class scores, or an embedding (DINO/CLIP backbones, timm `num_classes=0`,
 * Hugging Face `ViTModel`). Read from the ops that produce each output, never from names, so that a backbone is
 * never shown "class 17" predictions it does not make.
 */
import type { GraphIndex } from './onnx/graphIndex';
import type { OnnxValueInfo } from './onnx/onnxModel';
import { topK } from './attentionMaps';
import { linearInput } from './classifierHead';
import { t } from './l10n';
import type { Prediction } from './protocol';

export interface ModelOutput {
  /** 'classes': scores per class; 'embedding': one vector per image; 'tokens': one vector per token. */
  kind: 'classes' | 'embedding' | 'tokens';
  name: string;
  /** Classes, or the embedding's width. */
  width?: number;
  /** Embeddings: the tokens it was made of. */
  pooling?: 'cls' | 'mean' | 'pooler' | 'unknown';
  /** In words, for the panel and the CLI. */
  describe: string;
}

/** Shape-only ops a head's output may pass through on its way out. */
const PASS = new Set(['Identity', 'Cast', 'Dropout', 'Flatten', 'Reshape', 'Squeeze', 'Unsqueeze']);
const NORMS = new Set(['LayerNormalization', 'BatchNormalization', 'SimplifiedLayerNormalization']);

/** A linear layer with constant weights produces `t` (the classifier head's notion of one). */
const isLinear = (g: GraphIndex, t: string): boolean => linearInput(g, t) !== undefined;

type Verdict = { kind: 'classes' } | { kind: 'embedding'; pooling: ModelOutput['pooling'] };

/** Walks back from an output to the op that decides what it is. */
function judge(g: GraphIndex, tensor: string, depth = 0): Verdict | undefined {
  if (depth > 12) return undefined;
  const n = g.producer.get(tensor);
  if (!n) return undefined;
  const inner = n.inputs.find((i) => i && !g.isConstant(i));
  if (PASS.has(n.opType) || n.opType === 'Softmax') return inner ? judge(g, inner, depth + 1) : undefined;
  if (n.opType === 'Tanh' && inner && isLinear(g, inner)) return { kind: 'embedding', pooling: 'pooler' };
  if (isLinear(g, tensor)) return { kind: 'classes' };
  // DeiT: the mean of two heads, (a + b) / 2.
  if ((n.opType === 'Div' || n.opType === 'Mul') && inner) return judge(g, inner, depth + 1);
  if (n.opType === 'Add' && n.inputs.length === 2 && n.inputs.every((i) => !g.isConstant(i))) return judge(g, n.inputs[0], depth + 1);
  if (n.opType === 'Gather') return { kind: 'embedding', pooling: g.scalar(n.inputs[1]) === 0 ? 'cls' : 'unknown' };
  if (n.opType === 'Slice') return { kind: 'embedding', pooling: g.scalar(n.inputs[1]) === 0 ? 'cls' : 'unknown' };
  if (n.opType === 'ReduceMean' || n.opType === 'GlobalAveragePool') return { kind: 'embedding', pooling: 'mean' };
  if (NORMS.has(n.opType)) return { kind: 'embedding', pooling: 'unknown' };
  return undefined;
}

/** Describes one graph output of a ViT whose token width is `embedDim`. */
export function describeOutput(g: GraphIndex, o: OnnxValueInfo, embedDim: number, tokenCount?: number): ModelOutput {
  const last = o.shape?.[o.shape.length - 1];
  // Exporters often leave every axis symbolic; a token output's width is then the model's.
  const width = typeof last === 'number' ? last : o.shape?.length === 3 ? embedDim : undefined;
  if (o.shape?.length === 3) {
    const count = typeof o.shape[1] === 'number' ? o.shape[1] : tokenCount;
    const tokens = count ? t`all ${count} tokens` : t('every token');
    return { kind: 'tokens', name: o.name, width, describe: t`the ${width ?? '?'}-d features of ${tokens} (a last hidden state), not class scores` };
  }
  // Unknown ops: judge by width, as an exporter's head of exactly embedDim classes is rare.
  const v = judge(g, o.name) ?? (width === embedDim ? { kind: 'embedding' as const, pooling: 'unknown' as const } : { kind: 'classes' as const });
  if (v.kind === 'classes') return { kind: 'classes', name: o.name, width, describe: width !== undefined ? t`${width} class scores` : t('the class scores') };
  const pooling = v.pooling ?? 'unknown';
  const of = pooling === 'cls' ? t('of the CLS token') : pooling === 'mean' ? t('averaged over the final tokens') : pooling === 'pooler' ? t('of the CLS token, pooled by a dense layer and tanh') : t('of the image');
  return { kind: 'embedding', name: o.name, width, pooling: v.pooling, describe: t`a ${width ?? embedDim}-d embedding ${of}, not class scores` };
}

/** The output the panel reads: class scores when there are any, else a per-image embedding, else the first. */
export function mainOutput(outputs: ModelOutput[]): ModelOutput {
  return outputs.find((o) => o.kind === 'classes') ?? outputs.find((o) => o.kind === 'embedding') ?? outputs[0];
}

/** Top-k class predictions, or none when the model outputs an embedding (no invented "class 17"). */
export function classPredictions(m: { structure: { logits: { classes?: number } }; card: { labels: string[] } }, logits: ArrayLike<number>, k: number): Prediction[] {
  return m.structure.logits.classes ? topK(logits, m.card.labels, k) : [];
}

/** Every output in words, named when there are several ("last_hidden_state: …; pooler_output: …"). */
export function describeOutputs(outputs: ModelOutput[]): string {
  return outputs.map((o) => (outputs.length > 1 ? `${o.name}: ${o.describe}` : o.describe)).join('; ');
}

/** What the panel says instead of predictions for a model without class scores. */
export function noClassesNote(outputs: ModelOutput[]): string {
  return t`This model outputs ${describeOutputs(outputs)}. There are no classes to predict; every attention and feature view still works.`;
}
