/**
 * High-norm tokens (Darcet et al. 2023, "Vision Transformers Need Registers"): per block, which patch tokens'
 * outputs have outlying L2 norms, by the modified z-score (x − median) / (1.4826·MAD) > 3.5 over that block's
 * patch tokens (Iglewicz & Hoaglin). Prefix tokens (CLS, distillation, registers) are kept out of the statistics
 * and reported apart. Pure: the view, the tests and any exporter read the same numbers.
 */
import type { ClassifierKind } from './classifierHead';
import { t } from './l10n';

export const Z_THRESHOLD = 3.5;

export function median(values: ArrayLike<number>): number {
  const s = Float64Array.from(values).sort();
  const n = s.length;
  if (n === 0) return NaN;
  return n % 2 ? s[(n - 1) / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
}

/**
 * Indices whose modified z-score exceeds `threshold`, high side only (low norms are not the artifact). With a
 * MAD of 0 (over half the values equal) the mean absolute deviation stands in (scaled by 1.253314, its ratio
 * to σ for a normal), so one spike on a flat layer is still found; all values equal flags nothing.
 */
export function highOutliers(values: ArrayLike<number>, threshold = Z_THRESHOLD): { median: number; mad: number; outliers: number[] } {
  const med = median(values);
  const dev = Float64Array.from(values, (v) => Math.abs(v - med));
  const mad = median(dev);
  let scale = 1.4826 * mad;
  if (!(scale > 0)) scale = 1.253314 * (dev.reduce((a, b) => a + b, 0) / Math.max(1, dev.length));
  const outliers: number[] = [];
  if (scale > 0) for (let i = 0; i < values.length; i++) if ((values[i] - med) / scale > threshold) outliers.push(i);
  return { median: med, mad, outliers };
}

export interface LayerNorms {
  /** Norms of the prefix tokens (CLS, distillation, registers), in token order. */
  prefix: number[];
  /** Norms of the patch tokens, row-major over the grid. */
  patches: Float32Array;
  median: number;
  mad: number;
  /** Largest patch norm. */
  max: number;
  /** Flagged patch indices (0 = first patch). */
  outliers: number[];
  /** Mean flagged norm over the median patch norm (0 when none is flagged). */
  ratio: number;
}

export interface TokenNormSummary {
  layers: LayerNorms[];
  /** What each prefix token is: 'CLS', 'distillation', 'register 1', … */
  prefixLabels: string[];
  /** Where the last block's CLS attention goes (mean over heads), when the model has a CLS token. */
  attention?: {
    /** Block (0-based) whose flagged patches are measured: the last block's input, i.e. the block before it. */
    flagsFrom: number;
    /** Fraction of the CLS attention on those patches, and their share of all patches. */
    onFlagged: number;
    flaggedShare: number;
    /** Fraction of the CLS attention on each prefix token. */
    onPrefix: number[];
  };
}

/** Prefix token identifiers ('CLS', 'distillation', 'register 1', …): callers match on them; see prefixTokenLabelText to show one. */
export function prefixTokenLabels(prefix: number, classifier: ClassifierKind, distilled: boolean): string[] {
  let r = 0;
  return Array.from({ length: prefix }, (_, i) => {
    if (i === 0 && classifier !== 'gap') return 'CLS'; // token 0 of every prefix is CLS, read or not
    if (i === 1 && distilled) return 'distillation';
    return `register ${++r}`;
  });
}

/** A prefix token identifier from prefixTokenLabels in words. */
export function prefixTokenLabelText(label: string): string {
  if (label === 'distillation') return t('distillation');
  const reg = /^register (\d+)$/.exec(label);
  return reg ? t`register ${Number(reg[1])}` : label;
}

/**
 * `norms[l]` holds block l's per-token norms (prefix tokens first). `clsRow`, when given, is the last block's
 * attention from the CLS token to every token (mean over heads, sums to 1).
 */
export function tokenNormSummary(norms: ArrayLike<number>[], prefixLabels: string[], clsRow?: ArrayLike<number>): TokenNormSummary {
  const P = prefixLabels.length;
  const layers = norms.map((n): LayerNorms => {
    const patches = Float32Array.from({ length: n.length - P }, (_, i) => n[P + i]);
    const o = highOutliers(patches);
    let max = 0;
    for (const v of patches) max = Math.max(max, v);
    const flagged = o.outliers.reduce((a, i) => a + patches[i], 0);
    return { prefix: Array.from({ length: P }, (_, i) => n[i]), patches, median: o.median, mad: o.mad, max, outliers: o.outliers, ratio: o.outliers.length && o.median > 0 ? flagged / o.outliers.length / o.median : 0 };
  });
  let attention: TokenNormSummary['attention'];
  if (clsRow && P > 0 && layers.length) {
    // The last block's attention reads its input: the previous block's output (the last one for a 1-block model).
    const flagsFrom = Math.max(0, layers.length - 2);
    const f = layers[flagsFrom];
    const onFlagged = f.outliers.reduce((a, i) => a + clsRow[P + i], 0);
    attention = { flagsFrom, onFlagged, flaggedShare: f.outliers.length / Math.max(1, f.patches.length), onPrefix: Array.from({ length: P }, (_, i) => clsRow[i]) };
  }
  return { layers, prefixLabels, attention };
}

/**
 * Each block's output must be [1, tokens, width] with tokens = prefix + rows·cols: else which block failed, what
 * was expected and what was found (the view draws nothing unverified).
 */
export function checkResidualShapes(shapes: number[][], norms: number[][], tokens: number, width: number): string | undefined {
  for (const [l, s] of shapes.entries()) {
    const ok = s.length === 3 && s[0] === 1 && s[1] === tokens && s[2] === width && norms[l]?.length === 2 && norms[l][1] === tokens;
    if (!ok) return t`layer ${l + 1}'s output should be [1, ${tokens}, ${width}] (prefix + rows·cols tokens of the model's width) but is [${s.join(', ')}]`;
  }
  return undefined;
}

const pct = (x: number) => `${(x * 100).toFixed(x < 0.1 ? 1 : 0)} %`;

/** One or two sentences about this model and image, from the summary. */
export function tokenNormsText(s: TokenNormSummary): string {
  const L = s.layers.length;
  // The block with most flags (the latest on a tie) is the one to name.
  let at = L - 1;
  s.layers.forEach((l, i) => { if (l.outliers.length >= s.layers[at].outliers.length && l.outliers.length > 0) at = i; });
  const x = s.layers[at];
  const parts: string[] = [];
  if (!x || x.outliers.length === 0) {
    parts.push(t`No patch token's norm stands out in any of the ${L} layers (modified z-score over 3.5 against that layer's patches).`);
  } else {
    const n = x.outliers.length;
    const ratio = x.ratio.toFixed(1), med = x.median.toPrecision(3);
    parts.push(n === 1
      ? t`${n} patch in layer ${at + 1} has a norm ${ratio}× the median (${med}).`
      : t`${n} patches in layer ${at + 1} have norms ${ratio}× the median (${med}).`);
  }
  const a = s.attention;
  if (a) {
    const k = s.layers[a.flagsFrom].outliers.length;
    const regs = s.prefixLabels.map((lab, i) => (lab.startsWith('register') ? a.onPrefix[i] : 0)).reduce((p, q) => p + q, 0);
    const regCount = s.prefixLabels.filter((lab) => lab.startsWith('register')).length;
    const on = pct(a.onFlagged), layer = a.flagsFrom + 1, share = pct(a.flaggedShare), regPct = pct(regs);
    const flagged = !k ? ''
      : k === 1 ? t`${on} of the last layer's CLS attention goes to the ${k} patch flagged in layer ${layer} (${share} of patches)`
        : t`${on} of the last layer's CLS attention goes to the ${k} patches flagged in layer ${layer} (${share} of patches)`;
    const its = !regCount ? '' : regCount === 1 ? t`; its ${regCount} register takes ${regPct} of it` : t`; its ${regCount} registers take ${regPct} of it`;
    if (flagged) parts.push(`${flagged.charAt(0).toUpperCase()}${flagged.slice(1)}${its}.`);
    else if (regCount) {
      parts.push(regCount === 1
        ? t`The ${regCount} register takes ${regPct} of the last layer's CLS attention.`
        : t`The ${regCount} registers take ${regPct} of the last layer's CLS attention.`);
    }
    // Whether this model shows the effect: sinks draw far more than their share of the CLS attention.
    if (k) {
      const lift = a.onFlagged / Math.max(1e-9, a.flaggedShare);
      parts.push(lift >= 3
        ? t`That is ${lift.toFixed(0)}× their share of the patches: they act as attention sinks.`
        : t`That is about their share of the patches (${lift.toFixed(1)}×): here they are ordinary high-contrast patches, not attention sinks.`);
    }
  }
  return parts.join(' ');
}

/**
 * A line for the attention map's caption when most of what it shows sits on high-norm patches of the block it
 * reads (attention sinks, not objects), so that bright corners are explained where they are seen.
 * `inputNorms`: per-token norms of the stream the shown layer attends over (prefix tokens first).
 */
export function sinkNote(values: ArrayLike<number>, inputNorms: ArrayLike<number> | undefined, prefix: number): string | undefined {
  if (!inputNorms || inputNorms.length - prefix !== values.length) return undefined;
  const { outliers } = highOutliers(Float32Array.from({ length: values.length }, (_, i) => inputNorms[prefix + i]));
  if (!outliers.length) return undefined;
  let total = 0;
  for (let i = 0; i < values.length; i++) total += Number.isFinite(values[i]) ? values[i] : 0;
  const on = outliers.reduce((a, i) => a + values[i], 0);
  const mass = total > 0 ? on / total : 0;
  if (mass < 0.2 || mass < 3 * (outliers.length / values.length)) return undefined;
  const n = outliers.length;
  return n === 1
    ? t`${pct(mass)} of this map sits on ${n} high-norm patch: attention sinks rather than objects (see High-norm tokens below).`
    : t`${pct(mass)} of this map sits on ${n} high-norm patches: attention sinks rather than objects (see High-norm tokens below).`;
}
