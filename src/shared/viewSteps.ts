/** Stepping through layers and heads (the Next/Previous Layer and Head commands); both wrap around. */
import { t } from './l10n';

/** The head select's choices, in its order: the fusions over heads, then each head. */
export function headChoices(heads: number): { value: string; label: string }[] {
  return [
    { value: 'mean', label: t('Mean of heads') }, { value: 'max', label: t('Max over heads') }, { value: 'min', label: t('Min over heads') },
    ...Array.from({ length: heads }, (_, h) => ({ value: String(h), label: t`Head ${h + 1}` })),
  ];
}

/** The layer `delta` steps from `layer` of `count`, wrapping (next after the last is the first). */
export function stepLayer(layer: number, count: number, delta: number): number {
  return (((layer + delta) % count) + count) % count;
}

/** The head choice `delta` steps from `head` in the select's order, wrapping; an unknown choice starts from the first. */
export function stepHead(head: string, heads: number, delta: number): string {
  const choices = headChoices(heads).map((c) => c.value);
  const i = Math.max(0, choices.indexOf(head));
  return choices[stepLayer(i, choices.length, delta)];
}
