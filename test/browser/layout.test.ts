/**
 * Layout, themes and accessibility (issue 15, point 6): the visualize panel, populated by a run of the demo model on
 * shapes-circle.png with a patch selected, and the sidebar Inspector, populated with the state message the panel
 * sends for it, at 280, 400 and 800 px wide in VS Code's Dark Modern, Light Modern, Dark High Contrast and Light
 * High Contrast themes. Checked from the rendered page:
 *  1. nothing is wider than its container (scrollWidth ≤ clientWidth + 1 for every element, shadow trees included)
 *     and the document does not scroll sideways;
 *  2. every visible text (and placeholder) has a contrast of at least 4.5:1 against its effective background
 *     (the first opaque background up the flat tree, translucent ones composited), disabled controls exempt;
 *  3. every interactive element has an accessible name;
 *  4. Tab visits the controls in document order, with no positive tabindex, without losing focus to the body,
 *     and starts with the main controls;
 *  5. the top-1 prediction and the selected patch are inside polite live regions.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import type { Page } from 'playwright-core';
import type { InspectorInfo, ViewState, WebviewToHost } from '../../src/shared/protocol';
import { demoModel, ROOT } from '../support/fixtures';
import { Harness, HarnessTheme, startHarness } from './harness';

const THEMES: HarnessTheme[] = ['dark', 'light', 'hc-dark', 'hc-light'];
const WIDTHS = [280, 400, 800];
const HEIGHT = 900;
const imagePath = path.join(ROOT, 'test/fixtures/images/shapes-circle.png');

interface Audit {
  elements: number;
  overflow: string[];
  docScroll: { scrollWidth: number; clientWidth: number };
  texts: number;
  lowContrast: string[];
  interactive: number;
  unnamed: string[];
  positiveTabindex: string[];
}

/** Runs in the page: checks 1–3 over the document and every open shadow root. */
function audit(): Audit {
  const all: Element[] = [];
  const roots: (Document | ShadowRoot)[] = [document];
  for (let i = 0; i < roots.length; i++) {
    for (const el of roots[i].querySelectorAll('*')) {
      all.push(el);
      if (el.shadowRoot) roots.push(el.shadowRoot);
    }
  }
  const describeEl = (el: Element): string => {
    const id = el.id ? `#${el.id}` : '';
    const cls = typeof el.className === 'string' && el.className ? `.${el.className.trim().split(/\s+/).join('.')}` : '';
    const root = el.getRootNode();
    const host = root instanceof ShadowRoot ? `${describeEl(root.host)} >>> ` : '';
    return `${host}${el.tagName.toLowerCase()}${id}${cls}`;
  };
  const rendered = (el: Element) => el.getClientRects().length > 0 && getComputedStyle(el).visibility !== 'hidden';
  /** The flat-tree parent: a slotted node's slot, else the parent element, else the shadow host. */
  const flatParent = (n: Node): Element | null => {
    const slot = (n as Element | Text).assignedSlot;
    if (slot) return slot;
    if (n.parentElement) return n.parentElement;
    const root = n.parentNode;
    return root instanceof ShadowRoot ? root.host : null;
  };
  const flatClosest = (n: Node, pred: (e: Element) => boolean): Element | null => {
    for (let e = n instanceof Element ? n : flatParent(n); e; e = flatParent(e)) if (pred(e)) return e;
    return null;
  };

  /** Visually hidden on purpose (text for screen readers only: clipped to nothing). */
  const clippedAway = (n: Node) => !!flatClosest(n, (e) => {
    const s = getComputedStyle(e);
    return s.clipPath === 'inset(50%)' || (s.position === 'absolute' && /rect\(0px,? 0px,? 0px,? 0px\)/.test(s.clip));
  });

  // 1. Overflow.
  const overflow: string[] = [];
  for (const el of all) {
    if (!rendered(el) || el.tagName === 'SLOT' || clippedAway(el)) continue;
    if (el.scrollWidth > el.clientWidth + 1 && el.clientWidth > 0) overflow.push(`${describeEl(el)}: scrollWidth ${el.scrollWidth} > clientWidth ${el.clientWidth}`);
  }
  const docScroll = { scrollWidth: document.documentElement.scrollWidth, clientWidth: document.documentElement.clientWidth };

  // 2. Contrast.
  type RGBA = [number, number, number, number];
  const probe = document.createElement('canvas').getContext('2d')!;
  const parse = (c: string): RGBA => {
    const m = /rgba?\(([^)]+)\)/.exec(c);
    if (m) {
      const p = m[1].split(/[\s,/]+/).filter(Boolean).map(Number);
      return [p[0], p[1], p[2], p.length > 3 ? p[3] : 1];
    }
    // Any other syntax (color(srgb …), named): let the canvas normalise it.
    probe.fillStyle = '#000';
    probe.fillStyle = c;
    const s = probe.fillStyle;
    if (s.startsWith('#')) return [parseInt(s.slice(1, 3), 16), parseInt(s.slice(3, 5), 16), parseInt(s.slice(5, 7), 16), 1];
    return parse(s);
  };
  const over = (top: RGBA, bottom: RGBA): RGBA => {
    const a = top[3] + bottom[3] * (1 - top[3]);
    if (a === 0) return [0, 0, 0, 0];
    const ch = (i: number) => (top[i] * top[3] + bottom[i] * bottom[3] * (1 - top[3])) / a;
    return [ch(0), ch(1), ch(2), a];
  };
  const background = (start: Element): RGBA => {
    const layers: RGBA[] = [];
    for (let e: Element | null = start; e; e = flatParent(e)) {
      const bg = parse(getComputedStyle(e).backgroundColor);
      if (bg[3] > 0) layers.push(bg);
      if (bg[3] >= 1) break;
    }
    // The canvas behind the page: VS Code's webview background is the editor's (or sidebar's) own colour, already on body.
    let out: RGBA = [255, 255, 255, 1];
    for (let i = layers.length - 1; i >= 0; i--) out = over(layers[i], out);
    return out;
  };
  const luminance = (c: RGBA) => {
    const lin = (v: number) => {
      const s = v / 255;
      return s <= 0.03928 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4;
    };
    return 0.2126 * lin(c[0]) + 0.7152 * lin(c[1]) + 0.0722 * lin(c[2]);
  };
  const ratio = (fg: RGBA, bg: RGBA) => {
    const l1 = luminance(over(fg, bg));
    const l2 = luminance(bg);
    return (Math.max(l1, l2) + 0.05) / (Math.min(l1, l2) + 0.05);
  };
  const disabled = (n: Node) => !!flatClosest(n, (e) => e.hasAttribute('disabled') || e.getAttribute('aria-disabled') === 'true' || (e as HTMLInputElement).disabled === true);
  const inGraphic = (n: Node) => !!flatClosest(n, (e) => ['CANVAS', 'IMG', 'SVG', 'svg', 'PICTURE', 'VIDEO'].includes(e.tagName));
  let texts = 0;
  const lowContrast: string[] = [];
  const check = (el: Element, text: string, fgCss: string) => {
    const bg = background(el);
    const fg = parse(fgCss);
    const r = ratio(fg, bg);
    texts++;
    if (r < 4.5) lowContrast.push(`${describeEl(el)} "${text.slice(0, 40)}": ${r.toFixed(2)}:1 (${fgCss} on rgb(${bg.slice(0, 3).map(Math.round).join(', ')}))`);
  };
  for (const root of roots) {
    const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
    for (let n = walker.nextNode(); n; n = walker.nextNode()) {
      const text = (n.textContent ?? '').trim();
      if (!text || inGraphic(n) || disabled(n) || clippedAway(n)) continue;
      const parent = flatParent(n);
      if (!parent || ['STYLE', 'SCRIPT', 'TITLE', 'TEMPLATE'].includes(parent.tagName)) continue;
      const range = document.createRange();
      range.selectNodeContents(n);
      if (![...range.getClientRects()].some((r) => r.width > 0 && r.height > 0)) continue;
      const style = getComputedStyle(parent);
      if (style.visibility === 'hidden' || Number(style.opacity) === 0) continue;
      check(parent, text, style.color);
    }
  }
  for (const el of all) {
    if ((el instanceof HTMLInputElement || el instanceof HTMLTextAreaElement) && el.placeholder && !el.value && rendered(el) && !el.disabled) {
      check(el, `placeholder: ${el.placeholder}`, getComputedStyle(el, '::placeholder').color);
    }
  }

  // 3. Accessible names.
  const interactiveSel = 'button, select, textarea, input:not([type="hidden"]), a[href], [tabindex], vscode-button, vscode-single-select, vscode-multi-select, vscode-checkbox, vscode-textfield, vscode-radio';
  const textOf = (e: Element | null) => (e?.textContent ?? '').replace(/\s+/g, ' ').trim();
  let interactive = 0;
  const unnamed: string[] = [];
  const positiveTabindex: string[] = [];
  for (const el of document.querySelectorAll(interactiveSel)) {
    const t = el.getAttribute('tabindex');
    if (t !== null && Number(t) > 0) positiveTabindex.push(describeEl(el));
    if (t !== null && Number(t) < 0 && !el.matches('button, select, textarea, input, a[href], vscode-button, vscode-single-select, vscode-checkbox')) continue;
    if (!rendered(el)) continue;
    interactive++;
    const aria = el.getAttribute('aria-label')?.trim();
    const labelledBy = (el.getAttribute('aria-labelledby') ?? '').split(/\s+/).filter(Boolean).map((id) => textOf(document.getElementById(id))).join(' ').trim();
    const label = el.id ? [...document.querySelectorAll(`label[for="${CSS.escape(el.id)}"]`)].map(textOf).join(' ').trim() : '';
    const wrapping = textOf(el.closest('label'));
    const own = el instanceof HTMLInputElement || el instanceof HTMLSelectElement || el instanceof HTMLTextAreaElement ? '' : textOf(el);
    const alt = [...el.querySelectorAll('img[alt]')].map((i) => i.getAttribute('alt')).join(' ').trim();
    if (!aria && !labelledBy && !label && !wrapping && !own && !alt) unnamed.push(describeEl(el));
  }
  return { elements: all.length, overflow, docScroll, texts, lowContrast, interactive, unnamed, positiveTabindex };
}

