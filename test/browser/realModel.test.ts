/**
 * The bundled ImageNet ViT-Ti/16 in the real webview (headless Chromium, WASM): the tabby cat photo is called a
 * tabby cat, and the hottest patches of the attention rollout lie on the cat, not on the blanket behind it
 * (test/support/catMask.ts, drawn by hand).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { ROOT } from '../support/fixtures';
import { maskAt } from '../support/catMask';
import { realModel } from '../support/realModel';
import { Harness, startHarness } from './harness';

let h: Harness;
const model = realModel();

before(async () => {
  h = await startHarness();
  mkdirSync(path.join(ROOT, 'test-results'), { recursive: true });
});
after(async () => h?.close());

async function hottest(): Promise<number[]> {
  const v = await h.page.locator('#heatmap').getAttribute('data-hottest');
  return (v ?? '').split(',').filter(Boolean).map(Number);
}

test('cat_tabby.jpg on the real ViT: top-1 "tabby cat"; the rollout\'s hottest patches are on the cat', async () => {
  const bytes = new Uint8Array(readFileSync(path.join(ROOT, 'samples/cat_tabby.jpg')));
  await h.post({ type: 'visualize', backend: 'wasm', model, image: { name: 'cat_tabby.jpg', uri: 'file:///cat_tabby.jpg', bytes, mime: 'image/jpeg' } });
  await h.waitForState('done');
  const labels = await h.page.locator('#predictions li .label').allTextContents();
  assert.equal(labels[0], 'tabby cat', `top-5 ${JSON.stringify(labels)}`);
  assert.match(await h.page.locator('#status').textContent() ?? '', /Top-1: tabby cat/);
  const summary = await h.page.locator('#summary').textContent() ?? '';
  assert.match(summary, /1000 class scores/);

  // The default view (last layer's CLS attention) lights up the corners: the caption says they are sinks.
  assert.match(await h.page.locator('#view-caption').textContent() ?? '', /of this map sits on \d+ high-norm patches: attention sinks/);
  const before = (await h.page.locator('#heatmap').getAttribute('data-hottest')) ?? '';
  await h.page.evaluate((last) => window.postMessage({ type: 'applyView', view: { layer: last, head: 'mean', mode: 'rollout', direction: 'query' } }, '*'), model.structure.layers - 1);
  await h.page.waitForFunction((b) => (document.getElementById('heatmap')?.dataset.hottest ?? b) !== b, before);
  const hot = await hottest();
  assert.equal(hot.length, 10);
  const kinds = hot.map((i) => maskAt(i));
  assert.ok(!kinds.includes('B'), `a hottest rollout patch lies on the background: ${hot.map((i, k) => `${i}:${kinds[k]}`).join(' ')}`);
  assert.ok(kinds.slice(0, 5).every((k) => k === 'C'), `the five hottest rollout patches must be on the cat: ${hot.map((i, k) => `${i}:${kinds[k]}`).join(' ')}`);
  await h.page.screenshot({ path: path.join(ROOT, 'test-results/real-model-cat-rollout.png'), fullPage: false });
});

test('the ideas on the real ViT-Ti: its attention cost, patch filters, and position embeddings that learned locality', async () => {
  // Runs after the first test: the panel holds cat_tabby.jpg on the real model.
  await h.page.waitForFunction(() => (document.getElementById('pos-text')?.textContent ?? '').length > 0, undefined, { timeout: 60_000 });
  assert.match(await h.page.locator('#cost-text').textContent() ?? '', /N = 197 tokens of width C = 192/);
  const pos = await h.page.locator('#pos-text').textContent() ?? '';
  const m = /adjacent patches average (-?[\d.]+) against (-?[\d.]+) for all pairs/.exec(pos);
  assert.ok(m, pos);
  // Learned locality: neighbouring patches' embeddings are far more alike than patches at random.
  assert.ok(Number(m[1]) > Number(m[2]) + 0.2, pos);
  assert.equal(await h.page.locator('#filters').getAttribute('width'), String(16 * 17));
  // The README's picture of the ideas: cost, filters, position embeddings and other resolutions, on the real model.
  await h.page.locator('#ideas').screenshot({ path: path.join(ROOT, 'test-results/real-model-ideas.png') });
});
