/**
 * The panel's palette commands in the real webview bundle: the host's 'panelAction' messages step the layer and
 * head selects (wrapping) and tell the sidebar, export exactly what the buttons export, and copy the values as CSV.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import * as path from 'node:path';
import type { PanelAction, WebviewRequest, WebviewToHost } from '../../src/shared/protocol';
import { demoModel, ROOT } from '../support/fixtures';
import { Harness, startHarness } from './harness';

let h: Harness;
const model = demoModel();
const fixtureImage = readdirSync(path.join(ROOT, 'test/fixtures/images')).filter((f) => f.endsWith('.png')).sort()[0];
const imagePath = path.join(ROOT, 'test/fixtures/images', fixtureImage);
const layers = model.structure.layers;
const heads = model.structure.heads!;

before(async () => {
  h = await startHarness();
});
after(async () => h?.close());

type Requested = { id: number; request: WebviewRequest };
const requests = async (): Promise<Requested[]> => (await h.posted()).flatMap((m: WebviewToHost) => (m.type === 'request' ? [{ id: m.id, request: m.request }] : []));

/** Posts the action and returns the requests it made (waiting for `expect` of them). */
async function act(action: PanelAction, expect = 0): Promise<Requested[]> {
  const n = (await requests()).length;
  await h.post({ type: 'panelAction', action });
  // The message is handled in a later task: let it run before reading the page.
  await h.page.evaluate(() => new Promise((r) => setTimeout(r, 0)));
  if (expect) await h.page.waitForFunction(([n, k]) => (window as unknown as { __posted: { type: string }[] }).__posted.filter((m) => m.type === 'request').length >= n + k, [n, expect]);
  return (await requests()).slice(n);
}

const selectValue = (id: 'layer' | 'head') => h.page.evaluate((i) => (document.getElementById(i) as HTMLElement & { value: string }).value, id);
const lastViewState = async () => (await h.posted()).filter((m) => m.type === 'viewState').pop();

test('before any result a palette action says why it did nothing', async () => {
  const [r] = await act('nextLayer', 1);
  assert.equal(r.request.kind, 'notify');
  assert.match(r.request.kind === 'notify' ? r.request.message : '', /no result yet/);
});

test('Next/Previous Layer and Head step the selects, wrap around and update the sidebar', async () => {
  const bytes = new Uint8Array(readFileSync(imagePath));
  await h.post({ type: 'visualize', backend: 'wasm', model, image: { name: fixtureImage, uri: `file://${imagePath}`, bytes, mime: 'image/png' } });
  await h.waitForState('done');
  assert.equal(await selectValue('layer'), String(layers - 1), 'starts on the last layer');
  const runs = (await h.posted()).filter((m) => m.type === 'rendered').length;
  // Next after the last layer wraps to the first; Previous goes back.
  assert.deepEqual(await act('nextLayer'), []);
  assert.equal(await selectValue('layer'), '0');
  let vs = await lastViewState();
  assert.ok(vs?.type === 'viewState' && vs.view.layer === 0, 'the sidebar hears of the new layer');
  await act('previousLayer');
  assert.equal(await selectValue('layer'), String(layers - 1));
  await act('previousLayer');
  assert.equal(await selectValue('layer'), String(layers - 2));
  // Heads follow the select's order: mean, max, min, head 1…n, and wrap.
  assert.equal(await selectValue('head'), 'mean');
  await act('nextHead');
  assert.equal(await selectValue('head'), 'max');
  await act('previousHead');
  await act('previousHead');
  assert.equal(await selectValue('head'), String(heads - 1));
  vs = await lastViewState();
  assert.ok(vs?.type === 'viewState' && vs.view.head === String(heads - 1) && vs.view.layer === layers - 2);
  assert.match(await h.page.locator('#view-caption').textContent() ?? '', new RegExp(`layer ${layers - 1}, head ${heads}`));
  assert.equal((await h.posted()).filter((m) => m.type === 'rendered').length, runs, 'no new inference');
});

