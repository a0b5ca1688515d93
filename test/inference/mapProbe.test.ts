/**
 * The MAP head's probe as a view of its own: instrumented as an extra output, read into RunData, equal to
 * PyTorch's probe attention (scripts/make_classifier_styles.py writes siglip-map.probe.bin, [heads, 1, tokens]),
 * checked against the token layout, and absent for every model without a probe.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { mapProbeMaps, mapProbeMismatch, mapProbeOf, mapProbeShares, mapProbeText } from '../../src/shared/mapProbe';
import { prepareModel } from '../../src/shared/prepareModel';
import { runOutputs } from '../../src/shared/protocol';
import { createSession, runModel } from '../../src/cli/runModel';
import { DEMO_MODEL, demoModel, maxAbsDiff, readFloat32, ROOT } from '../support/fixtures';

const DIR = path.join(ROOT, 'test/fixtures/classifiers');
interface Case { file: string; reference: { input: string; probe?: string; probeShape?: number[] } }
const cases = (JSON.parse(readFileSync(path.join(DIR, 'expected.json'), 'utf8')) as { cases: Case[] }).cases;
const siglip = cases.find((c) => c.file === 'siglip-map.onnx')!;

test('siglip-map: the instrumented probe output equals PyTorch\'s MAP attention within 1e-5', async () => {
  assert.ok(siglip.reference.probe && siglip.reference.probeShape, 'expected.json names the probe reference');
  const m = prepareModel(new Uint8Array(readFileSync(path.join(DIR, siglip.file))), siglip.file, siglip.file);
  assert.equal(m.mapProbeOutput, m.structure.mapProbe?.tensor);
  assert.ok(runOutputs(m).includes(m.mapProbeOutput!), 'the run fetches the probe');
  const run = await runModel(await createSession(m), m, readFloat32(path.join(DIR, siglip.reference.input)));
  const p = run.mapProbe;
  assert.ok(p, 'the run returns the probe');
  const [H, Q, T] = siglip.reference.probeShape!;
  assert.deepEqual({ heads: p.heads, tokens: p.tokens, queries: p.dims[p.dims.length - 2] }, { heads: H, tokens: T, queries: Q });
  const ref = readFloat32(path.join(DIR, siglip.reference.probe!));
  const d = maxAbsDiff(p.data, ref);
  console.log(`siglip-map probe: ${p.dims.join('×')}, max |ORT − PyTorch| = ${d.toExponential(2)}`);
  assert.ok(d <= 1e-5, `probe attention differs by ${d}`);
  // tokens = prefix + rows·cols on the real run.
  assert.equal(mapProbeMismatch(m.structure, p), undefined);
  assert.equal(T, m.structure.prefixTokens + m.structure.grid!.rows * m.structure.grid!.cols);
  // The sentence's share, from PyTorch's numbers: mean over heads, 5 largest of 16.
  const mean = Array.from({ length: T }, (_, t) => Array.from({ length: H }, (_, h) => ref[h * T + t]).reduce((a, b) => a + b, 0) / H);
  const top5 = [...mean].sort((a, b) => b - a).slice(0, 5).reduce((a, b) => a + b, 0);
  const maps = mapProbeMaps(m.structure, p);
  assert.ok(Math.abs(mapProbeShares(m.structure, maps).top - top5) < 1e-5);
  const text = mapProbeText(m.structure, p, maps);
  console.log(text);
  assert.match(text, new RegExp(`^The classifier reads one learned query's attention over the ${T} tokens: ${(top5 * 100).toFixed(1)}% of it \\(mean over its ${H} heads\\) on the 5 hottest patches of 16`));
});

test('no other model gets a probe output', async () => {
  const others = [...cases.filter((c) => c !== siglip).map((c) => ({ name: c.file, m: prepareModel(new Uint8Array(readFileSync(path.join(DIR, c.file))), c.file, c.file), input: readFloat32(path.join(DIR, c.reference.input)) })),
    { name: path.basename(DEMO_MODEL), m: demoModel(), input: undefined }];
  // Every other committed model too (DeiT, Swin, …): none has a MAP head.
  const moreModels = readdirSync(path.join(ROOT, 'models')).filter((f) => f.endsWith('.onnx') && f !== path.basename(DEMO_MODEL));
  for (const f of moreModels) others.push({ name: f, m: prepareModel(new Uint8Array(readFileSync(path.join(ROOT, 'models', f))), f, f), input: undefined });
  for (const o of others) {
    assert.equal(o.m.structure.mapProbe, undefined, o.name);
    assert.equal(o.m.mapProbeOutput, undefined, o.name);
    if (o.input) assert.equal((await runModel(await createSession(o.m), o.m, o.input)).mapProbe, undefined, o.name);
  }
});

test('averaged and mis-shaped probes: [1, 1, T] is one head; wrong token counts are refused with expected and found', () => {
  const m = prepareModel(new Uint8Array(readFileSync(path.join(DIR, siglip.file))), siglip.file, siglip.file);
  const s = m.structure;
  const avg = mapProbeOf([1, 1, 16], new Float32Array(16).fill(1 / 16));
  assert.deepEqual(avg && { heads: avg.heads, tokens: avg.tokens }, { heads: 1, tokens: 16 });
  assert.equal(mapProbeMismatch(s, avg!), undefined);
  assert.match(mapProbeText(s, avg!, mapProbeMaps(s, avg!)), /: 31\.3% of it \(its 2 heads averaged by the export\) on the 5 hottest patches of 16, where uniform attention would put 31\.3%/);
  const shifted = mapProbeOf([2, 1, 17], new Float32Array(34));
  assert.equal(mapProbeMismatch(s, shifted!), 'The probe\'s attention is not drawn: it has 17 tokens, but 0 prefix + 4×4 patches = 16 tokens were expected.');
  const rows = mapProbeOf([2, 16, 16], new Float32Array(512));
  assert.match(mapProbeMismatch(s, rows!) ?? '', /16 queries \(shape 2×16×16\), but one learned query was expected/);
});
