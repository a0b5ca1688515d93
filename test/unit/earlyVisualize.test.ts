/**
 * The model in the extension host: the panel's visualize message is posted before the page says 'ready', and posted
 * again, parameters inline, only when the page's 'ready' shows it was lost.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { EarlyVisualize } from '../../src/shared/earlyVisualize';
import type { HostToWebview, ModelPayload } from '../../src/shared/protocol';

type Visualize = Extract<HostToWebview, { type: 'visualize' }> & { seq: number };
const parameters = { posEmbed: [[0.5]] } as unknown as NonNullable<ModelPayload['parameters']>;
const message = (seq: number): Visualize => ({
  type: 'visualize', seq, backend: 'auto', runIn: 'extensionHost', parametersFollow: true,
  model: { key: 'm', parameters: undefined } as unknown as ModelPayload,
  image: { name: `img${seq}.png`, uri: `file:///img${seq}.png`, bytes: new Uint8Array([seq]), mime: 'image/png' },
});

test('posted before the page listened and lost: posted again on ready, with the parameters that followed it inline', () => {
  const e = new EarlyVisualize();
  e.posted(message(1), parameters, false);
  const again = e.ready(0);
  assert.equal(again?.seq, 1);
  assert.equal(again?.image.name, 'img1.png');
  assert.equal(again?.parametersFollow, false, 'no parameters message follows the copy');
  assert.equal(again?.model.parameters, parameters);
  assert.equal(e.ready(0), undefined, 'once');
});

test('posted before ready and seen by the page: not posted again', () => {
  const e = new EarlyVisualize();
  e.posted(message(3), parameters, false);
  assert.equal(e.ready(3), undefined);
});

test('two images before ready: only the later one is posted again, when the page saw just the first', () => {
  const e = new EarlyVisualize();
  e.posted(message(1), undefined, false);
  e.posted(message(2), undefined, false);
  assert.equal(e.ready(1)?.image.name, 'img2.png');
});

test('posted after the page said ready: nothing to confirm', () => {
  const e = new EarlyVisualize();
  e.posted(message(4), parameters, true);
  assert.equal(e.ready(0), undefined);
});
