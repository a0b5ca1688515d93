/**
 * 1 000 mutated copies of the demo model (fixed seed): truncations, byte flips, inserted and deleted runs.
 * Each must end, quickly, in either a usable model or a ViT Lens error with a message (never a TypeError,
 * RangeError, hang or crash). The ones that still parse and look like a ViT are then given to
 * onnxruntime-web in a child process, which must also answer with an error or a result.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { VitLensError } from '../../src/shared/errors';
import { prepareModel } from '../../src/shared/prepareModel';
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { DEMO_MODEL } from '../support/fixtures';
import { mutate } from '../support/mutate';

const COUNT = 1000;
const usable: number[] = [];
test(`${COUNT} mutated models: each parses or fails with a clear ViT Lens error, fast`, () => {
  const outcomes = new Map<string, number>();
  usable.length = 0;
  let slowest = 0;
  for (let i = 0; i < COUNT; i++) {
    const { bytes, how } = mutate(i);
    const t0 = performance.now();
    let outcome: string;
    try {
      prepareModel(bytes, 'fuzz.onnx', `fuzz-${i}`);
      outcome = 'usable';
      usable.push(i);
    } catch (e) {
      assert.ok(e instanceof VitLensError, `#${i} (${how}) threw ${(e as Error).name}: ${(e as Error).message}`);
      assert.ok(e.message.length > 20, `#${i}: the message says something`);
      outcome = e.kind;
    }
    const ms = performance.now() - t0;
    slowest = Math.max(slowest, ms);
    assert.ok(ms < 3000, `#${i} (${how}) took ${ms.toFixed(0)} ms`);
    outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1);
  }
  console.log(`outcomes: ${JSON.stringify(Object.fromEntries(outcomes))}; slowest ${slowest.toFixed(0)} ms`);
  assert.ok((outcomes.get('model-format') ?? 0) > 100, 'most truncations are caught as format errors');
});

test('mutated models that still look like a ViT: onnxruntime-web answers each with a result or an error', () => {
  const sample = usable.filter((_, k) => k % 4 === 0).slice(0, 40);
  assert.ok(sample.length >= 10, `${usable.length} usable mutants`);
  // A child process, so that a runtime abort could not take the test runner with it.
  const child = spawnSync(process.execPath, ['--import', 'tsx', path.join(__dirname, 'ortChild.ts'), DEMO_MODEL, ...sample.map(String)], { encoding: 'utf8', timeout: 240_000 });
  assert.equal(child.status, 0, `child exited ${child.status} (${child.signal ?? ''}): ${child.stderr.slice(-2000)}`);
  const lines = child.stdout.trim().split('\n').map((l) => JSON.parse(l) as { i: number; outcome: string; ms: number });
  assert.equal(lines.length, sample.length);
  for (const l of lines) assert.ok(l.ms < 20_000, `#${l.i} took ${l.ms} ms`);
  const counts = lines.reduce<Record<string, number>>((m, l) => ((m[l.outcome.split(':')[0]] = (m[l.outcome.split(':')[0]] ?? 0) + 1), m), {});
  console.log(`onnxruntime-web on ${sample.length} usable mutants: ${JSON.stringify(counts)}`);
});
