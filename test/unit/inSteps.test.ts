/**
 * Copying a model in steps: the panel keeps painting and the extension host keeps serving while a 346 MB ViT-B/16
 * crosses to the inference worker or the model thread.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { joinInSteps } from '../../src/shared/inSteps';

const filled = (n: number, seed: number) => Uint8Array.from({ length: n }, (_, i) => (i * 31 + seed) & 255);

test('a model over 16 MB and its output patch are joined byte for byte, with the thread free between 16 MB steps', async () => {
  const model = filled(40 << 20, 1);
  const patch = filled(1000, 7);
  let turns = 0;
  const other = setInterval(() => turns++, 0);
  const joined = await joinInSteps([model, patch]);
  clearInterval(other);
  assert.equal(joined.byteLength, model.byteLength + patch.byteLength);
  assert.ok(joined.subarray(0, model.byteLength).every((v, i) => v === model[i]), 'the model bytes');
  assert.deepEqual(Array.from(joined.subarray(model.byteLength)), Array.from(patch), 'the patch after them');
  // 40 MB in 16 MB steps: the other timer ran between them.
  assert.ok(turns >= 2, `other work ran ${turns} times during the copy`);
});

test('a small model is joined in one step', async () => {
  const joined = await joinInSteps([filled(100, 3), filled(20, 5)]);
  assert.deepEqual(Array.from(joined), [...Array.from(filled(100, 3)), ...Array.from(filled(20, 5))]);
});
