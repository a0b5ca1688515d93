/**
 * Exports that run at any input size: dynamic height and width, and a position embedding resized in the graph to
 * the grid of the image it is given (DINO's and Hugging Face's interpolate_pos_encoding). Such a model is shown
 * on the image's own aspect ratio instead of a center-cropped square, since nothing forces the square on it.
 */
import { inputSize, type ModelCard } from './modelCard';
import { t } from './l10n';
import { GraphIndex } from './onnx/graphIndex';
import type { VitStructure } from './vitStructure';

/**
 * True when a Resize before the first attention resizes something not computed from the image's pixels (the
 * position embedding; shapes read from the image do not count) to a size computed from the image's shape: the
 * position grid follows whatever size the image has. A Resize of the image itself, or one to a constant size, does
 * not qualify.
 */
export function interpolatesPositions(g: GraphIndex, s: VitStructure): boolean {
  if (s.input.height !== undefined || s.input.width !== undefined || s.swin) return false;
  const first = g.producer.get(s.attention[0].tensor.replace(/\/vitlens_probs$/, ''));
  const end = first ? g.order.get(first) ?? 0 : g.graph.nodes.length;
  // Whether a tensor depends on the image input: its pixel values, or (`viaShape`) also only its shape.
  const walk = (viaShape: boolean) => {
    const memo = new Map<string, boolean>();
    const depends = (t: string): boolean => {
      if (t === s.input.name) return true;
      const known = memo.get(t);
      if (known !== undefined) return known;
      memo.set(t, false); // a valid graph has no cycles; this also stops re-walking
      const p = g.producer.get(t);
      const r = !!p && (viaShape || (p.opType !== 'Shape' && p.opType !== 'Size')) && p.inputs.some((x) => !!x && depends(x));
      memo.set(t, r);
      return r;
    };
    return depends;
  };
  const pixels = walk(false);
  const shape = walk(true);
  return g.graph.nodes.slice(0, end).some((n) => (n.opType === 'Resize' || n.opType === 'Upsample')
    && !pixels(n.inputs[0]) && n.inputs.slice(1).some((x) => !!x && shape(x)));
}

/** The patch grid and token count of a structure run at `height`×`width` pixels. */
export function atGrid<S extends Pick<VitStructure, 'grid' | 'tokens' | 'prefixTokens' | 'patchSize'>>(s: S, height: number, width: number): S {
  const grid = { rows: Math.floor(height / s.patchSize), cols: Math.floor(width / s.patchSize) };
  return { ...s, grid, tokens: s.prefixTokens + grid.rows * grid.cols };
}

/**
 * The input size for an image of `width`×`height` on a model that runs at any size: the image's aspect ratio at
 * about the number of patches the model was trained with (so attention costs what it did in training), each side a
 * multiple of the patch size. The image is resized to it whole (no crop).
 */
export function imageAspectSize(width: number, height: number, trained: { height: number; width: number }, patch: number): { height: number; width: number } {
  const scale = Math.sqrt((trained.height * trained.width) / Math.max(1, width * height));
  const side = (x: number) => Math.max(patch, Math.round((x * scale) / patch) * patch);
  return { height: side(height), width: side(width) };
}

interface Sized { card: ModelCard; structure: VitStructure }

/**
 * The model as run on an image of `width`×`height`: unchanged unless it runs at any size and no card or config
 * fixed its size; else at the image's aspect ratio (imageAspectSize), with the grid and token count to match.
 */
export function atImageSize<M extends Sized>(m: M, width: number, height: number): M {
  const p = m.card.preprocess;
  // The size came from the graph (defaultCard's source, in the same language) and not from a card or config.
  if (!m.structure.input.anySize || p.sources?.size !== t('graph input')) return m;
  const size = imageAspectSize(width, height, inputSize(p), m.structure.patchSize);
  const trained = inputSize(p);
  const preprocess = {
    ...p, size: size.height, width: size.width !== size.height ? size.width : undefined, resize: 'squash' as const, crop: 'none' as const,
    resizeSize: undefined, resizeWidth: undefined,
    sources: { ...p.sources, size: t`the image's aspect ratio at about the trained ${trained.width}×${trained.height} (this export resizes its position embedding to any grid)`, geometry: t('whole image, no crop') },
  };
  if (preprocess.width === undefined) delete preprocess.width;
  return { ...m, card: { ...m.card, preprocess }, structure: atGrid(m.structure, size.height, size.width) };
}
