/**
 * ViTs whose token sequence changes between layers (scripts/make_pooling_styles.py): PiT pools its grid from
 * 8×8 to 4×4 between stages; CaiT mixes heads around the softmax (talking heads) and adds CLS only for its
 * class-attention layers. Every layer is found with PyTorch's weights, and each is either drawn on its own grid
 * with PyTorch's values or refused with a caption naming the layer, the expected and the found token counts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { prepareModel } from '../../src/shared/prepareModel';
import { DEFAULT_VIEW } from '../../src/shared/protocol';
import { layoutMismatches } from '../../src/shared/tokenLayout';
import { computeView } from '../../src/shared/viewData';
import { createSession, runModel } from '../../src/cli/runModel';
import { maxAbsDiff, readFloat32, ROOT } from '../support/fixtures';

const DIR = path.join(ROOT, 'test/fixtures/pooling');
interface Layer { shape: [number, number, number]; prefix: number; grid: [number, number]; talkingHeads?: boolean; classAttention?: boolean; /** The exact caption when the layer must be refused. */ refusal?: string }
interface Model { file: string; input: string; logits: string; layers: Layer[] }
const models = (JSON.parse(readFileSync(path.join(DIR, 'expected.json'), 'utf8')) as { models: Model[] }).models;

/** What the default view shows for a layer, from PyTorch's weights [H, Q, T]: the CLS row, or (no CLS) the mean each patch receives. */
function expectedView(ref: Float32Array, l: Layer): Float32Array {
  const [H, Q, T] = l.shape;
  const out = new Float32Array(T - l.prefix);
  for (let h = 0; h < H; h++) {
    const rows = l.prefix > 0 ? [0] : Array.from({ length: Q }, (_, q) => q);
    for (const q of rows) {
      for (let j = l.prefix; j < T; j++) out[j - l.prefix] += ref[(h * Q + q) * T + j] / H / rows.length;
    }
  }
  return out;
}

for (const mdl of models) {
  test(`${mdl.file}: every layer found, each drawn on its own grid as PyTorch or refused with the reason`, async () => {
    const m = prepareModel(new Uint8Array(readFileSync(path.join(DIR, mdl.file))), mdl.file, mdl.file);
    const s = m.structure;
    assert.equal(s.layers, mdl.layers.length, 'all attention layers found');
    const run = await runModel(await createSession(m), m, readFloat32(path.join(DIR, mdl.input)));
    const d = maxAbsDiff(run.logits, readFloat32(path.join(DIR, mdl.logits)));
    assert.ok(d <= 1e-4, `logits differ by ${d}`);
    assert.equal(run.layers.length, mdl.layers.length);
    const refused: string[] = [];
    mdl.layers.forEach((l, i) => {
      const a = run.layers[i];
      assert.deepEqual([a.heads, a.queries ?? a.tokens, a.tokens], l.shape, `layer ${i + 1}: shape`);
      assert.equal(s.attention[i].prefixTokens ?? s.prefixTokens, l.prefix, `layer ${i + 1}: prefix tokens`);
      assert.equal(!!s.attention[i].classAttention, !!l.classAttention, `layer ${i + 1}: class attention`);
      if (l.talkingHeads) assert.match(s.attention[i].where, /^talking heads/, 'the mixed weights are tapped, not the Softmax');
      const ref = readFloat32(path.join(DIR, `${path.basename(mdl.file, '.onnx')}.attention.${i}.bin`));
      const da = maxAbsDiff(a.data, ref);
      assert.ok(da <= 1e-4, `layer ${i + 1}: attention differs from PyTorch's by ${da}`);
      const v = computeView(s, { layers: run.layers }, { ...DEFAULT_VIEW, layer: i });
      assert.equal(!!v.refused, !!l.refusal, `layer ${i + 1}: ${v.caption}`);
      if (v.refused) {
        // A refusal names the layer, what was expected and what was found.
        assert.equal(v.caption, l.refusal);
        assert.match(v.caption, new RegExp(`^Layer ${i + 1} is not drawn: .*\\b${l.shape[2]} tokens\\b.*=`), v.caption);
        assert.equal(v.values, undefined);
        refused.push(v.caption);
        return;
      }
      assert.deepEqual([v.grid.rows, v.grid.cols], l.grid, `layer ${i + 1} drawn on its own grid`);
      assert.ok(v.values, v.caption);
      const dv = maxAbsDiff(v.values, expectedView(ref, l));
      assert.ok(dv <= 1e-4, `layer ${i + 1}: drawn values differ from PyTorch's by ${dv}`);
      if (l.classAttention) assert.match(v.caption, /class-attention/, 'a class-attention layer says so');
      assert.doesNotMatch(v.caption, /attentionMemoryBudgetMB/, 'no memory budget was involved');
    });
    // The summary's "Not drawn" row lists exactly the refused layers.
    assert.deepEqual(layoutMismatches(s, run.layers), refused);
    // Rollout through talking-heads layers multiplies weights that are not probabilities: refused, naming them.
    const mixed = mdl.layers.flatMap((l, i) => (l.talkingHeads ? [i + 1] : []));
    const last = mdl.layers.length - 1;
    const rollout = computeView(s, { layers: run.layers }, { ...DEFAULT_VIEW, mode: 'rollout', layer: last });
    if (mixed.length) assert.match(rollout.caption, new RegExp(`^Attention rollout is not drawn: layers? ${mixed.join(', ')} mix`), rollout.caption);
    if (mixed.length) assert.equal(rollout.values, undefined);
  });
}