interface TabStop { key: string; inMain: boolean; index: number }

/** 4. Presses Tab from the top of the page until focus leaves the page or comes round again. */
async function tabOrder(page: Page, mainSelector: string): Promise<{ stops: TabStop[]; lostToBody: number; expected: string[] }> {
  // What should be a Tab stop, in document order: native controls and [tabindex] ≥ 0, and the vscode-elements
  // controls (focusable through their shadow roots), when rendered and enabled. Each is marked with its key.
  const expected = await page.evaluate(() => {
    (document.activeElement as HTMLElement | null)?.blur();
    window.scrollTo(0, 0);
    const out: string[] = [];
    let n = 0;
    for (const el of document.querySelectorAll<HTMLElement>('button, select, textarea, input:not([type="hidden"]), a[href], [tabindex], vscode-button, vscode-single-select, vscode-checkbox')) {
      el.removeAttribute('data-tab-key');
      const custom = el.tagName.startsWith('VSCODE-');
      if ((!custom && el.tabIndex < 0) || (el.hasAttribute('tabindex') && Number(el.getAttribute('tabindex')) < 0)) continue;
      if (el.getClientRects().length === 0 || getComputedStyle(el).visibility === 'hidden') continue;
      if (el.hasAttribute('disabled') || (el as HTMLButtonElement).disabled) continue;
      const key = el.id || `${el.tagName.toLowerCase()}[${n++}]`;
      el.dataset.tabKey = key;
      out.push(key);
    }
    return out;
  });
  // Blurring leaves Chromium's sequential focus starting point where focus was: click the page's top-left
  // corner (padding, nothing interactive) so Tab starts from the top.
  await page.mouse.click(1, 1);
  const stops: TabStop[] = [];
  let lostToBody = 0;
  for (let i = 0; i < expected.length + 3; i++) {
    await page.keyboard.press('Tab');
    const s = await page.evaluate((mainSel) => {
      const el = document.activeElement as HTMLElement | null;
      if (!el || el === document.body) return null;
      return { key: el.dataset.tabKey ?? `unexpected ${el.tagName.toLowerCase()}${el.id ? '#' + el.id : ''}`, inMain: !!el.closest(mainSel), index: [...document.querySelectorAll('*')].indexOf(el) };
    }, mainSelector);
    if (!s) {
      if (stops.length < expected.length) lostToBody++;
      break;
    }
    if (stops.length && s.key === stops[0].key) break;
    stops.push(s);
  }
  return { stops, lostToBody, expected };
}

