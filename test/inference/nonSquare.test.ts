/**
 * Non-square inputs (scripts/make_nonsquare_styles.py): a ViT exported at 24×40 (height×width) is read with its
 * 3×5 grid and run at that size against PyTorch; a config asking for another size is refused naming the file that
 * asked; DINO's dynamic-size export is run at an image's own aspect ratio (24×40 for a 400×240 image), where its
 * graph interpolates the 4×4 position grid to 3×5, and matches PyTorch there.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { argmax } from '../../src/shared/attentionMaps';
import { atImageSize, imageAspectSize } from '../../src/shared/anySize';
import { ModelFormatError } from '../../src/shared/errors';
import { describePreprocess, inputSize } from '../../src/shared/modelCard';
import { PreparedModel, prepareModel } from '../../src/shared/prepareModel';
import { DEFAULT_VIEW } from '../../src/shared/protocol';
import { layoutMismatches } from '../../src/shared/tokenLayout';
import { computeView } from '../../src/shared/viewData';
import { createSession, runModel } from '../../src/cli/runModel';
import { maxAbsDiff, readFloat32, ROOT } from '../support/fixtures';

const DIR = path.join(ROOT, 'test/fixtures/nonsquare');
interface Case {
  file: string;
  case: string;
  input: [number, number];
  expect: { grid: number[]; prefixTokens: number; layers: number; heads: number; dynamicHW: boolean; hottestPatch: { index: number; row: number; col: number } };
  reference: { input: string; logits: string; attention: string; attentionShape: number[] };
}
const cases = (JSON.parse(readFileSync(path.join(DIR, 'expected.json'), 'utf8')) as { cases: Case[] }).cases;
const load = (file: string, cards = {}) => prepareModel(new Uint8Array(readFileSync(path.join(DIR, file))), path.basename(file), file, cards);

async function matchesTorch(m: PreparedModel, c: Case): Promise<void> {
  const s = m.structure;
  assert.deepEqual([s.grid?.rows, s.grid?.cols, s.prefixTokens, s.layers, s.heads], [...c.expect.grid, c.expect.prefixTokens, c.expect.layers, c.expect.heads]);
  assert.deepEqual(inputSize(m.card.preprocess), { height: c.input[0], width: c.input[1] });
  const run = await runModel(await createSession(m), m, readFloat32(path.join(DIR, c.reference.input)));
  const logitDiff = maxAbsDiff(run.logits, readFloat32(path.join(DIR, c.reference.logits)));
  assert.ok(logitDiff <= 1e-4, `logits differ by ${logitDiff}`);
  const [L, H, T] = c.reference.attentionShape;
  assert.equal(T, c.expect.prefixTokens + c.expect.grid[0] * c.expect.grid[1]);
  const ref = readFloat32(path.join(DIR, c.reference.attention));
  run.layers.forEach((a, l) => {
    const d = maxAbsDiff(a.data, ref.subarray(l * H * T * T, (l + 1) * H * T * T));
    assert.ok(d <= 1e-4, `layer ${l}: attention differs by ${d}`);
  });
  assert.equal(run.layers.length, L);
  // Every layer fits the 3×5 grid it is drawn on, and the default view's hottest patch is PyTorch's.
  assert.deepEqual(layoutMismatches(s, run.layers), []);
  const view = computeView(s, run, { ...DEFAULT_VIEW, layer: L - 1 });
  assert.deepEqual([view.grid.rows, view.grid.cols], c.expect.grid);
  assert.equal(argmax(view.values!), c.expect.hottestPatch.index);
}

test('a ViT exported at 24×40 (height×width): 3×5 grid, run at 24×40, equal to PyTorch', async () => {
  const c = cases.find((x) => x.file === 'nonsquare-fixed.onnx')!;
  const m = load(c.file);
  assert.equal(m.structure.input.anySize, undefined);
  assert.match(describePreprocess(m.card.preprocess), /^40×24 \(width×height\) \(graph input\);.*scaled to cover 40×24, aspect kept, center crop 40×24/);
  // A fixed-size model is never resized to the image's aspect ratio.
  assert.equal(atImageSize(m, 1000, 100), m);
  await matchesTorch(m, c);
});

test('a config asking for another size than the graph is refused, naming that file and the fix', () => {
  assert.throws(() => load('nonsquare-fixed.onnx', { config: { architecture: 'vit_tiny', pretrained_cfg: { input_size: [3, 32, 32] } } }), (e: unknown) => {
    assert.ok(e instanceof ModelFormatError);
    assert.match(e.message, /^config\.json, timm: input_size asks for a 32×32 input, but the graph's input is fixed at 40×24 \(width×height\)\.$/);
    assert.match(e.hint ?? '', /Fix the size in config\.json, timm: input_size, or put a card nonsquare-fixed\.json beside the model with "preprocess": \{ "size": \[24, 40\] \}/);
    return true;
  });
  // The card's [height, width] is accepted.
  assert.deepEqual(inputSize(load('nonsquare-fixed.onnx', { own: { preprocess: { size: [24, 40] } } }).card.preprocess), { height: 24, width: 40 });
});

test('DINO dynamic-size export: runs at the image\'s aspect ratio (24×40 for 400×240), its grid 3×5, equal to PyTorch', async () => {
  const c = cases.find((x) => x.file.endsWith('dino-dynamic-hw.onnx'))!;
  const m = load(c.file);
  assert.equal(m.structure.input.anySize, true);
  assert.deepEqual([m.structure.grid?.rows, m.structure.grid?.cols, m.card.preprocess.size], [4, 4, 32]);
  assert.deepEqual(imageAspectSize(400, 240, { height: 32, width: 32 }, 8), { height: 24, width: 40 });
  const sized = atImageSize(m, 400, 240);
  assert.equal(sized.card.preprocess.crop, 'none');
  assert.match(describePreprocess(sized.card.preprocess), /^40×24 \(width×height\) \(the image's aspect ratio at about the trained 32×32/);
  await matchesTorch(sized, c);
  // A card that sets the size wins: the square it asks for.
  const fixed = load(c.file, { own: { preprocess: { size: 32 } } });
  assert.equal(atImageSize(fixed, 400, 240), fixed);
});
