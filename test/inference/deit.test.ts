/**
 * DeiT's distillation token: both heads found from the graph's arithmetic, their logits exposed next to the
 * averaged output, and the demo DeiT (scripts/make_demo_deit.py) against its PyTorch references.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { topK } from '../../src/shared/attentionMaps';
import { prepareModel } from '../../src/shared/prepareModel';
import { createSession, runModel } from '../../src/cli/runModel';
import { maxAbsDiff, readFloat32, ROOT } from '../support/fixtures';

const load = (file: string, budget = Infinity) => {
  const bytes = new Uint8Array(readFileSync(path.join(ROOT, file)));
  return prepareModel(bytes, path.basename(file), file + budget, {}, budget);
};

test('distillation heads are found from (head(x[:,0]) + head_dist(x[:,1])) / 2, and only there', () => {
  const deit = load('test/fixtures/coverage/deit-distilled.onnx').structure;
  assert.equal(deit.family, 'deit');
  assert.ok(deit.distillation);
  for (const f of ['models/vit-demo.onnx', 'test/fixtures/coverage/registers.onnx', 'test/fixtures/coverage/gap-no-cls.onnx', 'test/fixtures/torchvision/vit.onnx']) {
    assert.equal(load(f).structure.distillation, undefined, f);
  }
});

test('both heads\' logits come out of the graph and average to the output; under the budget both tokens\' rows do', async () => {
  const c = load('test/fixtures/coverage/deit-distilled.onnx');
  const input = readFloat32(path.join(ROOT, 'test/fixtures/coverage/deit-distilled.input.bin'));
  const run = await runModel(await createSession(c), c, input);
  assert.ok(run.distillation);
  const avg = run.distillation.cls.map((v, i) => (v + run.distillation!.dist[i]) / 2);
  assert.ok(maxAbsDiff(avg, run.logits) <= 1e-6);
  const small = load('test/fixtures/coverage/deit-distilled.onnx', 1);
  assert.equal(small.attentionMode, 'cls-rows');
  const rows = await runModel(await createSession(small), small, input);
  const T = run.layers[0].tokens;
  assert.equal(rows.layers[0].queries, 2, 'CLS and distillation rows');
  for (let l = 0; l < run.layers.length; l++) {
    for (let h = 0; h < run.layers[l].heads; h++) {
      for (const q of [0, 1]) {
        const want = run.layers[l].data.subarray((h * T + q) * T, (h * T + q + 1) * T);
        assert.ok(maxAbsDiff(rows.layers[l].data.subarray((h * 2 + q) * T, (h * 2 + q + 1) * T), want) <= 1e-6, `layer ${l} head ${h} row ${q}`);
      }
    }
  }
  assert.ok(maxAbsDiff(rows.distillation!.dist, run.distillation.dist) <= 1e-6);
});

test('demo DeiT (distilled from a CNN): logits, both heads and every layer\'s attention equal PyTorch', async () => {
  const own = JSON.parse(readFileSync(path.join(ROOT, 'models/deit-demo.json'), 'utf8')) as Record<string, unknown>;
  const m = prepareModel(new Uint8Array(readFileSync(path.join(ROOT, 'models/deit-demo.onnx'))), 'deit-demo.onnx', 'deit', { own });
  const s = m.structure;
  assert.equal(s.family, 'deit');
  assert.equal(s.prefixTokens, 2);
  assert.deepEqual([s.layers, s.heads, s.embedDim, s.patchSize], [6, 3, 96, 16]);
  const dir = path.join(ROOT, 'models/reference/deit-demo');
  const index = JSON.parse(readFileSync(path.join(dir, 'index.json'), 'utf8')) as { fixtures: { name: string; attentionShape?: number[]; clsTop1: string; distTop1: string }[] };
  const session = await createSession(m);
  for (const f of index.fixtures) {
    const ref = (n: string) => readFloat32(path.join(dir, f.name, `${n}.bin`));
    const run = await runModel(session, m, ref('input'));
    assert.ok(maxAbsDiff(run.logits, ref('logits')) <= 1e-4, `${f.name}: logits`);
    assert.ok(maxAbsDiff(run.distillation!.cls, ref('cls_logits')) <= 1e-4, `${f.name}: CLS head`);
    assert.ok(maxAbsDiff(run.distillation!.dist, ref('dist_logits')) <= 1e-4, `${f.name}: distillation head`);
    assert.equal(topK(run.distillation!.cls, m.card.labels, 1)[0].label, f.clsTop1);
    assert.equal(topK(run.distillation!.dist, m.card.labels, 1)[0].label, f.distTop1);
    if (!f.attentionShape) continue;
    const [L, H, T] = f.attentionShape;
    const att = ref('attention');
    const worst = Math.max(...run.layers.map((a, l) => maxAbsDiff(a.data, att.subarray(l * H * T * T, (l + 1) * H * T * T))));
    assert.equal(run.layers.length, L);
    assert.ok(worst <= 1e-4, `${f.name}: attention differs by ${worst}`);
  }
});
