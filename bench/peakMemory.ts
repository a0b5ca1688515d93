/**
 * One run in a fresh process, for a peak-RSS figure (WASM memory never shrinks, so each case needs its own
 * process): `node --import tsx bench/peakMemory.ts MODEL plain|budget BUDGET_MB` prints JSON.
 */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import * as ort from 'onnxruntime-web';
import { prepareModel } from '../src/shared/prepareModel';
import { createSession, runModel } from '../src/cli/runModel';

async function main(): Promise<void> {
  const [file, mode, budgetMB] = process.argv.slice(2);
  ort.env.wasm.numThreads = 1;
  const bytes = new Uint8Array(readFileSync(file));
  const m = prepareModel(bytes, path.basename(file), 'k', {}, Number(budgetMB) * 2 ** 20);
  const size = m.card.preprocess.size;
  const input = new Float32Array(3 * size * size).fill(0.1);
  const t0 = performance.now();
  let outBytes = 0;
  if (mode === 'plain') {
    const s = await ort.InferenceSession.create(bytes, { executionProviders: ['wasm'] });
    const r = await s.run({ [m.structure.input.name]: new ort.Tensor('float32', input, [1, 3, size, size]) });
    outBytes = Object.values(r).reduce((a, t) => a + (t.data as Float32Array).byteLength, 0);
  } else {
    const r = await runModel(await createSession(m), m, input);
    outBytes = [...r.layers.map((l) => l.data), r.logits, ...(r.rollout ?? [])].reduce((a, d) => a + d.byteLength, 0) + (r.headDistance?.flat().length ?? 0) * 4;
  }
  const ms = performance.now() - t0;
  console.log(JSON.stringify({ mode: m.attentionMode, peakMB: process.resourceUsage().maxRSS / 1024, ms, outBytes }));
}
void main();
