/** Swin window geometry against index maps exported from the Swin demo model's own PyTorch code. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { maskRegion, partitionIndexMap, patchWindowAttention, windowCount, windowOf } from '../../src/shared/windowPartition';
import { ROOT } from '../support/fixtures';

interface IndexMap { grid: number; window: number; shift: number; partition: number[]; maskRegions: number[] }
const maps = (JSON.parse(readFileSync(path.join(ROOT, 'test/fixtures/swin/window-index-maps.json'), 'utf8')) as { maps: IndexMap[] }).maps;

test('index maps cover every stage grid, with and without the shift', () => {
  assert.ok(maps.some((m) => m.shift === 0 && m.grid === 56));
  assert.ok(maps.some((m) => m.shift > 0 && m.grid === 56));
  assert.ok(maps.some((m) => m.grid === 7));
});

for (const m of maps) {
  const l = { rows: m.grid, cols: m.grid, window: m.window, shift: m.shift };
  test(`window_partition(torch.roll(·, -${m.shift})) on ${m.grid}×${m.grid}, M=${m.window}: same token order`, () => {
    assert.deepEqual(Array.from(partitionIndexMap(l)), m.partition);
    assert.equal(windowCount(l) * m.window * m.window, m.partition.length);
  });
  test(`attention-mask regions on ${m.grid}×${m.grid}, shift ${m.shift}: same as Swin's img_mask`, () => {
    const mine = m.partition.map((t) => maskRegion(l, Math.floor(t / m.grid), t % m.grid));
    assert.deepEqual(mine, m.maskRegions);
  });
  test(`windowOf inverts the partition on ${m.grid}×${m.grid}, shift ${m.shift}`, () => {
    const n = m.window * m.window;
    m.partition.forEach((t, i) => {
      const w = windowOf(l, Math.floor(t / m.grid), t % m.grid);
      assert.equal(w.window * n + w.index, i);
    });
  });
}

test('a clicked patch\'s attention maps onto exactly the tokens of its (shifted) window', () => {
  for (const m of maps.filter((x) => x.grid > x.window)) {
    const l = { rows: m.grid, cols: m.grid, window: m.window, shift: m.shift };
    const n = m.window * m.window;
    const nW = windowCount(l);
    // Attention rows that are uniform over each window: every reachable token gets 1/n.
    const data = new Float32Array(nW * n * n).fill(1 / n);
    for (const [r, c] of [[0, 0], [m.grid - 1, m.grid - 1], [Math.floor(m.grid / 2), 1], [2, m.grid - 2]]) {
      const grid = patchWindowAttention(l, data, 1, r, c, 0);
      const reachable = new Set<number>();
      grid.forEach((v, i) => { if (!Number.isNaN(v)) reachable.add(i); });
      const w = windowOf(l, r, c).window;
      const expected = new Set(m.partition.slice(w * n, (w + 1) * n));
      assert.deepEqual([...reachable].sort((a, b) => a - b), [...expected].sort((a, b) => a - b), `grid ${m.grid} shift ${m.shift} patch (${r}, ${c})`);
      assert.ok(reachable.has(r * m.grid + c), 'a patch always attends within its own window');
    }
  }
});
