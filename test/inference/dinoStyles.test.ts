/**
 * DINO-style exports (scripts/make_dino_styles.py): a ViT with dynamic height and width whose forward
 * interpolates the position embedding (CLS rows + resized patch rows concatenated, then added) has one prefix
 * token, not two; CLS + one register is a ViT with two prefix tokens, not DeiT. Each runs at 32×32 against
 * PyTorch, every layer fits its grid, and the default view's hottest patch is PyTorch's.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { argmax } from '../../src/shared/attentionMaps';
import { prepareModel } from '../../src/shared/prepareModel';
import { DEFAULT_VIEW } from '../../src/shared/protocol';
import { layoutMismatches } from '../../src/shared/tokenLayout';
import { computeView } from '../../src/shared/viewData';
import { createSession, runModel } from '../../src/cli/runModel';
import { maxAbsDiff, readFloat32, ROOT } from '../support/fixtures';

const DIR = path.join(ROOT, 'test/fixtures/dino');
interface Case {
  file: string;
  case: string;
  expect: { family: string; patchSize: number; grid: number[]; embedDim: number; layers: number; heads: number; prefixTokens: number; norm: string; classifier: string; inputName: string; dynamicBatch: boolean; dynamicHW: boolean; hottestPatch: { index: number; row: number; col: number } };
  reference: { input: string; logits: string; attention: string; attentionShape: number[] };
}
const cases = (JSON.parse(readFileSync(path.join(DIR, 'expected.json'), 'utf8')) as { cases: Case[] }).cases;

for (const c of cases) {
  test(`${c.file} (${c.case})`, async () => {
    const m = prepareModel(new Uint8Array(readFileSync(path.join(DIR, c.file))), c.file, c.file);
    const s = m.structure;
    const e = c.expect;
    const got = { family: s.family, patchSize: s.patchSize, grid: s.grid && [s.grid.rows, s.grid.cols], embedDim: s.embedDim, layers: s.layers, heads: s.heads, prefixTokens: s.prefixTokens, norm: s.norm, classifier: s.classifier, inputName: s.input.name, dynamicBatch: s.input.dynamicBatch, dynamicHW: s.input.height === undefined };
    const want = { family: e.family, patchSize: e.patchSize, grid: e.grid, embedDim: e.embedDim, layers: e.layers, heads: e.heads, prefixTokens: e.prefixTokens, norm: e.norm, classifier: e.classifier, inputName: e.inputName, dynamicBatch: e.dynamicBatch, dynamicHW: e.dynamicHW };
    assert.deepEqual(got, want);
    // A dynamic input is run at the position embedding's native size (32×32 here), where PyTorch ran.
    assert.equal(m.card.preprocess.size, 32);

    const input = readFloat32(path.join(DIR, c.reference.input));
    const run = await runModel(await createSession(m), m, input);
    const logitDiff = maxAbsDiff(run.logits, readFloat32(path.join(DIR, c.reference.logits)));
    assert.ok(logitDiff <= 1e-4, `logits differ by ${logitDiff}`);
    const [L, H, T] = c.reference.attentionShape;
    const ref = readFloat32(path.join(DIR, c.reference.attention));
    assert.equal(run.layers.length, L);
    run.layers.forEach((a, l) => {
      assert.equal(a.data.length, H * T * T, `layer ${l}: ${H} heads × ${T}² values`);
      const d = maxAbsDiff(a.data, ref.subarray(l * H * T * T, (l + 1) * H * T * T));
      assert.ok(d <= 1e-4, `layer ${l}: attention differs by ${d}`);
    });
    // The run's token counts confirm prefix + grid: nothing is refused.
    assert.deepEqual(layoutMismatches(s, run.layers), []);

    const view = computeView(s, run, { ...DEFAULT_VIEW, layer: run.layers.length - 1 });
    assert.ok(view.values && !view.refused, view.caption);
    assert.equal(view.values.length, e.grid[0] * e.grid[1]);
    assert.equal(argmax(view.values), e.hottestPatch.index, `hottest patch (${e.hottestPatch.row}, ${e.hottestPatch.col})`);
  });
}
