/**
 * Localization-ready: every string a user reads comes from package.nls.json (the manifest), vscode.l10n.t (the
 * extension host) or t() from src/shared/l10n.ts (webview, worker, shared code, CLI), all backed by one bundle.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { englishBundle, scanSource, scanTree } from '../support/l10nScan';
import { t, useL10nBundle } from '../../src/shared/l10n';
import { visualizeHtml } from '../../src/host/webviewHtml';
import { inspectorHtml } from '../../src/host/inspectorHtml';

const ROOT = path.resolve(__dirname, '../..');
const scan = scanTree(ROOT);
const list = (fs: { file: string; line: number; text: string; why: string }[]) => fs.map((f) => `  ${f.file}:${f.line} (${f.why}) ${JSON.stringify(f.text)}`).join('\n');

test('no user-visible string in src/ bypasses the l10n layer', () => {
  assert.equal(scan.bypass.length, 0, `${scan.bypass.length} visible strings are not looked up through vscode.l10n.t or t():\n${list(scan.bypass)}`);
});

test('every lookup has a literal message (extractable) and runs after the bundle is configured', () => {
  assert.equal(scan.dynamic.length, 0, list(scan.dynamic));
  // @vscode/l10n fills /{([^}]+)}/: a literal brace pair in a message would swallow its placeholders.
  const braces = scan.messages.filter((m) => [...m.matchAll(/{([^}]+)}/g)].some((x) => !/^\d+$/.test(x[1])));
  assert.deepEqual(braces, [], 'messages with braces that are not {0}-style placeholders');
  assert.ok(scan.messages.length > 300, `only ${scan.messages.length} messages found: is the scanner reading src/?`);
});

test('l10n/bundle.l10n.json holds exactly the messages src/ looks up (run `npm run l10n` after changing text)', () => {
  const committed = JSON.parse(readFileSync(path.join(ROOT, 'l10n/bundle.l10n.json'), 'utf8')) as Record<string, string>;
  const expected = englishBundle(scan.messages);
  const missing = Object.keys(expected).filter((k) => !(k in committed));
  const stale = Object.keys(committed).filter((k) => !(k in expected));
  assert.deepEqual({ missing, stale }, { missing: [], stale: [] });
});

test('the scanner catches what it must: prose, sinks, HTML text, dynamic and load-time lookups', () => {
  const r = scanSource('src/webview/example.ts', [
    "import { t } from '../shared/l10n';",
    "const early = t('Looked up too early');",
    'export function f(el: HTMLElement, n: number, m: string): string {',
    "  el.textContent = 'Layer';",
    "  el.setAttribute('aria-label', 'Heads');",
    "  el.className = 'toolbar row';",
    "  el.title = t`Layer ${n} of ${n + 1}`;",
    "  console.log('a developer log line');",
    '  el.innerHTML = `<p title="Hint here">Hello <b>world</b> ${t(\'ok\')}</p>`;',
    "  if (m === 'two words') throw new Error(`Bad input ${n}`);",
    '  el.append(t(m));',
    "  return 'Some prose here';",
    '}',
  ].join('\n'));
  assert.deepEqual(r.bypass.map((b) => [b.line, b.text]), [
    [4, 'Layer'], [5, 'Heads'], [9, 'Hint here'], [9, 'Hello'], [9, 'world'], [10, 'Bad input ${…}'], [12, 'Some prose here'],
  ]);
  assert.deepEqual(r.dynamic.map((d) => [d.line, d.why]), [[2, 'looked up when the module loads, before the bundle is configured'], [11, 'message is not a literal']]);
  assert.deepEqual(r.messages, ['Looked up too early', 'Layer {0} of {1}', 'ok']);
});

test('t() uses the configured bundle, in both forms, with placeholders; the HTML builders use it too', () => {
  try {
    useL10nBundle({ 'Layer {0} of {1}': 'Schicht {0} von {1}', 'Export PNG': 'PNG exportieren', 'Attends to': 'Achtet auf' });
    const n = 3;
    assert.equal(t`Layer ${n} of ${12}`, 'Schicht 3 von 12');
    assert.equal(t('Layer {0} of {1}', 4, 12), 'Schicht 4 von 12');
    assert.equal(t('Not translated {0}', 'x'), 'Not translated x');
    const assets = { cspSource: 'vscode-resource:', scriptUri: 's.js', styleUri: 's.css', codiconUri: 'c.css', wasmWorkerUri: 'w', wasmBinaryUri: 'b', webgpuWorkerUri: 'g', webgpuBinaryUri: 'gb' };
    assert.match(visualizeHtml(assets, { nonce: 'n', allowWebgpuEval: false, language: 'de' }), /PNG exportieren/);
    const sidebar = inspectorHtml(assets, { nonce: 'n', language: 'de', l10nBundle: { 'Attends to': 'Achtet auf' } });
    assert.match(sidebar, /<html lang="de">/);
    assert.match(sidebar, /Achtet auf/);
    // The webview gets the bundle in the page, escaped.
    assert.match(sidebar, /<meta name="vit-lens-l10n" content="\{&#34;Attends to&#34;:&#34;Achtet auf&#34;\}">/);
  } finally {
    useL10nBundle({ '': '' }); // back to English for the rest of this process
  }
});

const MANIFEST_TEXT = new Set(['displayName', 'description', 'markdownDescription', 'title', 'name', 'contextualTitle', 'category', 'altText', 'enumDescriptions', 'shortTitle', 'markdownEnumDescriptions', 'deprecationMessage', 'markdownDeprecationMessage']);

test('manifest: every user-visible string in package.json is a %key% from package.nls.json, and every key is used', () => {
  const pkg = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as Record<string, unknown>;
  const nls = JSON.parse(readFileSync(path.join(ROOT, 'package.nls.json'), 'utf8')) as Record<string, string>;
  const used = new Set<string>();
  const bad: string[] = [];
  const visit = (v: unknown, where: string, visible: boolean) => {
    if (typeof v === 'string') {
      if (!visible) return;
      const m = /^%(.+)%$/.exec(v);
      if (!m) bad.push(`${where}: ${JSON.stringify(v.slice(0, 60))} is not a %key%`);
      else if (!(m[1] in nls)) bad.push(`${where}: %${m[1]}% is not in package.nls.json`);
      else used.add(m[1]);
    } else if (Array.isArray(v)) v.forEach((x, i) => visit(x, `${where}[${i}]`, visible));
    else if (v && typeof v === 'object') for (const [k, x] of Object.entries(v)) visit(x, `${where}.${k}`, MANIFEST_TEXT.has(k));
  };
  for (const k of ['displayName', 'description']) visit(pkg[k], `$.${k}`, true);
  visit(pkg.contributes, '$.contributes', false);
  visit(pkg.capabilities, '$.capabilities', false);
  assert.deepEqual(bad, []);
  assert.deepEqual(Object.keys(nls).filter((k) => !used.has(k)), [], 'keys in package.nls.json that package.json never uses');
  assert.ok(used.size >= 45, `only ${used.size} manifest strings checked`);
});
