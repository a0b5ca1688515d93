/** The pure parts of the panel's palette commands: the values CSV and stepping through layers and heads. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { formatValue, valuesCsv } from '../../src/shared/valuesCsv';
import { headChoices, stepHead, stepLayer } from '../../src/shared/viewSteps';
import { PANEL_COMMANDS } from '../../src/shared/protocol';

const meta = { image: 'cat_tabby.jpg', model: 'ViT-Ti/16 (ImageNet)', view: 'attention', layer: 'Layer 12', head: 'mean', caption: 'CLS token attention to each patch, layer 12, mean over heads.' };

test('valuesCsv: two # lines describing the view, then one line per grid row', () => {
  const values = Float32Array.from([0.1, 0.2, 0.3, 0.000012345678, NaN, 1]);
  const csv = valuesCsv(values, { rows: 2, cols: 3 }, meta);
  const lines = csv.trimEnd().split('\n');
  assert.equal(lines.length, 4);
  assert.equal(lines[0], '# ViT Lens; image: cat_tabby.jpg; model: ViT-Ti/16 (ImageNet); view: attention; layer: Layer 12; head: mean of heads; 2 rows × 3 columns');
  assert.equal(lines[1], `# ${meta.caption}`);
  // float32 0.1 is 0.10000000149…: seven significant digits give back what was meant.
  assert.equal(lines[2], '0.1,0.2,0.3');
  assert.equal(lines[3], '0.00001234568,nan,1');
  assert.ok(csv.endsWith('\n'));
});

test('valuesCsv: the values read back (within float32 precision), as numpy.loadtxt would: # lines skipped', () => {
  const rows = 14;
  const cols = 14;
  const values = Float32Array.from({ length: rows * cols }, (_, i) => Math.abs(Math.sin(i * 1.7)) / (1 + i));
  const csv = valuesCsv(values, { rows, cols }, { ...meta, head: '2' });
  assert.match(csv, /; head: head 3;/, 'a head index is shown 1-based, as in the panel');
  const grid = csv.split('\n').filter((l) => l && !l.startsWith('#')).map((l) => l.split(',').map(Number));
  assert.equal(grid.length, rows);
  for (const row of grid) assert.equal(row.length, cols);
  grid.flat().forEach((v, i) => assert.ok(Math.abs(v - values[i]) <= Math.abs(values[i]) * 1e-6, `value ${i}: ${v} vs ${values[i]}`));
});

test('valuesCsv: a newline in a name cannot break the grid; a wrong count is refused', () => {
  const csv = valuesCsv([1, 2], { rows: 1, cols: 2 }, { ...meta, image: 'a\nb.png' });
  assert.equal(csv.split('\n').filter((l) => l.startsWith('#')).length, 2);
  assert.match(csv, /image: a b\.png;/);
  assert.throws(() => valuesCsv([1, 2, 3], { rows: 2, cols: 2 }, meta), /3 values for a 2×2 grid/);
});

test('formatValue: finite values in shortest form, non-finite as numpy spells them', () => {
  assert.deepEqual([0, 0.5, 1e-9, 123456789, NaN, Infinity, -Infinity].map(formatValue), ['0', '0.5', '1e-9', '123456800', 'nan', 'inf', '-inf']);
});

test('stepLayer wraps around in both directions', () => {
  assert.deepEqual([0, 1, 11].map((l) => stepLayer(l, 12, 1)), [1, 2, 0]);
  assert.deepEqual([0, 1, 11].map((l) => stepLayer(l, 12, -1)), [11, 0, 10]);
  assert.equal(stepLayer(0, 1, 1), 0);
});

test('stepHead follows the head select (mean, max, min, heads 1…n) and wraps', () => {
  assert.deepEqual(headChoices(2).map((c) => c.value), ['mean', 'max', 'min', '0', '1']);
  const seq = ['mean'];
  for (let i = 0; i < 5; i++) seq.push(stepHead(seq[seq.length - 1], 2, 1));
  assert.deepEqual(seq, ['mean', 'max', 'min', '0', '1', 'mean']);
  assert.equal(stepHead('mean', 3, -1), '2');
  assert.equal(stepHead('0', 3, -1), 'min');
  // A head the layer does not have (Swin stages differ) starts from the select's first choice.
  assert.equal(stepHead('7', 3, 1), 'max');
});

test('every panel command is in the Command Palette only with a panel open; its keybindings only in the panel', () => {
  const pkg = JSON.parse(readFileSync(path.join(__dirname, '../../package.json'), 'utf8')) as {
    contributes: { commands: { command: string; category?: string }[]; menus: { commandPalette: { command: string; when: string }[] }; keybindings: { command: string; key: string; when: string }[] };
  };
  assert.equal(Object.keys(PANEL_COMMANDS).length, 7);
  for (const id of Object.keys(PANEL_COMMANDS)) {
    assert.equal(pkg.contributes.commands.find((c) => c.command === id)?.category, '%command.category%', `${id} contributed`);
    assert.equal(pkg.contributes.menus.commandPalette.find((m) => m.command === id)?.when, 'vitLens.panelOpen', `${id} in the palette only with a panel`);
  }
  assert.equal((JSON.parse(readFileSync(path.join(__dirname, '../../package.nls.json'), 'utf8')) as Record<string, string>)['command.category'], 'ViT Lens');
  for (const k of pkg.contributes.keybindings.filter((b) => b.command.startsWith('vitLens.'))) {
    assert.equal(k.when, "activeWebviewPanelId == 'vitLens.visualize'", `${k.key} only in the panel`);
  }
});
