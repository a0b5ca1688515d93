/**
 * Pseudo-localization: with a bundle that wraps every message in ⟦…⟧, the panel (after a run of the real ViT-Ti on
 * the cat, the ideas drawn and a relevance map made) and the Inspector show no English outside the brackets. What
 * is left after removing bracketed text is data (class names, file and model names, numbers, units, token names),
 * which the test names explicitly. This catches text assembled at run time that the static scan (l10n.test.ts in
 * test/unit) cannot see, and proves the bundle reaches the page, the worker and the HTML the host writes.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import type { Page } from 'playwright-core';
import type { WebviewToHost } from '../../src/shared/protocol';
import { useL10nBundle } from '../../src/shared/l10n';
import { ROOT } from '../support/fixtures';
import { realModel } from '../support/realModel';
import { Harness, startHarness } from './harness';

const english = JSON.parse(readFileSync(path.join(ROOT, 'l10n/bundle.l10n.json'), 'utf8')) as Record<string, string>;
const pseudo = Object.fromEntries(Object.keys(english).map((m) => [m, `⟦${m}⟧`]));
let model: ReturnType<typeof realModel>;

/** Words that are data or names, not text to translate. */
const NAMES = new Set(['CLS', 'DIST', 'WASM', 'ViT', 'Ti', 'ImageNet', 'jpg', 'onnx', 'ms', 'MB', 'KB', 'kB', 'GB', 'px', 'MP', 'nats']);

let h: Harness;
before(async () => {
  // What the host computes (the HTML, the model's summary and structure) is computed here, in Node, after the bundle is set.
  useL10nBundle(pseudo);
  model = realModel();
  h = await startHarness({ l10nBundle: pseudo });
});
after(async () => {
  await h?.close();
});

/** Every rendered text node and visible attribute (aria-label, title, placeholder, alt), light DOM only. */
async function visibleTexts(page: Page): Promise<string[]> {
  // tsx names the arrow functions below with a helper the page does not have.
  await page.evaluate('window.__name = (f) => f');
  return page.evaluate(() => {
    const out: string[] = [];
    const shown = (el: Element) => (el as HTMLElement).checkVisibility?.({ visibilityProperty: true }) ?? true;
    // Each element with text of its own, whole (a message may hold markup: `run <strong>…</strong>, or …`).
    for (const el of document.body.querySelectorAll('*')) {
      if (el.closest('script, style, datalist') || !shown(el)) continue;
      const own = [...el.childNodes].some((c) => c.nodeType === Node.TEXT_NODE && (c.textContent ?? '').trim());
      if (own) out.push((el.textContent ?? '').trim());
    }
    for (const el of document.querySelectorAll('[aria-label], [title], [placeholder], [alt]')) {
      if (!shown(el)) continue;
      for (const a of ['aria-label', 'title', 'placeholder', 'alt']) {
        const v = el.getAttribute(a);
        if (v?.trim()) out.push(v.trim());
      }
    }
    out.push(document.title);
    return out;
  });
}

/** What is left of `text` once bracketed (translated) text and known data are removed: words that bypassed l10n. */
function untranslated(text: string, data: string[]): string[] {
  let s = text;
  // Innermost first: a message may hold another as an argument.
  for (let prev = ''; prev !== s;) {
    prev = s;
    s = s.replace(/⟦[^⟦⟧]*⟧/g, ' ');
  }
  for (const d of data) s = s.split(d).join(' ');
  return (s.match(/\p{L}{2,}/gu) ?? []).filter((w) => !NAMES.has(w));
}

function check(texts: string[], data: string[], where: string): void {
  const bad = texts.map((x) => ({ x, words: untranslated(x, data) })).filter((r) => r.words.length > 0);
  assert.deepEqual(bad.map((r) => `${r.words.join(' ')} ← ${JSON.stringify(r.x.slice(0, 140))}`), [], `${where}: English outside the l10n bundle`);
}

const data = (): string[] => [...model.card.labels, 'cat_tabby.jpg', model.card.name, 'vit-tiny-imagenet.onnx', 'vit-tiny-imagenet.json'].filter(Boolean).sort((a, b) => b.length - a.length);

test('pseudo-localized bundle: the panel shows no English outside it (run, ideas, relevance)', async () => {
  const bytes = new Uint8Array(readFileSync(path.join(ROOT, 'samples/cat_tabby.jpg')));
  await h.post({ type: 'visualize', backend: 'wasm', model, image: { name: 'cat_tabby.jpg', uri: 'file:///cat_tabby.jpg', bytes, mime: 'image/jpeg' } });
  await h.waitForState('done');
  await h.page.waitForFunction(() => (document.getElementById('pos-text')?.textContent ?? '').length > 0 && !!document.getElementById('norms-map')?.dataset.outliers, undefined, { timeout: 60_000 });
  // The status line is a translated message: the bundle reached the page.
  assert.match(await h.page.locator('#status').textContent() ?? '', /⟦/);
  await h.page.click('#why-relevance');
  await h.page.waitForFunction(() => {
    const d = document.getElementById('why-out')!.dataset;
    return d.kind === 'relevance' || !!d.error;
  }, undefined, { timeout: 90_000 });
  const texts = await visibleTexts(h.page);
  assert.ok(texts.length > 80, `only ${texts.length} texts found`);
  check(texts, data(), 'panel');
});

test('pseudo-localized bundle: the Inspector shows no English outside it', async () => {
  const posted = await h.posted();
  const vs = posted.filter((p): p is Extract<WebviewToHost, { type: 'viewState' }> => p.type === 'viewState').pop();
  assert.ok(vs, 'the panel posted the Inspector state');
  const s = await startHarness({ page: 'sidebar', l10nBundle: pseudo });
  try {
    check(await visibleTexts(s.page), data(), 'Inspector welcome');
    // A selected patch, as the panel would send it after a click.
    await h.page.focus('#stack');
    await h.page.keyboard.press('ArrowRight');
    const withPatch = (await h.posted()).filter((p): p is Extract<WebviewToHost, { type: 'viewState' }> => p.type === 'viewState').pop()!;
    assert.ok(withPatch.info.patch, 'a patch is selected');
    await s.page.evaluate((m) => window.postMessage(m, '*'), { type: 'state' as const, view: withPatch.view, info: withPatch.info });
    await s.page.waitForFunction(() => !document.getElementById('inspector')!.hidden && !document.getElementById('patch')!.hidden);
    const texts = await visibleTexts(s.page);
    assert.ok(texts.length > 30, `only ${texts.length} texts found`);
    check(texts, data(), 'Inspector');
  } finally {
    await s.close();
  }
});
