/**
 * The WebGPU path in Chromium with its SwiftShader (CPU-emulated) adapter: the page is served with the CSP
 * the host uses once a GPU adapter is reported, the worker picks WebGPU, and the results equal Node's WASM run.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import * as path from 'node:path';
import { attentionRow, topK } from '../../src/shared/attentionMaps';
import { preprocessRgba, toInputTensor } from '../../src/shared/preprocess';
import { decodeImage } from '../../src/cli/imageFile';
import { createSession, runModel } from '../../src/cli/runModel';
import { demoModel, ROOT } from '../support/fixtures';
import { Harness, startHarness } from './harness';

let h: Harness;
const model = demoModel();
const fixtureImage = readdirSync(path.join(ROOT, 'test/fixtures/images')).filter((f) => f.endsWith('.png')).sort()[0];
const imagePath = path.join(ROOT, 'test/fixtures/images', fixtureImage);

before(async () => {
  h = await startHarness({ webgpu: true, chromiumArgs: ['--enable-unsafe-webgpu', '--use-webgpu-adapter=swiftshader'] });
});
after(async () => h?.close());

test('WebGPU (SwiftShader adapter) gives the same predictions and attention as WASM in Node', async () => {
  const ready = (await h.posted()).find((m) => m.type === 'ready');
  assert.ok(ready?.type === 'ready' && ready.gpuAdapter, 'the page reports a GPU adapter');
  const bytes = new Uint8Array(readFileSync(imagePath));
  await h.post({ type: 'visualize', backend: 'auto', model, image: { name: fixtureImage, uri: 'file:///x.png', bytes, mime: 'image/png' } });
  await h.waitForState('done', 240000);
  assert.equal(await h.page.locator('#backend').textContent(), 'WebGPU');

  const img = decodeImage(bytes, fixtureImage);
  const p = model.card.preprocess;
  const rgba = preprocessRgba(img.rgba, img.width, img.height, p);
  const run = await runModel(await createSession(model), model, toInputTensor(rgba, p));
  const expected = topK(run.logits, model.card.labels, 5);
  const rendered = (await h.posted()).find((m) => m.type === 'rendered');
  assert.ok(rendered?.type === 'rendered');
  assert.equal(rendered.summary.backend, 'webgpu');
  assert.deepEqual(rendered.summary.top.map((t) => t.label), expected.map((t) => t.label));
  for (let i = 0; i < 5; i++) assert.ok(Math.abs(rendered.summary.top[i].prob - expected[i].prob) < 1e-3, `prob ${i}: ${rendered.summary.top[i].prob} vs ${expected[i].prob}`);
  const cls = attentionRow(run.layers[model.structure.layers - 1], 0, 'mean', model.structure.prefixTokens);
  const nodeMax = Math.max(...cls);
  const pageMax = Number(await h.page.locator('#heatmap').getAttribute('data-max-attention'));
  assert.ok(Math.abs(pageMax - nodeMax) < 1e-3, `max CLS attention: WebGPU ${pageMax} vs WASM ${nodeMax}`);
});
