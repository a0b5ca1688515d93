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
