import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkResidualShapes, highOutliers, median, prefixTokenLabels, sinkNote, tokenNormSummary, tokenNormsText } from '../../src/shared/tokenNorms';

// 4×4 patches with norms 10 ± 0.5 (deterministic), prefix tokens in front.
const flat = Array.from({ length: 16 }, (_, i) => 10 + ((i * 7) % 5 - 2) * 0.25);

test('median and the modified z-score rule', () => {
  assert.equal(median([3, 1, 2]), 2);
  assert.equal(median([4, 1, 3, 2]), 2.5);
  const spiked = [...flat];
  spiked[5] = 40;
  const o = highOutliers(spiked);
  assert.deepEqual(o.outliers, [5], 'the spike is flagged');
  assert.deepEqual(highOutliers(flat).outliers, [], 'a layer without outliers flags none');
  assert.deepEqual(highOutliers(new Array(16).fill(7)).outliers, [], 'all equal: MAD and mean deviation are 0, nothing flagged');
  const low = [...flat];
  low[3] = 0.1;
  assert.deepEqual(highOutliers(low).outliers, [], 'only high norms are the artifact');
  // MAD = 0 (more than half the values equal) still finds a single spike via the mean absolute deviation.
  const mostlyEqual = new Array(16).fill(5);
  mostlyEqual[9] = 6;
  assert.deepEqual(highOutliers(mostlyEqual).outliers, [9]);
});

test('prefix tokens stay out of the statistics and are reported apart', () => {
  const labels = prefixTokenLabels(3, 'cls', false);
  assert.deepEqual(labels, ['CLS', 'register 1', 'register 2']);
  assert.deepEqual(prefixTokenLabels(2, 'cls', true), ['CLS', 'distillation']);
  // Huge prefix norms would drag the median and MAD if they were counted; they must not be flagged or counted.
  const layer = [500, 900, 800, ...flat];
  const s = tokenNormSummary([layer], labels);
  assert.deepEqual(s.layers[0].prefix, [500, 900, 800]);
  assert.equal(s.layers[0].patches.length, 16);
  assert.deepEqual(s.layers[0].outliers, []);
  assert.equal(s.layers[0].median, median(flat));
});

test('summary: ratio to the median and where the last layer\'s CLS attention goes', () => {
  const l1 = [...flat];
  l1[2] = 50;
  l1[7] = 30;
  const l2 = [...flat];
  l2[2] = 60;
  const labels = prefixTokenLabels(2, 'cls', false);
  // CLS row over 2 prefix + 16 patches: 0.1 to CLS, 0.2 to the register, 0.5 to patches 2 and 7, the rest spread.
  const row = new Array(18).fill(0.2 / 14);
  row[0] = 0.1;
  row[1] = 0.2;
  row[2 + 2] = 0.3;
  row[2 + 7] = 0.2;
  const s = tokenNormSummary([[20, 30, ...l1], [20, 30, ...l2]], labels, row);
  assert.deepEqual(s.layers[0].outliers, [2, 7]);
  assert.deepEqual(s.layers[1].outliers, [2]);
  assert.ok(Math.abs(s.layers[0].ratio - (40 / median(l1))) < 1e-9);
  assert.equal(s.layers[1].max, 60);
  // The last block reads layer 1's output: its two flagged patches.
  assert.equal(s.attention?.flagsFrom, 0);
  assert.ok(Math.abs(s.attention!.onFlagged - 0.5) < 1e-9);
  assert.equal(s.attention!.flaggedShare, 2 / 16);
  assert.deepEqual(s.attention!.onPrefix, [0.1, 0.2]);
  const text = tokenNormsText(s);
  assert.match(text, /^2 patches in layer 1 have norms 4\.\d× the median/);
  assert.match(text, /50 % of the last layer's CLS attention goes to the 2 patches flagged in layer 1 \(13 % of patches\); its 1 register takes 20 % of it\./);
  // 50 % of the attention on 12.5 % of the patches: 4× their share, sinks.
  assert.match(text, /That is 4× their share of the patches: they act as attention sinks\./);
    assert.match(tokenNormsText(tokenNormSummary([flat, flat], [])), /^No patch token's norm stands out in any of the 2 layers/);
});

test('shape check names the layer, the expected and the found shape', () => {
  assert.equal(checkResidualShapes([[1, 18, 32]], [[1, 18]], 18, 32), undefined);
  assert.equal(checkResidualShapes([[1, 18, 32]], [[1, 17]], 18, 32)?.startsWith('layer 1'), true);
  assert.match(checkResidualShapes([[1, 18, 32], [1, 10, 32]], [[1, 18], [1, 10]], 18, 32) ?? '', /layer 2's output should be \[1, 18, 32\] .*but is \[1, 10, 32\]/);
});

test('the attention caption names attention sinks only when the map sits on high-norm patches', () => {
  const norms = [5, ...flat];
  norms[1 + 3] = 40; // patch 3 is high-norm
  const onSink = Array.from({ length: 16 }, (_, i) => (i === 3 ? 0.6 : 0.4 / 15));
  assert.match(sinkNote(onSink, norms, 1) ?? '', /^60 % of this map sits on 1 high-norm patch: attention sinks/);
  const elsewhere = Array.from({ length: 16 }, (_, i) => (i === 7 ? 0.6 : 0.4 / 15));
  assert.equal(sinkNote(elsewhere, norms, 1), undefined, 'the map is not on the sink');
  assert.equal(sinkNote(onSink, [5, ...flat], 1), undefined, 'no high-norm patch');
  assert.equal(sinkNote(onSink, norms.slice(1), 1), undefined, 'token count disagrees: no note');
});
