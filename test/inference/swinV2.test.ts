/**
 * Swin V2 exports (scripts/make_swinv2_styles.py): cosine attention with a learned per-head temperature, a
 * continuous-position-bias MLP (folded to a constant, or running in the graph), res-post-norm. Heads, windows,
 * shifts and stages are read from the graph as for Swin V1; norm placement is 'res-post'; every block's attention
 * and the logits match PyTorch, every block fits its windows, and the default view's hottest patch is PyTorch's.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { argmax, maxRowSumError } from '../../src/shared/attentionMaps';
import { summaryRows } from '../../src/shared/modelSummary';
import { prepareModel } from '../../src/shared/prepareModel';
import { DEFAULT_VIEW } from '../../src/shared/protocol';
import { layoutMismatches } from '../../src/shared/tokenLayout';
import { computeView } from '../../src/shared/viewData';
import { createSession, runModel } from '../../src/cli/runModel';
import { maxAbsDiff, readFloat32, ROOT } from '../support/fixtures';

const DIR = path.join(ROOT, 'test/fixtures/swinv2');
interface Block { block: number; stage: number; indexInStage: number; shift: number; grid: number; windows: number; heads: number; dim: number; attentionShape: number[] }
interface Expected {
  expect: {
    family: string; patchSize: number; embedDim: number; classifier: string; prefixTokens: number; norm: string; cosine: boolean;
    window: number; stages: number; depths: number[]; heads: number[]; dims: number[]; grids: number[]; blocks: Block[];
    hottestPatch: { layer: number; index: number; row: number; col: number };
  };
  reference: { input: string; logits: string; attention: string[] };
  cases: { file: string; case: string }[];
}
const expected = JSON.parse(readFileSync(path.join(DIR, 'expected.json'), 'utf8')) as Expected;
const e = expected.expect;

for (const c of expected.cases) {
  test(`${c.file}: structure (${c.case})`, () => {
    const m = prepareModel(new Uint8Array(readFileSync(path.join(DIR, c.file))), c.file, c.file);
    const s = m.structure;
    assert.deepEqual(
      { family: s.family, patchSize: s.patchSize, embedDim: s.embedDim, classifier: s.classifier, prefixTokens: s.prefixTokens, norm: s.norm },
      { family: e.family, patchSize: e.patchSize, embedDim: e.embedDim, classifier: e.classifier, prefixTokens: e.prefixTokens, norm: e.norm },
    );
    assert.ok(s.swin);
    const w = s.swin;
    assert.deepEqual(
      { window: w.window, stages: w.stages, depths: w.depths, heads: w.heads, dims: w.dims, grids: w.grids, cosine: w.cosine },
      { window: e.window, stages: e.stages, depths: e.depths, heads: e.heads, dims: e.dims, grids: e.grids, cosine: e.cosine },
    );
    assert.deepEqual(
      w.blocks.map((b) => ({ stage: b.stage, inStage: b.blockInStage, window: b.window, shift: b.shift, grid: b.grid, windows: b.windows, heads: b.heads, dim: b.dim, cosine: b.cosine })),
      e.blocks.map((b) => ({ stage: b.stage, inStage: b.indexInStage, window: e.window, shift: b.shift, grid: b.grid, windows: b.windows, heads: b.heads, dim: b.dim, cosine: true })),
    );
    const rows = new Map(summaryRows(m, []));
    assert.match(rows.get('Norm') ?? '', /res-post-norm/);
    assert.match(rows.get('Attention') ?? '', /cosine attention with a learned temperature/);
  });

  test(`${c.file}: logits and every block's window attention match PyTorch within 1e-4; hottest patch is PyTorch's`, async () => {
    const m = prepareModel(new Uint8Array(readFileSync(path.join(DIR, c.file))), c.file, c.file);
    const s = m.structure;
    const input = readFloat32(path.join(DIR, expected.reference.input));
    const run = await runModel(await createSession(m), m, input);
    const dl = maxAbsDiff(run.logits, readFloat32(path.join(DIR, expected.reference.logits)));
    assert.ok(dl <= 1e-4, `logits differ by ${dl}`);
    assert.equal(run.layers.length, e.blocks.length);
    for (const b of e.blocks) {
      const a = run.layers[b.block];
      const ref = readFloat32(path.join(DIR, expected.reference.attention[b.block]));
      assert.equal(a.data.length, ref.length, `block ${b.block}: shape ${b.attentionShape.join('×')}`);
      const d = maxAbsDiff(a.data, ref);
      assert.ok(d <= 1e-4, `block ${b.block}: attention differs by ${d}`);
      const rowErr = maxRowSumError({ heads: b.windows * b.heads, tokens: b.attentionShape[3], data: a.data });
      assert.ok(rowErr <= 1e-4, `block ${b.block}: rows sum to 1 ± ${rowErr}`);
    }
    assert.deepEqual(layoutMismatches(s, run.layers), []);
    const view = computeView(s, run, { ...DEFAULT_VIEW, layer: e.hottestPatch.layer });
    assert.ok(view.values && !view.refused, view.caption);
    const g = e.blocks[e.hottestPatch.layer].grid;
    assert.equal(view.values.length, g * g);
    assert.equal(argmax(view.values), e.hottestPatch.index, `hottest patch (${e.hottestPatch.row}, ${e.hottestPatch.col})`);
  });
}