test('Export PNG and Export JSON from the palette post the same export as the buttons', async () => {
  const exported = async (run: () => Promise<unknown>, format: 'png' | 'json') => {
    const n = (await requests()).length;
    await run();
    await h.page.waitForFunction((n) => (window as unknown as { __posted: { type: string }[] }).__posted.filter((m) => m.type === 'request').length > n, n);
    const r = (await requests()).slice(n).find((x) => x.request.kind === 'export');
    assert.ok(r && r.request.kind === 'export' && r.request.format === format, `an ${format} export request`);
    // Answer it as the host does when the user cancels the save dialog.
    await h.post({ type: 'reply', id: r.id, ok: true, value: null });
    return { fileName: r.request.fileName, data: new Uint8Array(Object.values(r.request.data)) };
  };
  const pngPalette = await exported(() => act('exportPng'), 'png');
  const pngButton = await exported(() => h.page.locator('#export-png').click(), 'png');
  assert.equal(pngPalette.fileName, pngButton.fileName);
  assert.ok(pngPalette.data.length > 1000 && Buffer.from(pngPalette.data).equals(Buffer.from(pngButton.data)), 'the same PNG bytes');
  const jsonPalette = await exported(() => act('exportJson'), 'json');
  const jsonButton = await exported(() => h.page.locator('#export-json').click(), 'json');
  // Equal but for the time of export.
  const doc = (d: Uint8Array) => ({ ...(JSON.parse(new TextDecoder().decode(d)) as Record<string, unknown>), exportedAt: undefined });
  assert.deepEqual(doc(jsonPalette.data), doc(jsonButton.data));
});

test('Copy Values as CSV sends the main view\'s grid (the exported JSON\'s values) to the host\'s clipboard', async () => {
  const [r] = await act('copyValues', 1);
  assert.ok(r.request.kind === 'clipboard', `a clipboard request, got ${r.request.kind}`);
  const { rows, cols } = model.structure.grid!;
  assert.equal(r.request.what, `${rows}×${cols} values (attention, Layer ${layers - 1}, Head ${heads}) of ${fixtureImage.replace(/\.png$/, '')} as CSV`);
  const lines = r.request.text.trimEnd().split('\n');
  assert.match(lines[0], new RegExp(`^# ViT Lens; image: ${fixtureImage.replace('.', '\\.')}; model: .+; view: attention; layer: Layer ${layers - 1}; head: head ${heads}; ${rows} rows × ${cols} columns$`));
  assert.match(lines[1], /^# CLS token attention/);
  const grid = lines.slice(2).map((l) => l.split(',').map(Number));
  assert.equal(grid.length, rows);
  assert.ok(grid.every((row) => row.length === cols));
  await h.post({ type: 'reply', id: r.id, ok: true, value: null });
  // The same numbers as Export JSON's (rounded to 1e-6 there).
  const n = (await requests()).length;
  await h.page.locator('#export-json').click();
  await h.page.waitForFunction((n) => (window as unknown as { __posted: { type: string }[] }).__posted.filter((m) => m.type === 'request').length > n, n);
  const j = (await requests()).slice(n).find((x) => x.request.kind === 'export')!;
  assert.ok(j.request.kind === 'export');
  await h.post({ type: 'reply', id: j.id, ok: true, value: null });
  const values = (JSON.parse(new TextDecoder().decode(new Uint8Array(Object.values(j.request.data)))) as { values: number[] }).values;
  const worst = Math.max(...grid.flat().map((v, i) => Math.abs(v - values[i])));
  assert.ok(worst <= 1e-6, `CSV and JSON values differ by up to ${worst}`);
});

test('Copy Values as CSV on a colour view (PCA) says there are no values instead', { skip: !model.featureOutput && 'the demo model has no final features' }, async () => {
  await h.post({ type: 'applyView', view: { mode: 'features' } });
  const [r] = await act('copyValues', 1);
  assert.ok(r.request.kind === 'notify' && /shows colours \(PCA\), not values/.test(r.request.message), JSON.stringify(r.request));
  await h.post({ type: 'applyView', view: { mode: 'attention' } });
});
