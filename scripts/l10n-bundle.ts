/**
 * Writes l10n/bundle.l10n.json: every message src/ looks up through the l10n layer, English to English. It is the
 * file translators copy to bundle.l10n.<locale>.json; test/unit/l10n.test.ts fails when it is out of date.
 * Run: npm run l10n            (writes the bundle)
 *      npm run l10n -- --list [path-part]   (lists what still bypasses the layer, for files whose path contains path-part)
 */
import { writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { englishBundle, scanTree } from '../test/support/l10nScan';

const root = path.resolve(__dirname, '..');
const scan = scanTree(root);
const listAt = process.argv.indexOf('--list');
if (listAt >= 0) {
  const part = process.argv[listAt + 1] ?? '';
  for (const f of [...scan.bypass, ...scan.dynamic].filter((x) => x.file.includes(part))) console.log(`${f.file}:${f.line} (${f.why}) ${JSON.stringify(f.text)}`);
  process.exit(0);
}
const bundle = englishBundle(scan.messages);
writeFileSync(path.join(root, 'l10n/bundle.l10n.json'), JSON.stringify(bundle, null, 2) + '\n');
console.log(`l10n/bundle.l10n.json: ${Object.keys(bundle).length} messages; ${scan.bypass.length} visible strings still bypass the l10n layer, ${scan.dynamic.length} lookups cannot be extracted`);
