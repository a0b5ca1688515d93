/**
 * Register tokens appended after the patches (scripts/make_token_order_styles.py): only CLS is a prefix token, the
 * run matches PyTorch, and every layer is refused by the drawing rule instead of drawing a map shifted by the
 * registers (the patches no longer end the sequence).
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

const DIR = path.join(ROOT, 'test/fixtures/token-order');
const c = (JSON.parse(readFileSync(path.join(DIR, 'expected.json'), 'utf8')) as { cases: { file: string; expect: { prefixTokens: number; grid: number[]; tokens: number; refusals: string[] }; reference: { input: string; logits: string; attention: string } }[] }).cases[0];

test('registers after the patches: CLS is the only prefix, and every layer is refused with expected and found', async () => {
  const m = prepareModel(new Uint8Array(readFileSync(path.join(DIR, c.file))), c.file, c.file);
  assert.deepEqual([m.structure.prefixTokens, m.structure.grid?.rows, m.structure.grid?.cols], [c.expect.prefixTokens, ...c.expect.grid]);
  const run = await runModel(await createSession(m), m, readFloat32(path.join(DIR, c.reference.input)));
  assert.ok(maxAbsDiff(run.logits, readFloat32(path.join(DIR, c.reference.logits))) <= 1e-4);
  const T = c.expect.tokens;
  const ref = readFloat32(path.join(DIR, c.reference.attention));
  run.layers.forEach((a, l) => assert.ok(maxAbsDiff(a.data, ref.subarray(l * a.heads * T * T, (l + 1) * a.heads * T * T)) <= 1e-4, `layer ${l}`));
  assert.deepEqual(layoutMismatches(m.structure, run.layers), c.expect.refusals);
  for (let layer = 0; layer < run.layers.length; layer++) {
    const v = computeView(m.structure, run, { ...DEFAULT_VIEW, layer });
    assert.ok(v.refused, `layer ${layer + 1} drawn`);
    assert.equal(v.values, undefined);
    assert.equal(v.caption, c.expect.refusals[layer]);
  }
});
