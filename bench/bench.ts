/**
 * `npm run bench`: medians over repeated runs, comparisons as ratios taken in the same run (interleaved, so
 * machine noise hits both sides alike), written to bench/RESULTS.md with the machine.
 * Measured in Node: onnxruntime-web WASM with 1 thread (what a VS Code webview gets: not cross-origin isolated)
 * plain vs instrumented, against onnxruntime-node native with 2 threads; parse + detect + instrument time and
 * extra memory for ViT-B/16; view maths per redraw; the .vsix size. Random ViT-Ti/S/B-16 are exported at bench
 * time by scripts/make_bench_models.py when Debian's python3-torch is present (skipped otherwise).
 * Peak memory under the attention budget at 3 601 tokens (bench/peakMemory.ts, one process per case). V8's WebAssembly
 * tier-up (bench/wasmTierUp.ts): a fresh process's early runs against its later ones, and with every function optimized first.
 * Headless Chromium (bench/chromium.ts): the same inference in the panel's worker bundle, the longest frame gap
 * while the panel runs ViT-B/16, and the panel's redraw time at 197 and 3 601 tokens.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as ort from 'onnxruntime-web';
import { classMapModels, classMapsSection } from './classMaps';
import { fullAttentionBytes, instrumentedBytes } from '../src/shared/instrumentAttention';
import { PreparedModel, prepareModel } from '../src/shared/prepareModel';
import { DEFAULT_VIEW } from '../src/shared/protocol';
import { computeView } from '../src/shared/viewData';
import { createSession, runModel } from '../src/cli/runModel';
import { runOutputs } from '../src/shared/protocol';
import { chromiumInference, frameGaps, InferenceCase, redrawTimes, withChromium } from './chromium';
import { modelThreadFromSource } from '../test/support/modelThread';

/** What `npm run bench` is doing, as it goes (a full run takes many minutes). */
const progress = (what: string) => console.log(`[bench ${new Date().toISOString().slice(11, 19)}] ${what}`);

/**
 * vitLens.runModelIn = "extensionHost": the instrumented model in the host's model thread (a Node worker thread, the
 * same session runner as the panel's worker). First run (bytes to the thread, session, inference), then the median
 * round trip of `runs` warm runs, outputs included.
 */
async function hostThreadTimes(m: PreparedModel, input: Float32Array, runs: number): Promise<{ firstMs: number; warmMs: number }> {
  const thread = modelThreadFromSource();
  const size = m.card.preprocess.size;
  const go = () => thread.run(m.key, () => ({ parts: [m.bytes, m.graphPatch!], externalData: m.externalData }), input.slice(), m.structure.input.name, [1, 3, size, size], runOutputs(m), 'wasm', 600_000);
  try {
    let t0 = performance.now();
    await go();
    const firstMs = performance.now() - t0;
    const t: number[] = [];
    for (let i = 0; i < runs; i++) {
      t0 = performance.now();
      await go();
      t.push(performance.now() - t0);
    }
    return { firstMs, warmMs: median(t) };
  } finally {
    thread.stop();
  }
}

const ROOT = path.resolve(__dirname, '..');
const CACHE = path.join(ROOT, '.cache/bench-models');
const RUNS = 7;
/** Runs for a model whose single run takes `ms`: at least RUNS, and about 2 s of samples for fast models (noise). */
const runsFor = (ms: number) => Math.min(61, Math.max(RUNS, Math.ceil(2000 / Math.max(ms, 1))));
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const ms = (v: number) => `${v.toFixed(v < 10 ? 1 : 0)} ms`;

type Native = typeof import('onnxruntime-node');
function loadNative(): Native | undefined {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- optional reference backend
    return require('onnxruntime-node') as Native;
  } catch {
    return undefined;
  }
}

