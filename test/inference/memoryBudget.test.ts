/** Over the attention memory budget only CLS rows leave the graph; they equal the full maps' first rows. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { createSession, runModel } from '../../src/cli/runModel';
import { fullAttentionBytes } from '../../src/shared/instrumentAttention';
import { prepareModel } from '../../src/shared/prepareModel';
import { DEFAULT_VIEW } from '../../src/shared/protocol';
import { computeView } from '../../src/shared/viewData';
import { rolloutRow } from '../../src/shared/rollout';
import { meanAttentionDistance } from '../../src/shared/locality';
import { DEMO_MODEL, maxAbsDiff, reference, referenceFixtures, ROOT } from '../support/fixtures';

test('budget arithmetic: ViT-S/8 at 480 px is 311 MB of attention per layer', () => {
  const s = { tokens: 3601, heads: 6, layers: 1, embedDim: 384 } as Parameters<typeof fullAttentionBytes>[0];
  assert.equal(Math.round(fullAttentionBytes(s)! / 1e6), 311);
});

test('over budget: CLS rows are sliced in the graph, equal PyTorch row 0, logits unchanged', async () => {
  const own = JSON.parse(readFileSync(path.join(ROOT, 'models/vit-demo.json'), 'utf8')) as Record<string, unknown>;
  const bytes = new Uint8Array(readFileSync(DEMO_MODEL));
  const full = prepareModel(bytes, 'vit-demo.onnx', 'a', { own });
  assert.equal(full.attentionMode, 'full');
  const small = prepareModel(bytes, 'vit-demo.onnx', 'b', { own }, 1e6); // 2.8 MB of attention > 1 MB
  assert.equal(small.attentionMode, 'cls-rows');
  const session = await createSession(small);
  for (const f of referenceFixtures()) {
    const ref = reference(f);
    const run = await runModel(session, small, ref.input);
    assert.ok(maxAbsDiff(run.logits, ref.logits) <= 1e-4);
    const [L, H, T] = f.attentionShape;
    for (let l = 0; l < L; l++) {
      const a = run.layers[l];
      assert.equal(a.queries, 1);
      assert.equal(a.data.length, H * T, 'only one row per head left the graph');
      for (let h = 0; h < H; h++) {
        const expected = ref.attention.subarray(((l * H + h) * T) * T, ((l * H + h) * T + 1) * T);
        assert.ok(maxAbsDiff(a.data.subarray(h * T, (h + 1) * T), expected) <= 1e-4, `${f.name} layer ${l} head ${h}`);
      }
    }
    const view = computeView(small.structure, { layers: run.layers }, { ...DEFAULT_VIEW, layer: L - 1, mode: 'rollout', selected: { row: 1, col: 1 } });
    assert.match(view.caption, /Only the CLS rows were extracted/);
  }
});

// Under the budget the graph also computes the rollout of token 0 and each head's mean attention distance;
// they must equal rollout.ts and locality.ts on the full matrices of the same image, whatever the export style.
const SUMMARY_MODELS = ['models/vit-demo.onnx', 'test/fixtures/torchvision/vit.onnx', 'test/fixtures/coverage/registers.onnx', 'test/fixtures/coverage/gap-no-cls.onnx', 'test/fixtures/coverage/opset11.onnx', 'test/fixtures/coverage/deit-distilled.onnx'];
for (const file of SUMMARY_MODELS) {
  test(`over budget, in-graph rollout and attention distance equal the full-matrix maths: ${path.basename(file)}`, async () => {
    const bytes = new Uint8Array(readFileSync(path.join(ROOT, file)));
    const full = prepareModel(bytes, path.basename(file), 'full');
    const small = prepareModel(bytes, path.basename(file), 'small', {}, 1);
    assert.equal(small.attentionMode, 'cls-rows');
    assert.equal(small.rolloutOutputs?.length, full.structure.layers);
    const size = full.card.preprocess.size;
    const input = new Float32Array(3 * size * size).map((_, i) => ((i * 7919) % 251) / 251);
    const a = await runModel(await createSession(full), full, input);
    const b = await runModel(await createSession(small), small, input);
    const s = full.structure;
    assert.ok(b.rollout && b.headDistance, 'summaries came out of the graph');
    for (let l = 0; l < a.layers.length; l++) {
      const want = rolloutRow(a.layers, 0, { fusion: 'mean', discardRatio: 0, upToLayer: l });
      assert.ok(maxAbsDiff(b.rollout[l], want) <= 1e-5, `layer ${l}: rollout differs by ${maxAbsDiff(b.rollout[l], want)}`);
      const dist = meanAttentionDistance(a.layers[l], s.grid!, s.prefixTokens, s.patchSize);
      assert.equal(b.headDistance[l].length, a.layers[l].heads);
      assert.ok(maxAbsDiff(b.headDistance[l], dist) <= 1e-3, `layer ${l}: distances ${b.headDistance[l]} vs ${dist}`);
    }
    const last = s.layers - 1;
    const view = computeView(s, { layers: b.layers, rollout: b.rollout }, { ...DEFAULT_VIEW, layer: last, mode: 'rollout' });
    assert.match(view.caption, /computed inside the graph/);
    const fullView = computeView(s, { layers: a.layers }, { ...DEFAULT_VIEW, layer: last, mode: 'rollout' });
    assert.ok(maxAbsDiff(view.values!, fullView.values!) <= 1e-5, 'the rollout view draws the same values as with full matrices');
  });
}
