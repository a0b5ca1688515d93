/** The panel's main view as CSV ("ViT Lens: Copy Values as CSV"): one line per grid row, one column per patch. */
import { t } from './l10n';

export interface ValuesCsvMeta {
  image: string;
  model: string;
  /** The view mode ('attention', 'rollout'). */
  view: string;
  /** The layer's label as the panel shows it ('Layer 12', a Swin stage and block). */
  layer: string;
  /** The head choice: 'mean', 'max', 'min' or a 0-based head index as a string. */
  head: string;
  caption: string;
}

/**
 * `values` (rows × cols, row-major, prefix tokens already left out) as CSV. The description goes in `#` lines so
 * `numpy.loadtxt(f, delimiter=',')` and `pandas.read_csv(f, comment='#', header=None)` read the grid as is.
 */
export function valuesCsv(values: ArrayLike<number>, grid: { rows: number; cols: number }, meta: ValuesCsvMeta): string {
  if (values.length !== grid.rows * grid.cols) throw new Error(t`${values.length} values for a ${grid.rows}×${grid.cols} grid`);
  // A newline in a name would end the comment line and break the grid.
  const clean = (s: string) => s.replace(/[\r\n]+/g, ' ');
  const head = /^\d+$/.test(meta.head) ? t`head ${Number(meta.head) + 1}` : headFusion(meta.head);
  const lines = [
    t`# ViT Lens; image: ${clean(meta.image)}; model: ${clean(meta.model)}; view: ${meta.view}; layer: ${clean(meta.layer)}; head: ${head}; ${grid.rows} rows × ${grid.cols} columns`,
    `# ${clean(meta.caption)}`,
  ];
  for (let r = 0; r < grid.rows; r++) {
    const row: string[] = [];
    for (let c = 0; c < grid.cols; c++) row.push(formatValue(values[r * grid.cols + c]));
    lines.push(row.join(','));
  }
  return lines.join('\n') + '\n';
}

/** A fusion over heads in words ('mean' → 'mean of heads'). */
function headFusion(head: string): string {
  switch (head) {
    case 'mean': return t('mean of heads');
    case 'max': return t('max of heads');
    case 'min': return t('min of heads');
    default: return t`${head} of heads`;
  }
}

/** Seven significant digits (what float32 holds), shortest form; NaN (not attendable) as `nan`, which numpy and pandas read. */
export function formatValue(v: number): string {
  return Number.isFinite(v) ? String(Number(v.toPrecision(7))) : Number.isNaN(v) ? 'nan' : v > 0 ? 'inf' : '-inf';
}
