/**
 * The census of exports (test/support/exportFamilies.ts): every ONNX file the project ships or tests is in exactly
 * one family row; each row's exports are shown (and compared with PyTorch by the named test) or refused with the
 * stated reason; and the README's "Models it reads" table is exactly the one rendered from the census.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { attachExternalData } from '../../src/cli/runModel';
import { prepareModel } from '../../src/shared/prepareModel';
import { censusMarkdown, FAMILIES } from '../support/exportFamilies';
import { ROOT } from '../support/fixtures';

/** Every .onnx under models/ and test/fixtures/ (the benchmark's generated models are not shipped or tested here). */
function onnxFiles(dir: string): string[] {
  return readdirSync(path.join(ROOT, dir), { withFileTypes: true }).flatMap((e) => {
    const rel = `${dir}/${e.name}`;
    return e.isDirectory() ? onnxFiles(rel) : e.name.endsWith('.onnx') ? [rel] : [];
  });
}

/** Small graphs that test one gradient rule each (test/inference/gradients.test.ts, swinGradients.test.ts): not exports. */
const RULE_GRAPHS = ['test/fixtures/gradients/op-zoo.onnx', 'test/fixtures/swin-gradients/op-zoo.onnx'];

test('every export is in exactly one family row', () => {
  const listed = FAMILIES.flatMap((f) => f.files);
  assert.equal(new Set(listed).size, listed.length, 'an export is listed twice');
  assert.deepEqual([...listed].sort(), [...onnxFiles('models'), ...onnxFiles('test/fixtures')].filter((f) => !RULE_GRAPHS.includes(f)).sort());
});

test('each shown family is compared with PyTorch by the test named for it', () => {
  for (const f of FAMILIES) {
    const tests = f.verifiedBy.map((t) => readFileSync(path.join(ROOT, t), 'utf8'));
    for (const file of f.files) {
      const dir = path.dirname(file);
      const expected = path.join(ROOT, dir, 'expected.json');
      // Named in the test itself, or in the expected.json of a fixture folder the test reads.
      const named = tests.some((t) => t.includes(path.basename(file, '.onnx')) || (t.includes(dir) && existsSync(expected) && readFileSync(expected, 'utf8').includes(path.basename(file))));
      assert.ok(named, `${file}: not checked by ${f.verifiedBy.join(' or ')}`);
    }
  }
});

test('shown exports are read as ViTs; refused ones give the stated reason', () => {
  for (const f of FAMILIES) {
    for (const file of f.files) {
      // Weights are read only where a refusal may come from them (a missing external data file); the family tests run the rest.
      const prepare = () => prepareModel(new Uint8Array(readFileSync(path.join(ROOT, file))), path.basename(file), file);
      if (f.outcome === 'refused') {
        assert.throws(() => attachExternalData(prepare(), path.join(ROOT, file)), (e: Error) => e.message.includes(f.shows), `${file}: expected a refusal saying "${f.shows}"`);
      } else {
        assert.ok(prepare().structure.layers > 0, file);
      }
    }
  }
});

test('the README\'s "Models it reads" table is the census', () => {
  const readme = readFileSync(path.join(ROOT, 'README.md'), 'utf8');
  assert.ok(readme.includes(censusMarkdown()), 'README.md: paste the output of `npx tsx test/support/printCensus.ts` under "Models it reads"');
});