function assertTabOrder(r: { stops: TabStop[]; lostToBody: number; expected: string[] }, mainFirst: number, what: string): void {
  assert.equal(r.lostToBody, 0, `${what}: focus went to the body after ${r.stops.length} of ${r.expected.length} stops (${r.stops.map((s) => s.key).join(', ')})`);
  assert.deepEqual(r.stops.map((s) => s.key), r.expected, `${what}: Tab visits the controls in document order`);
  for (let i = 1; i < r.stops.length; i++) assert.ok(r.stops[i].index > r.stops[i - 1].index, `${what}: ${r.stops[i].key} after ${r.stops[i - 1].key}`);
  const first = r.stops.slice(0, mainFirst);
  assert.ok(first.length === mainFirst && first.every((s) => s.inMain), `${what}: the first ${mainFirst} stops are the main controls: ${first.map((s) => s.key).join(', ')}`);
}

async function settle(page: Page): Promise<void> {
  await page.evaluate(() => new Promise<void>((r) => requestAnimationFrame(() => requestAnimationFrame(() => r()))));
}

async function runAudit(page: Page, what: string): Promise<Audit> {
  await settle(page);
  const a = await page.evaluate(audit);
  const problems = [
    ...a.overflow.map((s) => `overflow: ${s}`),
    ...(a.docScroll.scrollWidth > a.docScroll.clientWidth ? [`document scrolls sideways: ${a.docScroll.scrollWidth} > ${a.docScroll.clientWidth}`] : []),
    ...a.lowContrast.map((s) => `contrast: ${s}`),
    ...a.unnamed.map((s) => `no accessible name: ${s}`),
    ...a.positiveTabindex.map((s) => `positive tabindex: ${s}`),
  ];
  console.log(`${what}: ${a.elements} elements (overflow), ${a.texts} texts (contrast), ${a.interactive} interactive (names): ${problems.length ? `${problems.length} problems` : 'ok'}`);
  if (problems.length) await page.screenshot({ path: path.join(ROOT, 'test-results', `layout-${what.replace(/[^a-z0-9]+/gi, '-')}.png`), fullPage: true });
  assert.deepEqual(problems, [], `${what}:\n${problems.join('\n')}`);
  return a;
}

