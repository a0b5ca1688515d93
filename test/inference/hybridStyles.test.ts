/**
 * Hybrid ViTs (scripts/make_hybrid_styles.py): a CNN stem (timm ResNetV2 with StdConv + GroupNorm, or a
 * torchvision BatchNorm ResNet), then a 1×1 or 2×2/2 patch projection over its features. The token grid's
 * stride is the stem's total stride; layers, heads, prefix, classifier and every layer's attention match
 * PyTorch, every layer fits its grid, the default view's hottest patch is PyTorch's, the summary names the
 * stem, and the projection's weights are not offered as RGB patch filters.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { argmax } from '../../src/shared/attentionMaps';
import { NotAViTError } from '../../src/shared/errors';
import { summaryRows } from '../../src/shared/modelSummary';
import { readOnnxModel } from '../../src/shared/onnx/onnxModel';
import { prepareModel } from '../../src/shared/prepareModel';
import { DEFAULT_VIEW } from '../../src/shared/protocol';
import { modelAtResolution, prepareVariant, ResolutionError } from '../../src/shared/resolution';
import { layoutMismatches } from '../../src/shared/tokenLayout';
import { computeView } from '../../src/shared/viewData';
import { detectVit } from '../../src/shared/vitStructure';
import { createSession, runModel } from '../../src/cli/runModel';
import { maxAbsDiff, readFloat32, ROOT } from '../support/fixtures';

const DIR = path.join(ROOT, 'test/fixtures/hybrid');
interface Reference { input: string; logits: string; attention: string; attentionShape: number[] }
interface Case {
  file: string;
  case: string;
  expect: {
    family: string; patchSize: number; grid: number[]; embedDim: number; layers: number; heads: number; prefixTokens: number; norm: string; classifier: string; inputName: string; dynamicBatch: boolean; inputSize: number;
    stem: { stride: number; convs: number; projection: number; channels: number };
    batchNormNodes: number;
    hottestPatch: { index: number; row: number; col: number };
  };
  reference: Reference;
}
const expected = JSON.parse(readFileSync(path.join(DIR, 'expected.json'), 'utf8')) as { cases: Case[]; resolution: { file: string; size: number; grid: number[]; reference: Reference } };
const load = (file: string) => prepareModel(new Uint8Array(readFileSync(path.join(DIR, file))), file, file);

async function checkRun(m: ReturnType<typeof load>, ref: Reference): Promise<Awaited<ReturnType<typeof runModel>>> {
  const run = await runModel(await createSession(m), m, readFloat32(path.join(DIR, ref.input)));
  const logitDiff = maxAbsDiff(run.logits, readFloat32(path.join(DIR, ref.logits)));
  assert.ok(logitDiff <= 1e-4, `logits differ by ${logitDiff}`);
  const [L, H, T] = ref.attentionShape;
  const att = readFloat32(path.join(DIR, ref.attention));
  assert.equal(run.layers.length, L);
  run.layers.forEach((a, l) => {
    assert.equal(a.data.length, H * T * T, `layer ${l}: ${H} heads × ${T}² values`);
    const d = maxAbsDiff(a.data, att.subarray(l * H * T * T, (l + 1) * H * T * T));
    assert.ok(d <= 1e-4, `layer ${l}: attention differs by ${d}`);
  });
  return run;
}

for (const c of expected.cases) {
  test(`${c.file} (${c.case})`, async () => {
    const m = load(c.file);
    const s = m.structure;
    const e = c.expect;
    const got = { family: s.family, patchSize: s.patchSize, grid: s.grid && [s.grid.rows, s.grid.cols], embedDim: s.embedDim, layers: s.layers, heads: s.heads, prefixTokens: s.prefixTokens, norm: s.norm, classifier: s.classifier, inputName: s.input.name, dynamicBatch: s.input.dynamicBatch, channels: s.input.channels };
    const want = { family: e.family, patchSize: e.patchSize, grid: e.grid, embedDim: e.embedDim, layers: e.layers, heads: e.heads, prefixTokens: e.prefixTokens, norm: e.norm, classifier: e.classifier, inputName: e.inputName, dynamicBatch: e.dynamicBatch, channels: 3 };
    assert.deepEqual(got, want);
    assert.ok(s.stem, 'a CNN stem is found');
    assert.deepEqual({ stride: s.stem.stride, convs: s.stem.convs, projection: s.stem.projection.stride, kernel: s.stem.projection.kernel, channels: s.stem.channels },
      { stride: e.stem.stride, convs: e.stem.convs, projection: e.stem.projection, kernel: e.stem.projection, channels: e.stem.channels });
    if (e.batchNormNodes) assert.ok(readOnnxModel(new Uint8Array(readFileSync(path.join(DIR, c.file)))).graph.nodes.some((n) => n.opType === 'BatchNormalization'), 'the stem keeps BatchNormalization');
    assert.equal(m.card.preprocess.size, e.inputSize);
    // The projection reads CNN features: no RGB patch filters go to the teaching view.
    assert.equal(m.parameters?.patchFilters, undefined);
    assert.ok(m.parameters?.positionEmbedding, 'the position embedding is still shown');

    const run = await checkRun(m, c.reference);
    assert.deepEqual(layoutMismatches(s, run.layers), []);
    const view = computeView(s, run, { ...DEFAULT_VIEW, layer: run.layers.length - 1 });
    assert.ok(view.values && !view.refused, view.caption);
    assert.equal(view.values.length, e.grid[0] * e.grid[1]);
    assert.equal(argmax(view.values), e.hottestPatch.index, `hottest patch (${e.hottestPatch.row}, ${e.hottestPatch.col})`);

    const rows = new Map(summaryRows(m, run.layers));
    const patch = rows.get('Patch size') ?? '';
    assert.match(patch, new RegExp(`^${e.patchSize}×${e.patchSize} input pixels per token`));
    assert.match(patch, new RegExp(`CNN stem, stride ${e.stem.stride} \\(${e.stem.convs} convolutions`));
    assert.match(patch, e.stem.projection === 1 ? /a 1×1 patch projection/ : new RegExp(`a ${e.stem.projection}×${e.stem.projection} stride-${e.stem.projection} patch projection: token stride ${e.patchSize}`));
    assert.ok(!rows.has('Not drawn'));
  });
}

test('a hybrid at another resolution: stride = the stem\'s, pos-embed resized, logits and attention equal PyTorch\'s', async () => {
  const r = expected.resolution;
  const bytes = new Uint8Array(readFileSync(path.join(DIR, r.file)));
  const m = prepareModel(bytes, r.file, r.file);
  assert.throws(() => modelAtResolution(bytes, m.structure, 72), (err: unknown) => err instanceof ResolutionError && /token stride of the CNN stem/.test(err.message));
  const v = modelAtResolution(bytes, m.structure, r.size);
  const p = prepareVariant(v, m, String(r.size));
  assert.deepEqual(p.structure.grid, { rows: r.grid[0], cols: r.grid[1] });
  assert.equal(p.structure.patchSize, m.structure.patchSize);
  const run = await checkRun(p, r.reference);
  assert.deepEqual(layoutMismatches(p.structure, run.layers), []);
});

test('a hybrid whose stem computes its SAME pads (traced at the export size) is refused at another size, saying why', () => {
  const bytes = new Uint8Array(readFileSync(path.join(DIR, 'r50-s16.onnx')));
  const m = prepareModel(bytes, 'r50-s16.onnx', 'r50');
  assert.equal(m.structure.stem?.computedPads, true);
  assert.throws(() => modelAtResolution(bytes, m.structure, 96), (err: unknown) => err instanceof ResolutionError && /pads by amounts computed in the graph/.test(err.message));
});

test('a plain CNN is still not a ViT, and a plain ViT has no stem', () => {
  const cnn = readOnnxModel(new Uint8Array(readFileSync(path.join(ROOT, 'test/fixtures/coverage/cnn-not-vit.onnx'))));
  assert.throws(() => detectVit(cnn), NotAViTError);
  const vit = detectVit(readOnnxModel(new Uint8Array(readFileSync(path.join(ROOT, 'test/fixtures/dino/cls-plus-1-register.onnx')))));
  assert.equal(vit.stem, undefined);
  assert.equal(vit.patchSize, 8);
});
