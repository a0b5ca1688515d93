/**
 * The panel keeps copies of recent models in its own storage (IndexedDB): after a reload (as a new panel would),
 * it names them in 'ready', runs a model the host did not send from its copy with the same result, asks the host
 * when it has no copy, keeps nothing over the budget or when the budget is 0, and runs a small model whose bytes came
 * ahead of the visualize message (sent while a new panel's page started) without asking for them.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import type { HostToWebview, WebviewToHost } from '../../src/shared/protocol';
import { demoModel, ROOT } from '../support/fixtures';
import { Harness, startHarness } from './harness';

let h: Harness;
const model = demoModel();
const id = `file:///models/vit-demo.onnx|1|${model.bytes.byteLength}`;
const image = { name: 'shapes-circle.png', uri: 'file:///c.png', bytes: new Uint8Array(readFileSync(path.join(ROOT, 'test/fixtures/images/shapes-circle.png'))), mime: 'image/png' };
const MB = 2 ** 20;
/** The first test's result, from the bytes in the visualize message. */
let reference: { top: string[]; max: string | null } | undefined;

before(async () => { h = await startHarness(); });
after(async () => h?.close());

const visualize = (m: HostToWebview & { type: 'visualize' }) => h.post(m);
const result = async () => ({ top: await h.page.locator('#predictions li .label').allTextContents(), max: await h.page.locator('canvas#heatmap').getAttribute('data-max-attention') });
/** Waits until the page has decided whether to keep model `bytesId`'s copy. */
const kept = (bytesId: string, how: 'kept' | 'not-kept') => h.page.waitForFunction((want) => document.getElementById('vit-lens-app')!.dataset.kept === want, `${bytesId} ${how}`, { timeout: 30000 });
async function reloadAndReady(): Promise<Extract<WebviewToHost, { type: 'ready' }>> {
  await h.page.reload();
  await h.page.waitForFunction(() => (window as unknown as { __posted: { type: string }[] }).__posted.some((m) => m.type === 'ready'), undefined, { timeout: 30000 });
  return (await h.posted()).find((m) => m.type === 'ready') as Extract<WebviewToHost, { type: 'ready' }>;
}

test('a model the host sent is kept; after a reload the page names it and runs it from its copy, with the same result', async () => {
  await visualize({ type: 'visualize', backend: 'wasm', model: { ...model, bytesId: id }, image, modelCacheBytes: 64 * MB });
  await h.waitForState('done');
  const first = await result();
  reference = first;
  await kept(id, 'kept');
  const ready = await reloadAndReady();
  assert.deepEqual(ready.cachedModels, [id]);
  await visualize({ type: 'visualize', backend: 'wasm', model: { ...model, bytes: undefined, bytesId: id }, image, modelCacheBytes: 64 * MB });
  await h.waitForState('done');
  assert.deepEqual(await result(), first);
  assert.ok(!(await h.posted()).some((m) => m.type === 'request'), 'the page did not ask the host for the bytes');
  console.log(`kept copy: top-1 ${first.top[0]}, max attention ${first.max}, the same after a reload without the bytes`);
});

test('without a readable copy the page asks the host for the bytes', async () => {
  await reloadAndReady();
  await visualize({ type: 'visualize', backend: 'wasm', model: { ...model, key: 'other-key', bytes: undefined, bytesId: 'never-kept' }, image, modelCacheBytes: 64 * MB });
  await h.page.waitForFunction(() => (window as unknown as { __posted: { type: string }[] }).__posted.some((m) => m.type === 'request'), undefined, { timeout: 30000 });
  const req = (await h.posted()).find((m) => m.type === 'request') as Extract<WebviewToHost, { type: 'request' }>;
  assert.deepEqual(req.request, { kind: 'modelBytes', modelKey: 'other-key' });
  await h.post({ type: 'reply', id: req.id, ok: true, value: { bytes: model.bytes, graphPatch: model.graphPatch } });
  await h.waitForState('done');
  assert.equal((await result()).top.length, 5);
});

test('nothing over the budget is kept, the least recently used copy goes first, and a budget of 0 deletes every copy', async () => {
  await reloadAndReady();
  await visualize({ type: 'visualize', backend: 'wasm', model: { ...model, key: 'small', bytesId: 'small-budget' }, image, modelCacheBytes: 1000 });
  await h.waitForState('done');
  await kept('small-budget', 'not-kept');
  assert.deepEqual((await reloadAndReady()).cachedModels, [id], 'only the first copy');
  // Room for one copy: keeping another drops the least recently used.
  await visualize({ type: 'visualize', backend: 'wasm', model: { ...model, key: 'second', bytesId: 'second-copy' }, image, modelCacheBytes: model.bytes.byteLength * 1.5 });
  await h.waitForState('done');
  await kept('second-copy', 'kept');
  assert.deepEqual((await reloadAndReady()).cachedModels, ['second-copy']);
  await visualize({ type: 'visualize', backend: 'wasm', model: { ...model, key: 'zero', bytesId: 'zero-budget' }, image, modelCacheBytes: 0 });
  await h.waitForState('done');
  await kept('zero-budget', 'not-kept');
  assert.deepEqual((await reloadAndReady()).cachedModels, []);
});

test('a small model sent ahead while the page starts: the page says it arrived, runs it without asking for bytes, the same result, and keeps it', async () => {
  await reloadAndReady();
  const aheadId = 'sent-ahead';
  await h.post({ type: 'modelAhead', modelKey: 'ahead-key', bytes: model.bytes, graphPatch: model.graphPatch, backend: 'wasm' });
  await h.page.waitForFunction(() => (window as unknown as { __posted: { type: string; modelKey?: string }[] }).__posted.some((m) => m.type === 'received' && m.modelKey === 'ahead-key'), undefined, { timeout: 30000 });
  await visualize({ type: 'visualize', backend: 'wasm', model: { ...model, key: 'ahead-key', bytes: undefined, graphPatch: undefined, bytesId: aheadId }, image, modelCacheBytes: 64 * MB });
  await h.waitForState('done');
  assert.ok(!(await h.posted()).some((m) => m.type === 'request'), 'the page did not ask the host for the bytes');
  assert.deepEqual(await result(), reference);
  await kept(aheadId, 'kept');
});
