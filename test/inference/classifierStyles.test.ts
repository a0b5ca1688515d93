/**
 * Heads that read the tokens differently (scripts/make_classifier_styles.py): mean of all tokens with CLS, BEiT's
 * mean of the patch tokens, DINOv2's CLS ⊕ patch mean, SigLIP's attention-pooling probe. Each is named right,
 * its layers and logits equal PyTorch's, and the words never claim the CLS token alone is classified.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import * as ort from 'onnxruntime-web';
import { encodeOutputPatch } from '../../src/shared/instrumentAttention';
import { explanation, summaryRows } from '../../src/shared/modelSummary';
import { prepareModel } from '../../src/shared/prepareModel';
import { createSession, runModel } from '../../src/cli/runModel';
import { maxAbsDiff, readFloat32, ROOT } from '../support/fixtures';

const DIR = path.join(ROOT, 'test/fixtures/classifiers');
interface Case {
  file: string;
  expect: { family: string; patchSize: number; grid: number[]; embedDim: number; layers: number; heads: number; prefixTokens: number; norm: string; classifier: string; mapProbe?: { heads: number } };
  reference: { input: string; logits: string; attention: string; attentionShape: number[]; probe?: string };
}
const cases = (JSON.parse(readFileSync(path.join(DIR, 'expected.json'), 'utf8')) as { cases: Case[] }).cases;

const WORDS: Record<string, RegExp> = {
  'mean-all': /^mean of all tokens \(CLS included\)$/,
  'mean-patches': /^mean of the patch tokens/,
  'cls+mean': /^CLS token concatenated with the mean of the patch tokens$/,
  map: /^attention pooling \(MAP\): one learned query/,
};

test('every classifier style has a fixture', () => {
  assert.deepEqual(cases.map((c) => c.expect.classifier).sort(), ['cls+mean', 'map', 'mean-all', 'mean-patches']);
});

for (const c of cases) {
  test(`${c.file}: classifier ${c.expect.classifier}`, async () => {
    const m = prepareModel(new Uint8Array(readFileSync(path.join(DIR, c.file))), c.file, c.file);
    const s = m.structure;
    const e = c.expect;
    assert.deepEqual(
      { family: s.family, patchSize: s.patchSize, grid: s.grid && [s.grid.rows, s.grid.cols], embedDim: s.embedDim, layers: s.layers, heads: s.heads, prefixTokens: s.prefixTokens, norm: s.norm, classifier: s.classifier },
      { family: e.family, patchSize: e.patchSize, grid: e.grid, embedDim: e.embedDim, layers: e.layers, heads: e.heads, prefixTokens: e.prefixTokens, norm: e.norm, classifier: e.classifier },
    );
    // The probe is the head's, not a layer: it is exposed apart, with its heads.
    assert.equal(s.mapProbe?.heads, e.mapProbe?.heads);
    if (e.mapProbe) assert.ok(s.mapProbe && !s.attention.some((a) => a.tensor === s.mapProbe?.tensor), 'probe kept out of the layers');

    const rows = new Map(summaryRows(m, []));
    assert.match(rows.get('Classifier') ?? '', WORDS[e.classifier]);
    const words = explanation(m);
    if (e.classifier !== 'cls+mean') assert.doesNotMatch(words, /its final state alone is classified/);

    const input = readFloat32(path.join(DIR, c.reference.input));
    const run = await runModel(await createSession(m), m, input);
    const dl = maxAbsDiff(run.logits, readFloat32(path.join(DIR, c.reference.logits)));
    assert.ok(dl <= 1e-4, `logits differ by ${dl}`);
    const [L, H, T] = c.reference.attentionShape;
    const ref = readFloat32(path.join(DIR, c.reference.attention));
    assert.equal(run.layers.length, L);
    run.layers.forEach((a, l) => {
      const d = maxAbsDiff(a.data, ref.subarray(l * H * T * T, (l + 1) * H * T * T));
      assert.ok(d <= 1e-4, `layer ${l}: attention differs by ${d}`);
    });
    if (!c.reference.probe || !s.mapProbe) return;
    // The probe's tensor, declared as an output, is PyTorch's MAP attention ([heads, 1, tokens] for batch 1).
    const bytes = new Uint8Array(readFileSync(path.join(DIR, c.file)));
    const patch = encodeOutputPatch([s.mapProbe.tensor], 1);
    const withProbe = new Uint8Array(bytes.length + patch.length);
    withProbe.set(bytes);
    withProbe.set(patch, bytes.length);
    const session = await ort.InferenceSession.create(withProbe);
    const got = (await session.run({ [s.input.name]: new ort.Tensor('float32', input, [1, 3, 32, 32]) }))[s.mapProbe.tensor].data as Float32Array;
    const dp = maxAbsDiff(got, readFloat32(path.join(DIR, c.reference.probe)));
    assert.ok(dp <= 1e-4, `probe attention differs by ${dp}`);
  });
}
