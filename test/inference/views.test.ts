/**
 * The panel's view maths against an independent PyTorch implementation (scripts/reference_views.py) on the
 * demo ViT's PyTorch attention: head fusion, rollout with fusion/discard/depth, DINO mass threshold, mean
 * attention distance per head.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { attentionRow } from '../../src/shared/attentionMaps';
import { meanAttentionDistance } from '../../src/shared/locality';
import { massThresholdMask } from '../../src/shared/massThreshold';
import { DEFAULT_VIEW } from '../../src/shared/protocol';
import { rolloutRow } from '../../src/shared/rollout';
import { computeView, fusionOf } from '../../src/shared/viewData';
import { demoModel, maxAbsDiff, readFloat32, REFERENCE_DIR, referenceFixtures } from '../support/fixtures';

interface Views {
  fixtures: {
    name: string;
    fusion: { layer: number; head: string; cls: number[] }[];
    rollout: { head: string; discard: number; upToLayer: number; cls: number[]; row: number; patchRow: number[] }[];
    mass: { layer: number; threshold: number; mask: number[] }[];
    distance: number[][];
  }[];
}
const views = JSON.parse(readFileSync(path.join(REFERENCE_DIR, 'views.json'), 'utf8')) as Views;
const model = demoModel();

function layersOf(name: string) {
  const f = referenceFixtures().find((x) => x.name === name)!;
  const [L, H, T] = f.attentionShape;
  const data = readFloat32(path.join(REFERENCE_DIR, name, 'attention.bin'));
  return Array.from({ length: L }, (_, l) => ({ heads: H, tokens: T, data: data.subarray(l * H * T * T, (l + 1) * H * T * T) }));
}

for (const v of views.fixtures) {
  test(`${v.name}: head fusion (mean, max, min, one head) equals PyTorch`, () => {
    const layers = layersOf(v.name);
    for (const f of v.fusion) {
      const mine = attentionRow(layers[f.layer], 0, fusionOf(f.head), 1);
      assert.ok(maxAbsDiff(mine, f.cls) < 1e-6, `${f.head}: ${maxAbsDiff(mine, f.cls)}`);
      const view = computeView(model.structure, { layers }, { ...DEFAULT_VIEW, layer: f.layer, head: f.head });
      assert.ok(maxAbsDiff(view.values!, f.cls) < 1e-6, 'the panel view shows the same numbers');
    }
  });
  test(`${v.name}: rollout (fusion, discard, depth) equals PyTorch for the CLS row and a patch row`, () => {
    const layers = layersOf(v.name);
    for (const r of v.rollout) {
      const o = { fusion: fusionOf(r.head), discardRatio: r.discard, upToLayer: r.upToLayer };
      const cls = rolloutRow(layers, 0, o).subarray(1);
      assert.ok(maxAbsDiff(cls, r.cls) < 1e-6, `${r.head}/${r.discard}/${r.upToLayer}: CLS row differs by ${maxAbsDiff(cls, r.cls)}`);
      const row = rolloutRow(layers, r.row, o).subarray(1);
      assert.ok(maxAbsDiff(row, r.patchRow) < 1e-6, `${r.head}/${r.discard}/${r.upToLayer}: row ${r.row} differs by ${maxAbsDiff(row, r.patchRow)}`);
      const view = computeView(model.structure, { layers }, { ...DEFAULT_VIEW, mode: 'rollout', layer: r.upToLayer, head: r.head, discard: r.discard });
      assert.ok(maxAbsDiff(view.values!, r.cls) < 1e-6, 'the rollout view shows the same numbers');
    }
  });
  test(`${v.name}: mass-threshold masks equal DINO's`, () => {
    const layers = layersOf(v.name);
    for (const m of v.mass) {
      const cls = attentionRow(layers[m.layer], 0, 'mean', 1);
      assert.deepEqual(Array.from(massThresholdMask(cls, m.threshold)), m.mask, `threshold ${m.threshold}`);
    }
  });
}

for (const v of views.fixtures) {
  test(`${v.name}: mean attention distance per layer and head equals the numpy reference`, () => {
    const layers = layersOf(v.name);
    const mine = layers.map((a) => meanAttentionDistance(a, model.structure.grid!, 1, 16));
    assert.equal(mine.length, v.distance.length);
    const d = Math.max(...mine.map((hs, l) => maxAbsDiff(hs, v.distance[l])));
    assert.ok(d < 1e-3, `differs by ${d} px`);
  });
}
