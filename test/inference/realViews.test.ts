/**
 * The teaching views ("ideas" panel) on the real ImageNet ViT-Ti/16, against numbers computed independently in
 * numpy from the PyTorch model (models/reference/vit-tiny-imagenet/views.json, scripts/make_real_vit.py).
 * Thresholds come from views.json, not from our own output.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createSession, runModel } from '../../src/cli/runModel';
import { positionEmbeddingSimilarity } from '../../src/shared/locality';
import { pca } from '../../src/shared/pca';
import { headDistances } from '../../src/webview/distanceView';
import { maxAbsDiff } from '../support/fixtures';
import { realIndex, realModel, realReference, realViews } from '../support/realModel';

const views = realViews();
const index = realIndex();
const model = realModel();

test('position-embedding similarity: row / column / other pair means equal numpy within 1e-4; rows and columns stand out', () => {
  const pos = model.parameters?.positionEmbedding;
  const g = model.structure.grid;
  assert.ok(pos && g, 'the position embedding and the patch grid are found in the graph');
  const N = g.rows * g.cols;
  // As ideasView.ts calls it (prefix = tokens − patches).
  const sim = positionEmbeddingSimilarity(pos.data, pos.tokens, pos.width, pos.tokens - N);
  const sums = { row: 0, col: 0, neither: 0, adjacent: 0, all: 0 };
  const counts = { row: 0, col: 0, neither: 0, adjacent: 0, all: 0 };
  let top1 = 0, top4 = 0;
  for (let i = 0; i < N; i++) {
    const ri = Math.floor(i / g.cols), ci = i % g.cols;
    const others: number[] = [];
    for (let j = 0; j < N; j++) {
      if (i === j) continue;
      const rj = Math.floor(j / g.cols), cj = j % g.cols;
      const s = sim[i * N + j];
      const kind = ri === rj ? 'row' : ci === cj ? 'col' : 'neither';
      sums[kind] += s;
      counts[kind]++;
      sums.all += s;
      counts.all++;
      if (Math.abs(ri - rj) + Math.abs(ci - cj) === 1) { sums.adjacent += s; counts.adjacent++; }
      others.push(j);
    }
    others.sort((a, b) => sim[i * N + b] - sim[i * N + a]);
    const inLine = (j: number) => Math.floor(j / g.cols) === ri || j % g.cols === ci;
    top1 += inLine(others[0]) ? 1 : 0;
    top4 += others.slice(0, 4).filter(inLine).length / 4;
  }
  const ref = views.positionEmbedding;
  const mine = { sameRow: sums.row / counts.row, sameColumn: sums.col / counts.col, neither: sums.neither / counts.neither, adjacent: sums.adjacent / counts.adjacent, allPairs: sums.all / counts.all };
  for (const [k, v] of Object.entries(mine)) {
    const r = ref[k as keyof typeof mine];
    assert.ok(Math.abs(v - r) <= 1e-4, `${k}: ours ${v}, numpy ${r}`);
  }
  assert.ok(mine.sameRow > mine.neither + 0.2 && mine.sameColumn > mine.neither + 0.2, `row ${mine.sameRow}, column ${mine.sameColumn}, other ${mine.neither}`);
  // The panel's sentence ("learned that neighbouring patches belong together") needs adjacent > all + 0.05.
  assert.ok(mine.adjacent > mine.allPairs + 0.05);
  // Ranking can only move where fp16 storage swaps near-ties: one patch in four at most for the top-4 fraction.
  assert.ok(Math.abs(top1 / N - ref.top1InRowOrColumn) <= 1 / N, `top-1 in row/column: ${top1 / N} vs ${ref.top1InRowOrColumn}`);
  assert.ok(Math.abs(top4 / N - ref.top4InRowOrColumn) <= 1 / N, `top-4 in row/column: ${top4 / N} vs ${ref.top4InRowOrColumn}`);
  assert.ok(ref.top4InRowOrColumn > 3 * ref.chanceInRowOrColumn);
  console.log(`position embedding: row ${mine.sameRow.toFixed(4)}, column ${mine.sameColumn.toFixed(4)}, other ${mine.neither.toFixed(4)}; max |Δ| vs numpy ${Math.max(...Object.entries(mine).map(([k, v]) => Math.abs(v - ref[k as keyof typeof mine]))).toExponential(2)}`);
});

/** Fraction of the energy of a [3,P,P] component's per-channel 2-D DFT at max(|fx|,|fy|) ≤ `cut` cycles per patch. */
function lowFrequencyFraction(v: ArrayLike<number>, P: number, cut: number): number {
  let low = 0, total = 0;
  for (let c = 0; c < 3; c++) {
    for (let u = 0; u < P; u++) for (let w = 0; w < P; w++) {
      let re = 0, im = 0;
      for (let y = 0; y < P; y++) for (let x = 0; x < P; x++) {
        const a = (-2 * Math.PI * (u * y + w * x)) / P;
        const t = v[c * P * P + y * P + x];
        re += t * Math.cos(a);
        im += t * Math.sin(a);
      }
      const e = re * re + im * im;
      total += e;
      const fu = Math.min(u, P - u), fw = Math.min(w, P - w);
      if (Math.max(fu, fw) <= cut) low += e;
    }
  }
  return low / total;
}

