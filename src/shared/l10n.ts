/**
 * The l10n layer for everything that is not the extension host's own code: webview, inference worker, shared
 * code and the CLI. It reads the same bundle as `vscode.l10n.t` (l10n/bundle.l10n.<locale>.json): the host passes
 * `vscode.l10n.bundle` to `useL10nBundle` in each place that shows text. With no bundle (English) every message is
 * its own English text.
 *
 * `t` takes a literal message with `{0}`-style placeholders, or is a tag: t`Layer ${n} of ${m}` looks up
 * "Layer {0} of {1}". Messages must be literals so that `npm run l10n` can extract them; call `t` when the text is
 * shown, never when a module loads (the bundle is not configured yet then).
 */
import * as l10n from '@vscode/l10n';

/** A translated bundle: English message → localized message. */
export type L10nBundle = Record<string, string>;
export type L10nArg = string | number | boolean;

let current: L10nBundle | undefined;

export function useL10nBundle(bundle: L10nBundle | undefined): void {
  if (!bundle || Object.keys(bundle).length === 0) return;
  current = bundle;
  l10n.config({ contents: bundle });
}

/** The bundle in use, to hand on to a worker; undefined in English. */
export const l10nBundle = (): L10nBundle | undefined => current;

export function t(message: TemplateStringsArray, ...args: L10nArg[]): string;
export function t(message: string, ...args: L10nArg[]): string;
export function t(message: string | TemplateStringsArray, ...args: L10nArg[]): string {
  if (typeof message === 'string') return l10n.t(message, ...args);
  // The tag form: the message is the literal with its holes numbered, as @vscode/l10n builds it.
  let key = message[0];
  for (let i = 1; i < message.length; i++) key += `{${i - 1}}${message[i]}`;
  return l10n.t(key, ...args);
}
