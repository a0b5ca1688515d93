/**
 * A model prepared over the attention memory budget exports CLS rows only. A patch selected on it must not make the
 * panel read rows the layers do not hold: the main map, the overview and the Inspector's patch details stay on what
 * is there, and say so.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { prepareModel } from '../../src/shared/prepareModel';
import type { WebviewToHost } from '../../src/shared/protocol';
import { DEMO_MODEL, ROOT } from '../support/fixtures';
import { Harness, startHarness } from './harness';

let h: Harness;
const errors: string[] = [];
const own = JSON.parse(readFileSync(path.join(ROOT, 'models/vit-demo.json'), 'utf8')) as Record<string, unknown>;
// A budget of 1 kB: far below the demo's full attention, so only CLS rows leave the graph.
const model = prepareModel(new Uint8Array(readFileSync(DEMO_MODEL)), 'vit-demo.onnx', 'demo-cls-rows', { own }, 1024);

before(async () => {
  h = await startHarness();
  h.page.on('pageerror', (e) => errors.push(e.message));
});
after(async () => h?.close());

test('CLS rows only: a selected patch keeps the map, the overview and the Inspector on CLS, with no page error', async () => {
  const bytes = new Uint8Array(readFileSync(path.join(ROOT, 'samples/cat_tabby.jpg')));
  await h.post({ type: 'visualize', backend: 'wasm', model, image: { name: 'cat_tabby.jpg', uri: 'file:///cat_tabby.jpg', bytes, mime: 'image/jpeg' } });
  await h.waitForState('done');
  const cells = await h.page.locator('#overview button.cell').count();
  assert.ok(cells > 0, 'the overview is drawn');
  await h.page.evaluate(() => window.postMessage({ type: 'applyView', view: { selected: { row: 2, col: 3 } } }, '*'));
  await h.page.waitForFunction(() => /Selected patch row 2, column 3/.test(document.getElementById('selection')?.textContent ?? ''));
  assert.match(await h.page.locator('#view-caption').textContent() ?? '', /Only the CLS rows were extracted/);
  assert.equal(await h.page.locator('#overview button.cell').count(), cells, 'the overview still shows every layer and head, on CLS');
  const posted = (await h.posted()) as WebviewToHost[];
  const last = posted.filter((m): m is Extract<WebviewToHost, { type: 'viewState' }> => m.type === 'viewState').at(-1)!;
  assert.deepEqual(last.view.selected, { row: 2, col: 3 });
  assert.equal(last.info?.patch, undefined, 'no patch details from rows the model does not export');
  assert.deepEqual(errors, []);
});