function benchModels(): [string, string][] {
  const models: [string, string][] = [
    ['ImageNet ViT-Ti/16 (bundled, fp16 weights)', path.join(ROOT, 'models/vit-tiny-imagenet.onnx')],
    ['demo ViT-Ti/16 (6 layers, width 96)', path.join(ROOT, 'models/vit-demo.onnx')],
    ['demo Swin (patch 4, window 7)', path.join(ROOT, 'models/swin-demo.onnx')],
  ];
  try {
    execFileSync('/usr/bin/python3', [path.join(ROOT, 'scripts/make_bench_models.py'), CACHE], { stdio: 'ignore', timeout: 600_000 });
  } catch {
    console.warn('python3-torch not available: ViT-Ti/S/B-16 rows skipped');
  }
  for (const [name, file] of [['ViT-Ti/16 (random)', 'vit-ti16.onnx'], ['ViT-S/16 (random)', 'vit-s16.onnx'], ['ViT-B/16 (random)', 'vit-b16.onnx']]) {
    if (existsSync(path.join(CACHE, file))) models.push([name, path.join(CACHE, file)]);
  }
  return models;
}

/** Headless Chromium: inference plain vs instrumented, frame gaps while the panel runs, redraw at 197 and 3 601 tokens. */
async function chromiumSection(node: { name: string; file: string; model: PreparedModel; runs: number }[], notes: string[]): Promise<Map<string, { plain: number; inst: number }>> {
  const out = new Map<string, { plain: number; inst: number }>();
  if (!existsSync('/usr/bin/chromium') && !process.env.CHROMIUM_PATH) {
    notes.push('Chromium not found: the Chromium columns, frame gaps and panel redraw times were not measured.');
    return out;
  }
  const url = (file: string) => '/' + path.relative(ROOT, file).split(path.sep).join('/');
  const written = new Map<string, string>();
  const instrumented = (r: { name: string; file: string; model: PreparedModel }) => {
    let f = written.get(r.file);
    if (!f) {
      f = path.join(CACHE, `${path.basename(r.file, '.onnx')}.instrumented.onnx`);
      writeFileSync(f, instrumentedBytes(r.model));
      written.set(r.file, f);
    }
    return f;
  };
  const image = { name: 'cat_tabby.jpg', bytes: Array.from(readFileSync(path.join(ROOT, 'samples/cat_tabby.jpg'))), mime: 'image/jpeg' };
  await withChromium(['/models/', '/.cache/bench-models/'], async (h) => {
    const cases: InferenceCase[] = node.map((r) => ({
      name: r.name, plainUrl: url(r.file), instrumentedUrl: url(instrumented(r)), inputName: r.model.structure.input.name,
      size: r.model.card.preprocess.size, logits: r.model.logitsOutput, outputs: runOutputs(r.model), runs: r.runs,
    }));
    const times = await chromiumInference(h.page, cases);
    for (const [name, t] of times) out.set(name, { plain: median(t.plain), inst: median(t.instrumented) });
    const sessions = [...times].map(([name, t]) => `${name} ${(t.sessionMs.instrumented / 1000).toFixed(2)} s`).join(', ');
    notes.push(`Chromium session creation (instrumented, first run): ${sessions}.`);
    // Redraw at 197 tokens: the demo ViT in the panel, switching layer and head, then patch queries.
    const demo = node.find((r) => r.name.startsWith('demo ViT'));
    if (demo) {
      // The page appends the model's output patch itself: give it the plain file, as the host does.
      const g = await frameGaps(h, demo.model, url(demo.file), image);
      const views = Array.from({ length: 24 }, (_, i) => (i < 18 ? { layer: i % 6, head: i % 4 === 3 ? 'mean' : String(i % 3), selected: undefined } : { layer: 5, head: 'mean', selected: { row: i - 18, col: 2 * (i - 18) } }));
      const t = await redrawTimes(h, views);
      notes.push(`Panel redraw in Chromium at 197 tokens (demo ViT; layer/head switches and patch queries, median of ${t.length}): **${median(t).toFixed(1)} ms** (max ${Math.max(...t).toFixed(1)} ms); first heatmap ${g.totalMs} ms after posting; longest frame gap ${g.inferenceGapMs.toFixed(0)} ms while the model ran, ${g.maxGapMs.toFixed(0)} ms from posting to heatmap.`);
    }
    const big = node.find((r) => r.name.startsWith('ViT-B'));
    if (big) {
      // Three posts of the model (each a fresh session: another bytesId); a single one is at the mercy of 2 cores.
      const gs: Awaited<ReturnType<typeof frameGaps>>[] = [];
      for (let i = 0; i < 3; i++) gs.push(await frameGaps(h, { ...big.model, key: `${big.model.key}#${i}` }, url(big.file), image, { bytesId: `bench-vit-b16-${i}`, budget: 2 ** 30 }));
      const med = (k: 'inferenceGapMs' | 'maxGapMs' | 'keepGapMs' | 'keepMs' | 'totalMs') => median(gs.map((g) => g[k]));
      const list = (k: 'inferenceGapMs' | 'maxGapMs' | 'keepGapMs') => gs.map((g) => g[k].toFixed(0)).join(', ');
      notes.push(`Longest gap between painted frames while ViT-B/16 runs in the panel's worker (median of 3): **${med('inferenceGapMs').toFixed(0)} ms** (${list('inferenceGapMs')}); from posting the 346 MB model to the heatmap (${med('totalMs').toFixed(0)} ms; the page receives the 346 MB message on its UI thread; the worker's copy is built in 16 MB steps): ${med('maxGapMs').toFixed(0)} ms (${list('maxGapMs')}); after the heatmap, while the teaching views render and the page keeps its copy of the model (IndexedDB, the Blob built in 16 MB steps; ${(med('keepMs') / 1000).toFixed(1)} s): ${med('keepGapMs').toFixed(0)} ms (${list('keepGapMs')}).`);
    }
    const redrawFile = path.join(CACHE, 'vit-redraw-480.onnx');
    if (existsSync(redrawFile)) {
      const m = prepareModel(new Uint8Array(readFileSync(redrawFile)), 'vit-redraw-480.onnx', 'redraw');
      await frameGaps(h, m, '/.cache/bench-models/vit-redraw-480.onnx', image);
      const views = Array.from({ length: 21 }, (_, i) => (i < 8 ? { layer: i % 2, head: i % 4 === 3 ? 'mean' : String(i % 3), selected: undefined } : { layer: 1, head: i % 2 ? 'mean' : 'max', selected: { row: i, col: 2 * i }, direction: i % 3 ? 'query' as const : 'key' as const }));
      const t = await redrawTimes(h, views);
      notes.push(`Panel redraw in Chromium at 3 601 tokens (random ViT, patch 8 at 480 px, 2 layers, full attention; layer/head switches, patch as query and as key, median of ${t.length}): **${median(t).toFixed(1)} ms** (max ${Math.max(...t).toFixed(1)} ms).`);
    }
  });
  return out;
}

