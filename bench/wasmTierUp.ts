/**
 * V8 runs WebAssembly first as baseline (Liftoff) code and optimizes a function only once it has run enough: how much
 * of a model's early runs that costs. The instrumented model in a fresh process with the host thread's WASM threads,
 * `RUNS` runs back to back; with `--no-liftoff` (run by bench.ts as a second process) every function is optimized
 * before it first runs. `node [--no-liftoff] --import tsx bench/wasmTierUp.ts MODEL THREADS RUNS`.
 */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import * as ort from 'onnxruntime-web';
import { prepareModel } from '../src/shared/prepareModel';
import { runOutputs } from '../src/shared/protocol';
import { concatBytes } from '../src/shared/onnx/rewriteModel';

async function main(): Promise<void> {
  const [file, threads, runs] = process.argv.slice(2);
  ort.env.wasm.numThreads = Number(threads);
  const m = prepareModel(new Uint8Array(readFileSync(file)), path.basename(file), 'k', {}, 512 * 2 ** 20);
  const t0 = performance.now();
  const s = await ort.InferenceSession.create(m.graphPatch ? concatBytes([m.bytes, m.graphPatch]) : m.bytes, { executionProviders: ['wasm'] });
  const sessionMs = performance.now() - t0;
  const feeds = { [s.inputNames[0]]: new ort.Tensor('float32', new Float32Array(3 * 224 * 224).fill(0.1), [1, 3, 224, 224]) };
  const outputs = runOutputs(m);
  const t: number[] = [];
  for (let i = 0; i < Number(runs); i++) {
    const t1 = performance.now();
    await s.run(feeds, outputs);
    t.push(performance.now() - t1);
  }
  console.log(JSON.stringify({ sessionMs, runs: t }));
}
void main();