const dot = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
};

test('patch-filter PCA: our leading components and their low-frequency energy equal numpy\'s', () => {
  const f = model.parameters?.patchFilters;
  assert.ok(f, 'patch filters read from the graph');
  const [D, C, P] = f.shape;
  assert.deepEqual(f.shape, [192, 3, 16, 16]);
  // ideasView.ts's filterComponents (not exported; it lives beside DOM code): all D ≤ 256 filters, k = 8, 40 iterations.
  const comps = pca(f.data, D, C * P * P, 8, 40).components;
  const ref = views.filters;
  const mine = comps.slice(0, 3).map((v) => lowFrequencyFraction(v, P, 2));
  // PC1 and PC2 are well separated (variance ratios 0.54, 0.83): the same direction as numpy's.
  for (const k of [0, 1]) assert.ok(Math.abs(dot(comps[k], ref.components[k])) > 0.999, `PC${k + 1}: |cos| ${Math.abs(dot(comps[k], ref.components[k]))}`);
  // PC3 and PC4 have almost equal variance (ratio 0.985): 40 power iterations return a vector in their span.
  const inSpan = Math.hypot(dot(comps[2], ref.components[2]), dot(comps[2], ref.components[3]));
  assert.ok(inSpan > 0.99, `PC3 lies in numpy's PC3–PC4 plane: ${inSpan}`);
  const tol = [0.005, 0.005, 0.03];
  mine.forEach((m, k) => assert.ok(Math.abs(m - ref.lowFrequencyFraction[k]) <= tol[k], `PC${k + 1} low-frequency fraction: ours ${m}, numpy ${ref.lowFrequencyFraction[k]}`));
  // The paper's "low-frequency basis" picture holds for PC3 only on this checkpoint: PC1 and PC2 put less energy at
  // low frequency than white noise would (PC2 is dominated by the 8-cycle checkerboard). Same side of noise as numpy.
  const noise = ref.whiteNoiseFraction;
  assert.ok(Math.abs(noise - 25 / 256) < 1e-12);
  mine.forEach((m, k) => assert.equal(m > noise, ref.lowFrequencyFraction[k] > noise, `PC${k + 1} on the same side of the noise level`));
  const best = Math.max(...ref.lowFrequencyFraction);
  assert.ok(best > 5 * noise, `numpy: some leading component is clearly low-frequency (${best} vs noise ${noise})`);
  assert.ok(Math.max(...mine) > 5 * noise, `ours: ${mine.join(', ')} vs noise ${noise}`);
  console.log(`filter PCs low-frequency fraction: ours ${mine.map((m) => m.toFixed(3)).join(', ')}; numpy ${ref.lowFrequencyFraction.map((m) => m.toFixed(3)).join(', ')}; noise ${noise.toFixed(4)}`);
});

test('mean attention distance on cat_tabby (ONNX run): equals numpy within the fp16 tolerance; early layers local, last layers global', async () => {
  const f = index.fixtures.find((x) => x.name === 'cat_tabby');
  assert.ok(f);
  const session = await createSession(model);
  const run = await runModel(session, model, realReference(f).input);
  const mine = headDistances(model, run.layers);
  assert.ok(mine, 'distances computed from the full attention');
  const ref = views.attentionDistance.fixtures.cat_tabby;
  assert.equal(mine.length, ref.length);
  // Tolerance from index.json: 2 × the distance change fp16 weights make in PyTorch over the sample photos.
  const tol = index.tolerance.distancePx;
  mine.forEach((hs, l) => assert.ok(maxAbsDiff(hs, ref[l]) <= tol, `layer ${l}: ${maxAbsDiff(hs, ref[l])} px > ${tol}`));
  // Threshold halfway between the reference's most local head in the first three layers and in the last three.
  const L = ref.length;
  const minOf = (ls: number[]) => ls.map((l) => Math.min(...ref[l]));
  const early = minOf([0, 1, 2]), late = minOf([L - 3, L - 2, L - 1]);
  const threshold = (Math.max(...early) + Math.min(...late)) / 2;
  assert.ok(Math.max(...early) < Math.min(...late), `reference: early ${early}, late ${late}`);
  for (const l of [0, 1, 2]) assert.ok(Math.min(...mine[l]) < threshold, `layer ${l} has a local head (< ${threshold.toFixed(1)} px): ${mine[l].map((d) => d.toFixed(1))}`);
  for (const l of [L - 3, L - 2, L - 1]) assert.ok(Math.min(...mine[l]) > threshold, `layer ${l} has only global heads (> ${threshold.toFixed(1)} px): ${mine[l].map((d) => d.toFixed(1))}`);
  console.log(`max |Δdistance| ${Math.max(...mine.map((hs, l) => maxAbsDiff(hs, ref[l]))).toExponential(2)} px; threshold ${threshold.toFixed(1)} px; per-layer min head distance ${mine.map((hs) => Math.min(...hs).toFixed(0)).join(' ')}`);
});
