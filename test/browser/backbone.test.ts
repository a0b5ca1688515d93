/**
 * A backbone whose output is an embedding (Hugging Face `ViTModel`: last_hidden_state + pooler_output) in the
 * real webview: no invented predictions, the panel says what the model outputs, and the attention, rollout and
 * token-feature views still draw.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { prepareModel } from '../../src/shared/prepareModel';
import { ROOT } from '../support/fixtures';
import { Harness, startHarness } from './harness';

let h: Harness;
before(async () => { h = await startHarness(); });
after(async () => h?.close());

test('hf-vitmodel backbone: "no classes to predict", what it outputs, and every view draws', async () => {
  const file = path.join(ROOT, 'test/fixtures/backbones/hf-vitmodel.onnx');
  const model = prepareModel(new Uint8Array(readFileSync(file)), 'hf-vitmodel.onnx', 'backbone');
  const bytes = new Uint8Array(readFileSync(path.join(ROOT, 'test/fixtures/images/shapes-circle.png')));
  await h.post({ type: 'visualize', backend: 'wasm', model, image: { name: 'shapes-circle.png', uri: 'file:///c.png', bytes, mime: 'image/png' } });
  await h.waitForState('done');
  assert.equal(await h.page.locator('#predictions li .label').count(), 0, 'no invented class predictions');
  const note = await h.page.locator('#predictions li.no-classes').textContent() ?? '';
  assert.match(note, /last_hidden_state: the 32-d features of all 17 tokens/);
  assert.match(note, /pooler_output: a 32-d embedding of the CLS token, pooled by a dense layer and tanh/);
  assert.match(note, /no classes to predict/);
  assert.match(await h.page.locator('#status').textContent() ?? '', /Done: a 32-d embedding/);
  assert.match(await h.page.locator('#summary').textContent() ?? '', /Classifier\s*none \(a backbone: see Output\)/);
  for (const mode of ['attention', 'rollout', 'features']) {
    await h.page.evaluate((m) => window.postMessage({ type: 'applyView', view: { layer: 1, head: 'mean', mode: m, direction: 'query' } }, '*'), mode);
    await h.page.waitForFunction((m) => (document.getElementById('view-caption')?.textContent ?? '').toLowerCase().includes(m === 'features' ? 'principal components' : m === 'rollout' ? 'rollout' : 'attention'), mode);
    const drawn = await h.page.evaluate(() => {
      const c = document.getElementById('heatmap') as HTMLCanvasElement;
      const d = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
      let opaque = 0;
      for (let i = 3; i < d.length; i += 4) if (d[i] > 0) opaque++;
      return opaque;
    });
    assert.ok(drawn > 1000, `${mode}: ${drawn} drawn pixels`);
  }
});
