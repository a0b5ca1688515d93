/**
 * Models whose output is an embedding, not class scores (scripts/make_backbone_models.py): ViT Lens says what
 * they output, invents no "class N" predictions, and still shows their attention exactly. Classifiers of every
 * export style stay classifiers.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { main as cli } from '../../src/cli/cli';
import { classPredictions } from '../../src/shared/modelOutput';
import { prepareModel } from '../../src/shared/prepareModel';
import { attachExternalData, createSession, runModel } from '../../src/cli/runModel';
import { maxAbsDiff, readFloat32, ROOT } from '../support/fixtures';

const DIR = path.join(ROOT, 'test/fixtures/backbones');
interface Case { file: string; outputs: Record<string, number[]>; expect: { kind: string; width: number; pooling?: string; tokens?: number }; attentionShape: number[] }
const cases = JSON.parse(readFileSync(path.join(DIR, 'expected.json'), 'utf8')) as Record<string, Case>;

for (const [name, c] of Object.entries(cases)) {
  test(`${name}: named for what it outputs, no invented classes, attention equals PyTorch`, async () => {
    const m = prepareModel(new Uint8Array(readFileSync(path.join(DIR, c.file))), c.file, name);
    const s = m.structure;
    assert.equal(s.logits.classes, undefined, 'an embedding has no classes');
    assert.equal(m.card.labels.length, 0, 'no labels invented');
    const kinds = Object.fromEntries(s.outputs.map((o) => [o.name, o]));
    if (c.expect.kind === 'tokens') {
      assert.equal(kinds.last_hidden_state.kind, 'tokens');
      assert.match(kinds.last_hidden_state.describe, new RegExp(`${c.expect.width}-d features of all ${c.expect.tokens} tokens`));
      assert.equal(kinds.pooler_output.kind, 'embedding');
      assert.equal(kinds.pooler_output.pooling, 'pooler');
    } else {
      assert.equal(s.outputs.length, 1);
      assert.equal(s.outputs[0].kind, 'embedding');
      assert.equal(s.outputs[0].pooling, c.expect.pooling);
      assert.match(s.outputs[0].describe, new RegExp(`^a ${c.expect.width}-d embedding`));
    }
    const run = await runModel(await createSession(m), m, readFloat32(path.join(DIR, 'input.bin')));
    assert.deepEqual(classPredictions(m, run.logits, 5), [], 'no top-5 for an embedding');
    const ref = readFloat32(path.join(DIR, `${name}.attention.bin`));
    const [L, H, T] = c.attentionShape;
    assert.equal(run.layers.length, L);
    for (let l = 0; l < L; l++) {
      const d = maxAbsDiff(run.layers[l].data, ref.subarray(l * H * T * T, (l + 1) * H * T * T));
      assert.ok(d < 1e-5, `layer ${l + 1} attention differs from PyTorch by ${d}`);
    }
  });
}

test('the CLI prints what a backbone outputs and its map, with no predictions', async () => {
  const lines: string[] = [];
  const log = console.log;
  console.log = (...a: unknown[]) => lines.push(a.join(' '));
  let code: number;
  try {
    code = await cli(['inspect', path.join(DIR, 'cls-embedding.onnx'), '--image', path.join(ROOT, 'test/fixtures/images/shapes-circle.png'), '--json']);
  } finally {
    console.log = log;
  }
  assert.equal(code, 0);
  const r = JSON.parse(lines.join('\n')) as { output: string; top5?: unknown; predictions?: string; heatmap: { values: number[][]; rows: number; cols: number } };
  assert.match(r.output, /^a 32-d embedding of the CLS token/);
  assert.equal(r.top5, undefined);
  assert.match(r.predictions ?? '', /no classes to predict/);
  assert.equal(r.heatmap.values.length, 4);
  assert.equal(r.heatmap.values[0].length, 4);
});

test('every classifier fixture (coverage styles, demos, torchvision) is still read as class scores', () => {
  const files = [
    ...readdirSync(path.join(ROOT, 'test/fixtures/coverage')).filter((f) => f.endsWith('.onnx')).map((f) => path.join('test/fixtures/coverage', f)),
    ...readdirSync(path.join(ROOT, 'models')).filter((f) => f.endsWith('.onnx')).map((f) => path.join('models', f)),
  ];
  let checked = 0;
  for (const f of files) {
    let m;
    try {
      m = attachExternalData(prepareModel(new Uint8Array(readFileSync(path.join(ROOT, f))), path.basename(f), f), path.join(ROOT, f));
    } catch {
      continue; // refused models (CNN, MLP, fused attention) are tested in coverage.test.ts
    }
    const main = m.structure.outputs.find((o) => o.name === m.structure.logits.name)!;
    assert.equal(main.kind, 'classes', `${f}: ${main.describe}`);
    assert.ok((m.structure.logits.classes ?? 0) > 1, `${f}: classes ${m.structure.logits.classes}`);
    checked++;
  }
  assert.ok(checked >= 15, `only ${checked} classifiers read`);
});
