/**
 * `vit-lens inspect` without a model argument uses the bundled ImageNet ViT-Ti/16, and `--json` carries the
 * values of the map it draws (rows × cols, prefix tokens excluded) next to the hottest patch, for each view.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { readFileSync } from 'node:fs';
import { main as cli } from '../../src/cli/cli';
import { createGradientSession } from '../../src/cli/gradientRun';
import { decodeImage } from '../../src/cli/imageFile';
import { createSession, logitsBatchRunner } from '../../src/cli/runModel';
import { classMap } from '../../src/shared/classMaps';
import { runOcclusion } from '../../src/shared/occlusion';
import { prepareModel } from '../../src/shared/prepareModel';
import { compositeOnWhite, preprocessRgba, toInputTensor } from '../../src/shared/preprocess';
import { catStats } from '../support/catMask';
import { demoModel, ROOT } from '../support/fixtures';

async function run(args: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const [log, error] = [console.log, console.error];
  console.log = (...a: unknown[]) => out.push(a.join(' '));
  console.error = (...a: unknown[]) => err.push(a.join(' '));
  try {
    const code = await cli(args);
    return { code, out: out.join('\n'), err: err.join('\n') };
  } finally {
    [console.log, console.error] = [log, error];
  }
}

interface Report {
  model: string;
  output: string;
  top5: { label: string; prob: number }[];
  heatmap: { view: string; rows: number; cols: number; values: number[][]; hottestPatch: { index: number; row: number; col: number; value: number } };
}

for (const view of ['attention', 'rollout']) {
  test(`inspect --image cat_tabby.jpg --view ${view} --json: the default model, its top-5 and the map's values`, async () => {
    const r = await run(['inspect', '--image', path.join(ROOT, 'samples/cat_tabby.jpg'), '--view', view, '--json']);
    assert.equal(r.code, 0, r.err);
    const j = JSON.parse(r.out) as Report;
    assert.equal(path.basename(j.model), 'vit-tiny-imagenet.onnx');
    assert.equal(j.output, '1000 class scores');
    assert.equal(j.top5[0].label, 'tabby cat');
    assert.deepEqual(j.top5.slice(0, 3).map((t) => t.label), ['tabby cat', 'Egyptian Mau', 'tiger cat']);
    const h = j.heatmap;
    assert.equal(h.view, view);
    assert.equal(h.values.length, 14);
    assert.ok(h.values.every((row) => row.length === 14));
    const flat = h.values.flat();
    const best = flat.indexOf(Math.max(...flat));
    assert.deepEqual(h.hottestPatch, { index: best, row: Math.floor(best / 14), col: best % 14, value: flat[best] });
    // Patch values only (the CLS column excluded): they sum to less than the whole row.
    const sum = flat.reduce((a, b) => a + b, 0);
    assert.ok(sum > 0.5 && sum < 1, `patch values sum to ${sum}`);
  });
}

test('an unknown --view is refused with the choices', async () => {
  const r = await run(['inspect', '--view', 'saliency']);
  assert.equal(r.code, 2);
  assert.match(r.err, /--view must be one of attention, rollout, relevance, gradcam, attgrad, occlusion \(got saliency\)/);
});

interface ClassReport extends Report {
  heatmap: Report['heatmap'] & { classIndex: number; label: string; caption: string };
  faithfulness?: { classIndex: number; label: string; ranking: { name: string; deletionAuc: number; insertionAuc: number; rank: number }[]; explanation: string; skipped?: string[] };
}

test('inspect --view relevance --class: "tabby cat" and "Egyptian Mau" give different maps, both mostly on the cat, equal to the shared maths', async () => {
  const img = path.join(ROOT, 'samples/cat_tabby.jpg');
  const maps: ClassReport[] = [];
  for (const cls of ['tabby cat', '285']) {
    const r = await run(['inspect', '--image', img, '--view', 'relevance', '--class', cls, '--json']);
    assert.equal(r.code, 0, r.err);
    maps.push(JSON.parse(r.out) as ClassReport);
  }
  const [tabby, mau] = maps;
  assert.deepEqual([tabby.heatmap.classIndex, tabby.heatmap.label, mau.heatmap.classIndex, mau.heatmap.label], [281, 'tabby cat', 285, 'Egyptian Mau']);
  assert.match(tabby.heatmap.caption, /Chefer et al\. 2021\), CLS row/);
  const flat = (j: ClassReport) => j.heatmap.values.flat();
  const diff = Math.max(...flat(tabby).map((v, i) => Math.abs(v - flat(mau)[i])));
  assert.ok(diff > 0.05, `the two classes' relevance maps differ by only ${diff}`);
  // Mostly on the cat (catMask.catStats): far more of the mass than the plain last-layer attention, whose corner
  // sinks hold most of it; tabby cat's map is also denser on the cat than around it.
  const attention = await run(['inspect', '--image', img, '--json']);
  const base = catStats((JSON.parse(attention.out) as ClassReport).heatmap.values.flat());
  for (const j of maps) {
    const c = catStats(flat(j));
    assert.ok(c.share > base.share + 0.3, `${j.heatmap.label}: share on the cat ${c.share.toFixed(3)} vs attention's ${base.share.toFixed(3)}`);
  }
  const t = catStats(flat(tabby));
  assert.ok(t.ratio > 1.3 && [...t.hottest20.slice(0, 10)].every((m) => m === 'C'), `tabby cat: cat/background density ${t.ratio.toFixed(2)}, hottest ${t.hottest20}`);
  // The same numbers as the shared maths on the CLI's own pixels.
  const model = prepareModel(new Uint8Array(readFileSync(path.join(ROOT, 'models/vit-tiny-imagenet.onnx'))), 'vit-tiny-imagenet.onnx', 'k', { own: JSON.parse(readFileSync(path.join(ROOT, 'models/vit-tiny-imagenet.json'), 'utf8')) as Record<string, unknown> });
  const decoded = decodeImage(new Uint8Array(readFileSync(img)), 'cat_tabby.jpg');
  compositeOnWhite(decoded.rgba);
  const input = toInputTensor(preprocessRgba(decoded.rgba, decoded.width, decoded.height, model.card.preprocess), model.card.preprocess);
  const g = await (await createGradientSession(model)).run(input, 285);
  const want = classMap(model.structure, g, 'relevance', 'Egyptian Mau').values;
  assert.ok(Math.max(...flat(mau).map((v, i) => Math.abs(v - want[i]))) <= 1e-6);
});

test('inspect --faithfulness: attention, rollout, relevance and Grad-CAM ranked by their deletion and insertion areas', async () => {
  const r = await run(['inspect', '--image', path.join(ROOT, 'samples/cat_tabby.jpg'), '--view', 'attention', '--faithfulness', '--json']);
  assert.equal(r.code, 0, r.err);
  const f = (JSON.parse(r.out) as ClassReport).faithfulness!;
  assert.equal(f.label, 'tabby cat');
  assert.deepEqual(f.ranking.map((m) => m.name).sort(), ['attention', 'gradcam', 'relevance', 'rollout']);
  assert.deepEqual(f.ranking.map((m) => m.rank), [1, 2, 3, 4]);
  for (const m of f.ranking) assert.ok(m.deletionAuc >= 0 && m.deletionAuc <= 1 && m.insertionAuc >= 0 && m.insertionAuc <= 1, JSON.stringify(m));
  assert.match(f.explanation, /^Most faithful: /);
});

test('inspect --class out of range or unknown, and class views on an embedding model, are refused with the reason', async () => {
  const img = path.join(ROOT, 'samples/cat_tabby.jpg');
  const bad = await run(['inspect', '--image', img, '--view', 'relevance', '--class', '1000']);
  assert.equal(bad.code, 1);
  assert.match(bad.err, /--class 1000 is out of range: this model has 1000 classes \(0–999\)/);
  const unknown = await run(['inspect', '--image', img, '--view', 'gradcam', '--class', 'unicorn']);
  assert.match(unknown.err, /--class "unicorn" is not one of this model's 1000 class names/);
  const backbone = await run(['inspect', path.join(ROOT, 'test/fixtures/backbones/cls-embedding.onnx'), '--image', img, '--view', 'occlusion']);
  assert.equal(backbone.code, 1);
  assert.match(backbone.err, /--view occlusion needs class scores/);
  const fused = await run(['inspect', path.join(ROOT, 'test/fixtures/coverage/int8-dynamic-matmul.onnx'), '--image', img, '--view', 'relevance']);
  assert.equal(fused.code, 1);
  assert.match(fused.err, /MatMulInteger/);
});

test('inspect --view occlusion on the demo ViT: the same map as the shared occlusion runner', async () => {
  const img = path.join(ROOT, 'test/fixtures/images/shapes-circle.png');
  const r = await run(['inspect', path.join(ROOT, 'models/vit-demo.onnx'), '--image', img, '--view', 'occlusion', '--json']);
  assert.equal(r.code, 0, r.err);
  const j = JSON.parse(r.out) as ClassReport;
  const model = demoModel();
  const decoded = decodeImage(new Uint8Array(readFileSync(img)), 'shapes-circle.png');
  compositeOnWhite(decoded.rgba);
  const input = toInputTensor(preprocessRgba(decoded.rgba, decoded.width, decoded.height, model.card.preprocess), model.card.preprocess);
  const run1 = logitsBatchRunner(await createSession(model), model);
  const occ = await runOcclusion(input, [1, 3, 224, 224], model.structure.grid!, model.structure.patchSize, run1, { batchSize: 16, classIndex: j.heatmap.classIndex });
  assert.ok(Math.max(...j.heatmap.values.flat().map((v, i) => Math.abs(v - occ.map[i]))) <= 1e-6);
  assert.match(j.heatmap.caption, /^Occlusion for /);
});

test('inspect a Swin model: Grad-CAM on the last stage and attention × gradient per block on the 56×56 patch grid; relevance refused with the reason', async () => {
  const img = path.join(ROOT, 'test/fixtures/images/shapes-circle.png');
  const swin = path.join(ROOT, 'models/swin-demo.onnx');
  for (const view of ['gradcam', 'attgrad']) {
    const r = await run(['inspect', swin, '--image', img, '--view', view, '--layer', '2', '--json']);
    assert.equal(r.code, 0, r.err);
    const h = (JSON.parse(r.out) as ClassReport).heatmap;
    assert.deepEqual([h.rows, h.cols], [56, 56]);
    assert.ok(Math.abs(Math.max(...h.values.flat()) - 1) < 1e-6, `${view}: normalized`);
    assert.match(h.caption, view === 'gradcam' ? /last stage's 7×7 tokens/ : /stage 1 block 2 \(shifted windows\)/);
  }
  // --faithfulness ranks the maps on the patch grid and names the last stage's 7×7 attention instead of failing on it.
  const f = await run(['inspect', swin, '--image', img, '--view', 'attgrad', '--faithfulness', '--json']);
  assert.equal(f.code, 0, f.err);
  const faith = (JSON.parse(f.out) as ClassReport).faithfulness!;
  assert.deepEqual(faith.ranking.map((m) => m.name), ['attgrad']);
  assert.deepEqual(faith.skipped, ['attention: 49 values, not one per patch of the 56×56 grid']);
  const rel = await run(['inspect', swin, '--image', img, '--view', 'relevance']);
  assert.equal(rel.code, 1);
  assert.match(rel.err, /Relevance through Swin's stages is not defined exactly/);
});