async function main(): Promise<void> {
  ort.env.wasm.numThreads = 1;
  const native = loadNative();
  const rows: string[] = [];
  const notes: string[] = [];
  const node: { name: string; file: string; model: PreparedModel; webPlain: number; webInst: number; native: number; runs: number; host: { firstMs: number; warmMs: number } }[] = [];
  progress('exporting the random ViT-Ti/S/B-16 (Debian python3-torch), if not done yet');
  for (const [name, file] of benchModels()) {
    progress(`${name}: Node (web plain, instrumented, native) and the host's model thread`);
    const bytes = new Uint8Array(readFileSync(file));
    const m = prepareModel(bytes, path.basename(file), path.basename(file));
    const size = m.card.preprocess.size;
    const input = new Float32Array(3 * size * size).fill(0.1);
    const feeds = { [m.structure.input.name]: new ort.Tensor('float32', input, [1, 3, size, size]) };
    // Name the backend: with onnxruntime-node loaded, the shared registry would otherwise pick native 'cpu'.
    const plain = await ort.InferenceSession.create(bytes, { executionProviders: ['wasm'] });
    const inst = await createSession(m);
    const nat = native ? await native.InferenceSession.create(file, { intraOpNumThreads: 2 }) : undefined;
    const natFeeds = native ? { [m.structure.input.name]: new native.Tensor('float32', input, [1, 3, size, size]) } : undefined;
    await plain.run(feeds);
    await runModel(inst, m, input);
    if (nat) await nat.run(natFeeds!);
    const a: number[] = [], b: number[] = [], c: number[] = [];
    const w0 = performance.now();
    await plain.run(feeds);
    const runs = runsFor(performance.now() - w0);
    for (let i = 0; i < runs; i++) {
      let t0 = performance.now();
      await plain.run(feeds);
      a.push(performance.now() - t0);
      t0 = performance.now();
      await runModel(inst, m, input);
      b.push(performance.now() - t0);
      if (nat) {
        t0 = performance.now();
        await nat.run(natFeeds!);
        c.push(performance.now() - t0);
      }
    }
    await plain.release();
    await inst.release();
    const host = await hostThreadTimes(m, input, Math.min(runs, 15));
    node.push({ name, file, model: m, webPlain: median(a), webInst: median(b), native: c.length ? median(c) : NaN, runs, host });
    progress(`${name}: Node web plain ${ms(median(a))}, instrumented ${ms(median(b))}${c.length ? `, native ${ms(median(c))}` : ''}; host thread first run ${ms(host.firstMs)}, then ${ms(host.warmMs)} a run (${runs} runs)`);
    if (!m.structure.swin && name.startsWith('demo')) {
      const run = await runModel(await createSession(m), m, input);
      const t: number[] = [], r: number[] = [];
      for (let i = 0; i < 51; i++) {
        let t0 = performance.now();
        computeView(m.structure, { layers: run.layers }, { ...DEFAULT_VIEW, layer: 3, head: String(i % 3) });
        t.push(performance.now() - t0);
        t0 = performance.now();
        if (i < 11) computeView(m.structure, { layers: run.layers }, { ...DEFAULT_VIEW, mode: 'rollout', layer: 5 });
        if (i < 11) r.push(performance.now() - t0);
      }
      notes.push(`View maths per redraw at ${m.structure.tokens} tokens (demo ViT): attention ${median(t).toFixed(3)} ms, rollout through 6 layers ${median(r).toFixed(1)} ms.`);
    }
    if (name.startsWith('ViT-B')) {
      global.gc?.();
      const before = process.memoryUsage();
      const times: number[] = [];
      let extra = 0;
      for (let i = 0; i < 5; i++) {
        const t0 = performance.now();
        const p = prepareModel(bytes, 'vit-b16.onnx', `b${i}`);
        times.push(performance.now() - t0);
        extra = Math.max(extra, process.memoryUsage().arrayBuffers - before.arrayBuffers);
        p.parameters = undefined;
      }
      notes.push(`Instrumenting ViT-B/16 (${(bytes.byteLength / 1e6).toFixed(0)} MB): parse + detect + instrument ${ms(median(times))} median of 5; extra memory ${(extra / 1e6).toFixed(1)} MB = **${(extra / bytes.byteLength).toFixed(3)}×** the file (weights are never decoded or copied: the output patch is appended where the worker's copy is made anyway).`);
    }
  }
  progress('headless Chromium: inference, frame gaps, redraw');
  const chrome = await chromiumSection(node, notes);
  for (const r of node) {
    const c = chrome.get(r.name);
    const nat = Number.isFinite(r.native);
    rows.push(`| ${r.name} | ${ms(r.webPlain)} | ${ms(r.webInst)} | **${(r.webInst / r.webPlain).toFixed(3)}** | ${c ? ms(c.plain) : 'n/a'} | ${c ? ms(c.inst) : 'n/a'} | ${c ? `**${(c.inst / c.plain).toFixed(3)}**` : 'n/a'} | ${nat ? ms(r.native) : 'n/a'} | ${nat ? `**${(r.webPlain / r.native).toFixed(1)}×**` : 'n/a'} | ${c && nat ? `**${(c.plain / r.native).toFixed(1)}×**` : 'n/a'} | ${ms(r.host.warmMs)} (first ${ms(r.host.firstMs)}) | ${c ? `**${(r.host.warmMs / c.inst).toFixed(2)}**` : 'n/a'} |`);
  }
  {
    // Redraw maths at 3 601 tokens (ViT-S/8 at 480 px): one layer of synthetic, row-normalized attention.
    const T = 3601, H = 6;
    const data = new Float32Array(H * T * T);
    for (let r = 0; r < H * T; r++) {
      let sum = 0;
      for (let j = 0; j < T; j++) sum += data[r * T + j] = ((r * 31 + j * 17) % 97) + 1;
      for (let j = 0; j < T; j++) data[r * T + j] /= sum;
    }
    const s = { ...prepareModel(new Uint8Array(readFileSync(path.join(ROOT, 'models/vit-demo.onnx'))), 'vit-demo.onnx', 'k').structure, grid: { rows: 60, cols: 60 }, tokens: T, layers: 1 };
    const layers = [{ heads: H, tokens: T, data }];
    const cls: number[] = [], query: number[] = [], key: number[] = [];
    for (let i = 0; i < 21; i++) {
      let t0 = performance.now();
      computeView(s, { layers }, { ...DEFAULT_VIEW, layer: 0, head: i % 2 ? 'mean' : String(i % H) });
      cls.push(performance.now() - t0);
      t0 = performance.now();
      computeView(s, { layers }, { ...DEFAULT_VIEW, layer: 0, head: 'max', selected: { row: i, col: 2 * i } });
      query.push(performance.now() - t0);
      t0 = performance.now();
      computeView(s, { layers }, { ...DEFAULT_VIEW, layer: 0, head: 'mean', direction: 'key', selected: { row: i, col: 2 * i } });
      key.push(performance.now() - t0);
    }
    notes.push(`View maths per redraw at 3 601 tokens (60×60 patches, 6 heads): CLS row ${median(cls).toFixed(2)} ms, a patch as query ${median(query).toFixed(2)} ms, as key ${median(key).toFixed(2)} ms (median of 21; drawing the 224² canvas is extra and not measured here).`);
  }
  progress('WASM threads, memory budget, class maps');
  // What WASM threads would give if the webview were cross-origin isolated (VS Code's are not).
  for (const r of node.filter((x) => /^ViT-[SB]\/16/.test(x.name))) {
    const t2 = JSON.parse(execFileSync(process.execPath, ['--import', 'tsx', path.join(__dirname, 'wasmThreads.ts'), r.file, '2', String(RUNS)], { encoding: 'utf8', timeout: 600_000 }).trim().split('\n').pop()!) as { median: number };
    notes.push(`${r.name} with WASM threads (2, as a cross-origin-isolated page would get; Node, fresh process): ${ms(t2.median)} vs ${ms(r.webPlain)} single-threaded, **${(t2.median / r.native).toFixed(1)}×** native.`);
  }
  // V8's tier-up: the host thread's first runs of a model against its later ones, and with every function optimized first.
  {
    const bundled = path.join(ROOT, 'models/vit-tiny-imagenet.onnx');
    const tierUp = (flags: string[]) => JSON.parse(execFileSync(process.execPath, [...flags, '--import', 'tsx', path.join(__dirname, 'wasmTierUp.ts'), bundled, '2', '30'], { encoding: 'utf8', timeout: 600_000 }).trim().split('\n').pop()!) as { sessionMs: number; runs: number[] };
    const lazy = tierUp([]);
    const eager = tierUp(['--no-liftoff']);
    notes.push(`WebAssembly tier-up, the bundled ViT-Ti/16 instrumented in a fresh Node process with the host thread's 2 WASM threads, 30 runs back to back: V8's default (baseline code first, a function optimized once it has run enough) runs 2–4 ${ms(median(lazy.runs.slice(1, 4)))}, runs 11–13 ${ms(median(lazy.runs.slice(10, 13)))}, runs 26–30 ${ms(median(lazy.runs.slice(25)))} (session ${ms(lazy.sessionMs)}); every function optimized before it first runs (--no-liftoff, a process-wide V8 flag an extension cannot set): runs 2–4 ${ms(median(eager.runs.slice(1, 4)))}, runs 26–30 ${ms(median(eager.runs.slice(25)))}, session ${ms(eager.sessionMs)} and first run ${ms(eager.runs[0])}. The first images a user visualizes run at the early figure.`);
  }
  const big = path.join(CACHE, 'vit-s8-480.onnx');
  if (existsSync(big)) {
    // Peak memory needs a fresh process per case: WASM memory only grows.
    const peak = (mode: string) => JSON.parse(execFileSync(process.execPath, ['--import', 'tsx', path.join(__dirname, 'peakMemory.ts'), big, mode, '512'], { encoding: 'utf8', timeout: 600_000 }).trim().split('\n').pop()!) as { peakMB: number; ms: number; outBytes: number };
    const plain = peak('plain');
    const budget = peak('budget');
    const m = prepareModel(new Uint8Array(readFileSync(big)), 'vit-s8-480.onnx', 'k', {}, 512 * 2 ** 20);
    notes.push(`Memory budget at 3 601 tokens (ViT-S/8 at 480 px, random weights; full attention would be ${(fullAttentionBytes(m.structure)! / 2 ** 20).toFixed(0)} MiB over the default 512 MiB): process peak ${plain.peakMB.toFixed(0)} MiB plain vs ${budget.peakMB.toFixed(0)} MiB instrumented (**${(budget.peakMB / plain.peakMB).toFixed(2)}×**; CLS rows, in-graph rollout and head distances, ${(budget.outBytes / 1e6).toFixed(2)} MB out of the graph); run ${(plain.ms / 1000).toFixed(1)} s vs ${(budget.ms / 1000).toFixed(1)} s. One run each, fresh processes.`);
  }
  const classMaps = await classMapsSection(classMapModels(CACHE));
  const vsix = path.join(ROOT, 'dist/vit-lens.vsix');
  if (existsSync(vsix)) notes.push(`.vsix: ${(statSync(vsix).size / 2 ** 20).toFixed(1)} MiB.`);
  const machine = `${os.cpus()[0]?.model ?? 'cpu'} × ${os.cpus().length}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, Node ${process.version}, onnxruntime-web/-node 1.30`;
  const out = `# ViT Lens benchmark

Measured ${new Date().toISOString().slice(0, 10)} on ${machine}. Medians of interleaved runs at 224×224 (${node.map((r) => r.runs).join('/')} runs, about 2 s of samples and at least ${RUNS} per model).
Web = onnxruntime-web WASM, 1 thread (a VS Code webview is not cross-origin isolated), in Node and in headless Chromium (the panel's own worker bundle); native = onnxruntime-node, 2 threads. The two places a model runs (vitLens.runModelIn), side by side: the panel's worker (Chromium instrumented) and the extension host's model thread (a Node worker thread, instrumented model, round trip with every output; first = bytes to the thread, session and the first run).

| model | Node web plain | Node web instrumented | instrumented / plain | Chromium plain | Chromium instrumented | instrumented / plain (Chromium) | native plain | Node web / native | Chromium / native | host thread instrumented | host thread / Chromium instrumented |
|---|---|---|---|---|---|---|---|---|---|---|---|
${rows.join('\n')}

${notes.map((n) => `- ${n}`).join('\n')}

${classMaps}`;
  console.log(out);
  // Keep the VS Code line that `npm run bench:vscode` adds (it needs a packaged extension and code-server).
  const resultsFile = path.join(ROOT, 'bench/RESULTS.md');
  // …and the reading of it, both places side by side, written by hand from that line.
  const kept = existsSync(resultsFile) ? [...readFileSync(resultsFile, 'utf8').matchAll(/^- (Visualize Active Image to first heatmap|Both places side by side).*$/gm)].map((m) => m[0]) : [];
  writeFileSync(resultsFile, kept.length ? `${out.trimEnd()}\n${kept.join('\n')}\n` : out);
}
void main();
