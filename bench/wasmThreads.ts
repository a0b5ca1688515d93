/**
 * onnxruntime-web WASM with N threads, in a fresh process (the thread count is fixed when the WASM starts):
 * what a cross-origin-isolated page would get. `node --import tsx bench/wasmThreads.ts MODEL THREADS RUNS`.
 */
import { readFileSync } from 'node:fs';
import * as ort from 'onnxruntime-web';

async function main(): Promise<void> {
  const [file, threads, runs] = process.argv.slice(2);
  ort.env.wasm.numThreads = Number(threads);
  const s = await ort.InferenceSession.create(new Uint8Array(readFileSync(file)), { executionProviders: ['wasm'] });
  const feeds = { [s.inputNames[0]]: new ort.Tensor('float32', new Float32Array(3 * 224 * 224).fill(0.1), [1, 3, 224, 224]) };
  await s.run(feeds);
  const t: number[] = [];
  for (let i = 0; i < Number(runs); i++) {
    const t0 = performance.now();
    await s.run(feeds);
    t.push(performance.now() - t0);
  }
  console.log(JSON.stringify({ median: t.sort((a, b) => a - b)[Math.floor(t.length / 2)] }));
}
void main();
