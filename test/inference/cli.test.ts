/**
 * `vit-lens inspect` without a model argument uses the bundled ImageNet ViT-Ti/16, and `--json` carries the
 * values of the map it draws (rows × cols, prefix tokens excluded) next to the hottest patch, for each view.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { main as cli } from '../../src/cli/cli';
import { ROOT } from '../support/fixtures';

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
  assert.match(r.err, /--view must be one of attention, rollout \(got saliency\)/);
});
