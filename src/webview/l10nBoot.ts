/**
 * Imported first by each webview entry: configures the l10n layer with the bundle the host put in the page
 * (`<meta name="vit-lens-l10n">`), before any module shows text.
 */
import { L10nBundle, useL10nBundle } from '../shared/l10n';

const meta = document.querySelector<HTMLMetaElement>('meta[name="vit-lens-l10n"]');
try {
  useL10nBundle(JSON.parse(meta?.content || '{}') as L10nBundle);
} catch {
  // A page without a readable bundle shows English.
}
