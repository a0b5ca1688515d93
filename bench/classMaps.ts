/**
 * The class maps' cost (issue 14): forward + backward (one gradient run: attention, d logit / d attention for every
 * layer, and the last block's token gradients) against the instrumented forward alone, interleaved in one process;
 * plus deletion/insertion curves (22 images) and occlusion (1 + patches images) on the bundled ViT-Ti. Part of
 * `npm run bench`; `node --import tsx bench/classMaps.ts` prints this section alone.
 */
import { existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { createGradientSession } from '../src/cli/gradientRun';
import { createSession, logitsBatchRunner, runModel } from '../src/cli/runModel';
import { runFaithfulness } from '../src/shared/faithfulness';
import { inputSize } from '../src/shared/modelCard';
import { runOcclusion } from '../src/shared/occlusion';
import { prepareModel } from '../src/shared/prepareModel';

const ROOT = path.join(__dirname, '..');
const median = (v: number[]) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)];
const ms = (v: number) => (v >= 100 ? `${v.toFixed(0)} ms` : `${v.toFixed(1)} ms`);

export async function classMapsSection(models: [string, string][]): Promise<string> {
  const rows: string[] = [];
  const notes: string[] = [];
  for (const [name, file] of models) {
    const m = prepareModel(new Uint8Array(readFileSync(file)), path.basename(file), path.basename(file));
    const { height, width } = inputSize(m.card.preprocess);
    const input = new Float32Array(m.structure.input.channels * height * width).fill(0.1);
    const fwd = await createSession(m);
    let t0 = performance.now();
    const grad = await createGradientSession(m);
    const build = performance.now() - t0;
    await runModel(fwd, m, input);
    await grad.run(input, 0);
    const runs = m.structure.embedDim >= 768 ? 5 : m.structure.embedDim >= 384 ? 7 : 11;
    const f: number[] = [], b: number[] = [];
    for (let i = 0; i < runs; i++) {
      t0 = performance.now();
      await runModel(fwd, m, input);
      f.push(performance.now() - t0);
      t0 = performance.now();
      await grad.run(input, i % 2);
      b.push(performance.now() - t0);
    }
    rows.push(`| ${name} | ${ms(median(f))} | ${ms(median(b))} | **${(median(b) / median(f)).toFixed(2)}×** | ${(build / 1000).toFixed(1)} s | ${runs} |`);
    console.error(`  class maps: ${name} done`);
    await fwd.release();
    await grad.session.release();
    if (file.endsWith('vit-tiny-imagenet.onnx')) {
      const session = await createSession(m);
      const run = logitsBatchRunner(session, m);
      const dims = [1, m.structure.input.channels, height, width] as const;
      const grid = m.structure.grid!;
      const map = Float32Array.from({ length: grid.rows * grid.cols }, (_, i) => (i * 37) % 101);
      const times = { curves: [] as number[], occlusion: [] as number[] };
      for (let i = 0; i < 3; i++) {
        t0 = performance.now();
        await runFaithfulness(input, dims, grid, m.structure.patchSize, map, run, { batchSize: 16, classIndex: 0 });
        times.curves.push(performance.now() - t0);
      }
      t0 = performance.now();
      await runOcclusion(input, dims, grid, m.structure.patchSize, run, { batchSize: 16, classIndex: 0 });
      times.occlusion.push(performance.now() - t0);
      notes.push(`${name}: deletion + insertion curves of one map (22 images, batches of 16) **${ms(median(times.curves))}** (median of 3); occlusion of all ${grid.rows * grid.cols} patches (${1 + grid.rows * grid.cols} images) ${(times.occlusion[0] / 1000).toFixed(1)} s (one run).`);
      await session.release();
    }
  }
  return `## Class maps: forward + backward against forward alone

Node, onnxruntime-web WASM, 1 thread, 224×224, interleaved; target: forward + backward ≤ 3× the forward. The gradient session is built once per model (one probing run for the shapes, then the session with the backward patch).

| model | forward (instrumented) | forward + backward, one class | ratio | gradient session built in | runs |
|---|---|---|---|---|---|
${rows.join('\n')}

${notes.map((n) => `- ${n}`).join('\n')}
`;
}

/** The bundled model and, where `npm run bench` generated them, the random ViT-S/16 and ViT-B/16. */
export function classMapModels(cache: string): [string, string][] {
  const out: [string, string][] = [['ImageNet ViT-Ti/16 (bundled)', path.join(ROOT, 'models/vit-tiny-imagenet.onnx')]];
  for (const [name, file] of [['ViT-S/16 (random)', 'vit-s16.onnx'], ['ViT-B/16 (random)', 'vit-b16.onnx']]) {
    if (existsSync(path.join(cache, file))) out.push([name, path.join(cache, file)]);
  }
  return out;
}

if (require.main === module) {
  void classMapsSection(classMapModels(path.join(ROOT, '.cache/bench-models'))).then((s) => console.log(s));
}