/** Live regions: the polite (or status/alert) regions' text. */
async function liveText(page: Page): Promise<string> {
  return page.evaluate(() => [...document.querySelectorAll('[aria-live="polite"], [aria-live="assertive"], [role="status"], [role="alert"], output')]
    .filter((e) => e.getAttribute('aria-live') !== 'off')
    .map((e) => e.textContent ?? '').join('\n'));
}

const shimName = (page: Page) => page.evaluate('window.__name = (f) => f');

let sidebarState: { view: ViewState; info: InspectorInfo } | undefined;

for (const theme of THEMES) {
  describe(`layout, ${theme} theme`, () => {
    let h: Harness;
    before(async () => {
      h = await startHarness({ theme });
      await shimName(h.page);
    });
    after(async () => h?.close());

    test(`panel (${theme}): fits, contrast, names, Tab order, live regions at ${WIDTHS.join(', ')} px`, async () => {
      const model = demoModel();
      const bytes = new Uint8Array(readFileSync(imagePath));
      await h.post({ type: 'visualize', backend: 'wasm', model, image: { name: 'shapes-circle.png', uri: `file://${imagePath}`, bytes, mime: 'image/png' } });
      await h.waitForState('done');
      await h.page.focus('#stack');
      await h.page.keyboard.press('ArrowRight');
      await h.page.keyboard.press('ArrowRight');
      const top1 = (await h.page.locator('#predictions li .label').first().textContent())?.trim() ?? '';
      assert.ok(top1, 'a top-1 prediction');
      const selection = (await h.page.locator('#selection').textContent()) ?? '';
      const m = /row (\d+), column (\d+)/.exec(selection);
      assert.ok(m, `a selected patch: ${selection}`);
      const live = await liveText(h.page);
      assert.ok(live.includes(top1), `the top-1 prediction "${top1}" is in a live region:\n${live}`);
      assert.ok(live.includes(`row ${m[1]}, column ${m[2]}`), `the selected patch is in a live region:\n${live}`);
      const posted = await h.posted();
      const vs = posted.filter((p): p is Extract<WebviewToHost, { type: 'viewState' }> => p.type === 'viewState').pop();
      assert.ok(vs?.info.patch, 'the panel posted the Inspector state with the selected patch');
      sidebarState ??= { view: vs.view, info: vs.info };

      for (const width of WIDTHS) {
        await h.page.setViewportSize({ width, height: HEIGHT });
        await runAudit(h.page, `panel ${theme} ${width}px`);
        const r = await tabOrder(h.page, 'main.layout');
        assertTabOrder(r, 4, `panel ${theme} ${width}px`);
        console.log(`panel ${theme} ${width}px: ${r.stops.length} Tab stops, first ${r.stops.slice(0, 5).map((s) => s.key).join(', ')}`);
      }
    });

    test(`Inspector sidebar (${theme}): fits, contrast, names, Tab order, live regions at ${WIDTHS.join(', ')} px`, async () => {
      assert.ok(sidebarState, 'the panel test ran first');
      const s = await startHarness({ theme, page: 'sidebar' });
      try {
        await shimName(s.page);
        // The welcome page, before any state.
        await s.page.setViewportSize({ width: WIDTHS[0], height: HEIGHT });
        await runAudit(s.page, `sidebar welcome ${theme} ${WIDTHS[0]}px`);
        await s.page.evaluate((m) => window.postMessage(m, '*'), { type: 'state' as const, ...sidebarState });
        await s.page.waitForFunction(() => !document.getElementById('inspector')!.hidden && !document.getElementById('patch')!.hidden);
        const p = sidebarState.info.patch!;
        const live = await liveText(s.page);
        assert.ok(live.includes(`row ${p.row}, column ${p.col}`), `the selected patch is in a live region:\n${live}`);
        for (const width of WIDTHS) {
          await s.page.setViewportSize({ width, height: HEIGHT });
          await runAudit(s.page, `sidebar ${theme} ${width}px`);
          const r = await tabOrder(s.page, '.controls');
          assertTabOrder(r, 4, `sidebar ${theme} ${width}px`);
          console.log(`sidebar ${theme} ${width}px: ${r.stops.length} Tab stops, first ${r.stops.slice(0, 5).map((x) => x.key).join(', ')}`);
        }
      } finally {
        await s.close();
      }
    });
  });
}

