/**
 * `npm run bench`: medians over repeated runs, comparisons as ratios taken in the same run, written to
 * bench/RESULTS.md with the machine. Covers what runs in Node today: plain vs instrumented inference with
 * onnxruntime-web (the webview's WASM kernels), parse + detect + instrument time, redraw maths at 197 tokens,
 * and the .vsix size. Chromium, native and VS Code cold-start columns are not measured yet (issue 7).
 */
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as ort from 'onnxruntime-web';
import { prepareModel } from '../src/shared/prepareModel';
import { DEFAULT_VIEW } from '../src/shared/protocol';
import { computeView } from '../src/shared/viewData';
import { createSession, runModel } from '../src/cli/runModel';

const ROOT = path.resolve(__dirname, '..');
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function time(n: number, f: () => Promise<unknown> | unknown): Promise<number> {
  const t: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    await f();
    t.push(performance.now() - t0);
  }
  return median(t);
}

async function main(): Promise<void> {
  ort.env.wasm.numThreads = 1;
  const rows: string[][] = [];
  const models = [
    ['demo ViT-Ti/16 (196 patches)', 'models/vit-demo.onnx', 224],
    ['demo Swin (patch 4, window 7)', 'models/swin-demo.onnx', 224],
  ] as const;
  for (const [name, file, size] of models) {
    const p = path.join(ROOT, file);
    if (!existsSync(p)) continue;
    const bytes = new Uint8Array(readFileSync(p));
    const prep = await time(9, () => prepareModel(bytes, path.basename(file), 'k'));
    const m = prepareModel(bytes, path.basename(file), 'k');
    const plain = await ort.InferenceSession.create(bytes);
    const inst = await createSession(m);
    const input = new Float32Array(3 * size * size).fill(0.1);
    const x = new ort.Tensor('float32', input, [1, 3, size, size]);
    await plain.run({ [m.structure.input.name]: x });
    await runModel(inst, m, input);
    // Interleave the two so machine noise hits both alike.
    const a: number[] = [], b: number[] = [];
    for (let i = 0; i < 9; i++) {
      let t0 = performance.now();
      await plain.run({ [m.structure.input.name]: x });
      a.push(performance.now() - t0);
      t0 = performance.now();
      await runModel(inst, m, input);
      b.push(performance.now() - t0);
    }
    rows.push([name, `${median(a).toFixed(1)} ms`, `${median(b).toFixed(1)} ms`, (median(b) / median(a)).toFixed(3), `${prep.toFixed(1)} ms`]);
    if (!m.structure.swin) {
      const run = await runModel(inst, m, input);
      const redraw = await time(51, () => computeView(m.structure, { layers: run.layers }, { ...DEFAULT_VIEW, layer: 3, head: '1' }));
      const rollout = await time(11, () => computeView(m.structure, { layers: run.layers }, { ...DEFAULT_VIEW, mode: 'rollout', layer: 5 }));
      rows.push([`${name}: view maths per redraw (attention / rollout)`, '', '', '', `${redraw.toFixed(2)} / ${rollout.toFixed(1)} ms`]);
    }
  }
  const vsix = path.join(ROOT, 'dist/vit-lens.vsix');
  const table = [
    '| model | plain inference | instrumented | instrumented / plain | parse + detect + instrument |',
    '|---|---|---|---|---|',
    ...rows.map((r) => `| ${r.join(' | ')} |`),
  ].join('\n');
  const machine = `${os.cpus()[0]?.model ?? 'cpu'} × ${os.cpus().length}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, Node ${process.version}, onnxruntime-web (WASM, 1 thread) in Node`;
  const out = `# ViT Lens benchmark\n\nMeasured ${new Date().toISOString().slice(0, 10)} on ${machine}. Medians of 9 interleaved runs (view maths: 51/11).\n\n${table}\n\n.vsix: ${existsSync(vsix) ? `${(statSync(vsix).size / 2 ** 20).toFixed(1)} MiB` : 'not built'}\n`;
  console.log(out);
  writeFileSync(path.join(ROOT, 'bench/RESULTS.md'), out);
}
void main();
