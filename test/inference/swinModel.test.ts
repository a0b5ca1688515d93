/** The Swin demo model: structure from the graph, and every block's window attention against PyTorch. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import * as ort from 'onnxruntime-web';
import { maxRowSumError } from '../../src/shared/attentionMaps';
import { createSession, runModel } from '../../src/cli/runModel';
import { maxAbsDiff, readFloat32, SWIN_MODEL, SWIN_REFERENCE_DIR, swinModel, swinReferenceIndex } from '../support/fixtures';

test('Swin structure is read from the graph: stages, depths, heads, window, shifts, grids', () => {
  const m = swinModel();
  const s = m.structure;
  const ref = swinReferenceIndex();
  const card = JSON.parse(readFileSync(path.join(path.dirname(SWIN_MODEL), 'swin-demo.json'), 'utf8')) as { architecture: { depths: number[]; heads: number[]; window: number; grids: number[]; patchSize: number; embedDim: number } };
  assert.equal(s.family, 'swin');
  assert.equal(s.classifier, 'gap');
  assert.equal(s.prefixTokens, 0);
  assert.equal(s.patchSize, card.architecture.patchSize);
  assert.equal(s.embedDim, card.architecture.embedDim);
  assert.ok(s.swin);
  assert.equal(s.swin.window, card.architecture.window);
  assert.deepEqual(s.swin.depths, card.architecture.depths);
  assert.deepEqual(s.swin.heads, card.architecture.heads);
  assert.deepEqual(s.swin.grids, card.architecture.grids);
  assert.equal(s.swin.blocks.length, ref.blocks.length);
  ref.blocks.forEach((b, i) => {
    const mine = s.swin!.blocks[i];
    assert.equal(mine.stage, b.stage, `block ${i} stage`);
    assert.equal(mine.blockInStage, b.indexInStage, `block ${i} index in stage`);
    assert.equal(mine.shift > 0, b.shifted, `block ${i} shifted`);
    assert.equal(mine.grid, b.grid[0], `block ${i} grid`);
    assert.equal(mine.windows, b.windows, `block ${i} windows`);
    if (b.shifted) assert.equal(mine.shift, Math.floor(mine.window / 2));
  });
});

test('Swin: logits and every block\'s window attention match PyTorch within 1e-4; rows sum to 1; logits unchanged by instrumenting', async () => {
  const m = swinModel();
  const ref = swinReferenceIndex();
  const session = await createSession(m);
  const plain = await ort.InferenceSession.create(new Uint8Array(readFileSync(SWIN_MODEL)));
  for (const f of ref.fixtures) {
    const dir = path.join(SWIN_REFERENCE_DIR, f.name);
    const input = readFloat32(path.join(dir, 'input.bin'));
    const run = await runModel(session, m, input);
    const d = maxAbsDiff(run.logits, readFloat32(path.join(dir, 'logits.bin')));
    assert.ok(d <= 1e-4, `${f.name}: logits differ by ${d}`);
    const plainLogits = (await plain.run({ [m.structure.input.name]: new ort.Tensor('float32', input, f.inputShape) }))[m.logitsOutput].data as Float32Array;
    assert.ok(maxAbsDiff(plainLogits, run.logits) <= 1e-6, 'instrumented logits equal the plain model\'s');
    for (const b of ref.blocks) {
      const a = run.layers[b.block];
      const expected = readFloat32(path.join(dir, `attention-${b.block}.bin`));
      assert.equal(a.data.length, expected.length, `${f.name} block ${b.block}: shape ${b.attentionShape}`);
      const da = maxAbsDiff(a.data, expected);
      assert.ok(da <= 1e-4, `${f.name} block ${b.block}: attention differs by ${da}`);
      const rows = maxRowSumError({ heads: b.windows * b.heads, tokens: b.attentionShape[3], data: a.data });
      assert.ok(rows <= 1e-4, `${f.name} block ${b.block}: rows sum to 1 ± ${rows}`);
    }
    console.log(`${f.name}: max |Δlogits| ${d.toExponential(2)}`);
  }
});