test('the checks catch what they look for: a 320px select in the Inspector, grey on white, an unnamed button, a positive tabindex', async () => {
  const s = await startHarness({ theme: 'light', page: 'sidebar', viewport: { width: 280, height: HEIGHT } });
  try {
    await shimName(s.page);
    const state = sidebarState ?? {
      view: { mode: 'attention', layer: 0, head: 'mean', direction: 'query', cmap: 'inferno', opacity: 0.6 } as ViewState,
      info: { image: 'shapes-circle.png', model: 'ViT demo', summary: [['Model', 'ViT demo']], layers: ['Layer 1'], heads: 3, swin: false, hasFeatures: true } as InspectorInfo,
    };
    await s.page.evaluate((m) => window.postMessage(m, '*'), { type: 'state' as const, ...state });
    await s.page.waitForFunction(() => !document.getElementById('inspector')!.hidden);
    // The stylesheet before this issue: selects at vscode-elements' 320px in an `auto 1fr` grid.
    await s.page.evaluate(() => {
      // (A <style> element would be refused by the page's CSP; a constructed sheet is not.)
      const sheet = new CSSStyleSheet();
      sheet.replaceSync('.sidebar .controls { grid-template-columns: auto 1fr !important; } .controls > * { min-width: auto !important; } .controls vscode-single-select { width: 320px !important; }');
      document.adoptedStyleSheets = [sheet];
      const p = document.createElement('p');
      p.id = 'grey';
      p.style.color = '#777777'; // 4.22:1 on Light Modern's sidebar #f8f8f8
      p.textContent = 'grey text';
      const b = document.createElement('button');
      b.id = 'unnamed';
      b.tabIndex = 2;
      document.getElementById('inspector')!.append(p, b);
    });
    await settle(s.page);
    const a = await s.page.evaluate(audit);
    assert.ok(a.overflow.some((o) => o.startsWith('div.controls')), `the 320px selects overflow the controls: ${a.overflow.join('; ')}`);
    assert.ok(a.docScroll.scrollWidth > a.docScroll.clientWidth, 'the document scrolls sideways');
    assert.ok(a.lowContrast.some((c) => c.startsWith('p#grey') && c.includes('4.22:1')), a.lowContrast.join('; '));
    assert.deepEqual(a.unnamed, ['button#unnamed']);
    assert.deepEqual(a.positiveTabindex, ['button#unnamed']);
  } finally {
    await s.close();
  }
});
