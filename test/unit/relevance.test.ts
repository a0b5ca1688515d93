/**
 * Attention × gradient, Chefer et al.'s relevance rollout, Grad-CAM on tokens and class differences against PyTorch
 * autograd references (scripts/make_relevance_refs.py → test/fixtures/relevance), plus small hand-worked cases.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import type { AttentionLayer } from '../../src/shared/attentionMaps';
import {
  attentionGradientMap,
  attentionTimesGradient,
  classDifference,
  gradCamTokens,
  gradientRollout,
  minMax,
  relevanceMatrix,
  type RelevanceStart,
  type TokenFeatures,
} from '../../src/shared/relevance';
import { readFloat32, ROOT } from '../support/fixtures';

const DIR = path.join(ROOT, 'test/fixtures/relevance');

interface RefCase {
  case: string;
  prefix: number;
  classes: number[];
  starts: Record<string, number[] | 'mean'>;
  tokens: number;
  heads: number;
  layers: number;
  dim: number;
  bin: string;
  arrays: Record<string, { offset: number; shape: number[] }>;
}
const meta = JSON.parse(readFileSync(path.join(DIR, 'expected.json'), 'utf8')) as { grid: [number, number]; cases: RefCase[] };
const grid = { rows: meta.grid[0], cols: meta.grid[1] };

function loader(c: RefCase) {
  const all = readFloat32(path.join(DIR, c.bin));
  return (key: string): Float32Array => {
    const a = c.arrays[key];
    assert.ok(a, `${c.case}: no array ${key}`);
    return all.subarray(a.offset, a.offset + a.shape.reduce((x, y) => x * y, 1));
  };
}

/** [L, H, T, T] → per-layer AttentionLayer. */
function layersOf(data: Float32Array, c: RefCase): AttentionLayer[] {
  const n = c.heads * c.tokens * c.tokens;
  return Array.from({ length: c.layers }, (_, l) => ({ heads: c.heads, tokens: c.tokens, data: data.slice(l * n, (l + 1) * n) }));
}

// Worst error over every reference comparison, reported as a diagnostic.
const worst = { abs: 0, rel: 0, count: 0 };
function near(got: ArrayLike<number>, want: ArrayLike<number>, what: string): void {
  assert.equal(got.length, want.length, `${what}: length`);
  for (let i = 0; i < want.length; i++) {
    const d = Math.abs(got[i] - want[i]);
    assert.ok(Number.isFinite(got[i]) && d <= Math.max(1e-5, 1e-4 * Math.abs(want[i])), `${what}[${i}]: ${got[i]} ≠ ${want[i]}`);
    worst.abs = Math.max(worst.abs, d);
    if (Math.abs(want[i]) > 1e-3) worst.rel = Math.max(worst.rel, d / Math.abs(want[i]));
    worst.count++;
  }
}

const maxDiff = (a: ArrayLike<number>, b: ArrayLike<number>) => Array.from(a).reduce((m, x, i) => Math.max(m, Math.abs(x - b[i])), 0);

for (const c of meta.cases) {
  const get = loader(c);
  const A = layersOf(get('attention'), c);
  const N = c.tokens - c.prefix;

  for (const cls of c.classes) {
    const dA = layersOf(get(`c${cls}.attnGrad`), c);
    const k = (s: string) => get(`c${cls}.${s}`);

    test(`${c.case} class ${cls}: (∇A ⊙ A)⁺ per layer, head and query row equals PyTorch`, () => {
      const rows = k('attnGradRows'); // [L, H+1, T, N]
      for (let l = 0; l < c.layers; l++) {
        for (let h = 0; h <= c.heads; h++) {
          const head = h === c.heads ? 'mean' : h;
          for (let q = 0; q < c.tokens; q++) {
            const off = ((l * (c.heads + 1) + h) * c.tokens + q) * N;
            near(attentionGradientMap(A, dA, l, head, { prefix: c.prefix, query: q, grid }), rows.subarray(off, off + N), `L${l} h${head} q${q}`);
          }
        }
      }
    });

    test(`${c.case} class ${cls}: Chefer relevance matrix and maps equal PyTorch`, () => {
      near(relevanceMatrix(A, dA), k('relevanceMatrix'), 'R');
      for (const [name, rows] of Object.entries(c.starts)) {
        const start: RelevanceStart = rows === 'mean' ? 'mean' : rows.length === 1 ? rows[0] : rows;
        const r = gradientRollout(A, dA, { prefix: c.prefix, start, grid });
        near(r.raw, k(`relevance.${name}.raw`), `${name} raw`);
        near(r.normalized, k(`relevance.${name}.normalized`), `${name} normalized`);
        assert.equal(Math.min(...r.normalized), 0);
        assert.equal(Math.max(...r.normalized), 1);
      }
    });

    test(`${c.case} class ${cls}: Grad-CAM on the last norm1 equals pytorch-grad-cam`, () => {
      const D = c.dim;
      const feats: TokenFeatures = { tokens: c.tokens, dim: D, data: k('features') };
      const grads: TokenFeatures = { tokens: c.tokens, dim: D, data: k('featureGrads') };
      const cam = gradCamTokens(feats, grads, c.prefix, grid);
      near(cam.weights, k('gradcam.weights'), 'weights');
      near(cam.raw, k('gradcam.raw'), 'raw');
      near(cam.normalized, k('gradcam.normalized'), 'normalized');
      assert.ok(cam.normalized.every((v) => v >= 0 && v <= 1));
    });
  }

  test(`${c.case}: the two classes give different maps`, () => {
    const [a, b] = c.classes;
    const dAa = layersOf(get(`c${a}.attnGrad`), c);
    const dAb = layersOf(get(`c${b}.attnGrad`), c);
    const last = c.layers - 1;
    assert.ok(maxDiff(attentionGradientMap(A, dAa, last, 'mean', { prefix: c.prefix }), attentionGradientMap(A, dAb, last, 'mean', { prefix: c.prefix })) > 1e-4);
    const start = Object.values(c.starts)[0] === 'mean' ? 'mean' : 0;
    const ra = gradientRollout(A, dAa, { prefix: c.prefix, start });
    const rb = gradientRollout(A, dAb, { prefix: c.prefix, start });
    const d = classDifference(ra.normalized, rb.normalized);
    assert.ok(d.maxAbs > 0.3, `relevance maps differ by ${d.maxAbs}`);
    const feats = (cls: number, s: string): TokenFeatures => ({ tokens: c.tokens, dim: c.dim, data: get(`c${cls}.${s}`) });
    const ga = gradCamTokens(feats(a, 'features'), feats(a, 'featureGrads'), c.prefix);
    const gb = gradCamTokens(feats(b, 'features'), feats(b, 'featureGrads'), c.prefix);
    assert.ok(maxDiff(ga.normalized, gb.normalized) > 0.3);
  });
}

test('reference comparisons stayed within 1e-5 absolute or 1e-4 relative', (t) => {
  // Runs after the reference tests in this file (node:test runs top-level tests in order).
  assert.ok(worst.count > 10000, `${worst.count} values compared`);
  t.diagnostic(`${worst.count} values, max abs error ${worst.abs.toExponential(2)}, max rel error (|ref| > 1e-3) ${worst.rel.toExponential(2)}`);
});

test('a flat Grad-CAM (ReLU kills every patch) normalizes to zeros, not NaN', () => {
  const c = meta.cases.find((x) => x.case === 'deit-distilled')!;
  const get = loader(c);
  const feats = (cls: number, s: string): TokenFeatures => ({ tokens: c.tokens, dim: c.dim, data: get(`c${cls}.${s}`) });
  const cams = c.classes.map((cls) => gradCamTokens(feats(cls, 'features'), feats(cls, 'featureGrads'), c.prefix));
  const flat = cams.find((g) => g.raw.every((v) => v === 0));
  assert.ok(flat, 'the fixture holds one class whose CAM is all negative');
  assert.ok(flat.signed.every((v) => v <= 0));
  assert.deepEqual(Array.from(flat.normalized), new Array(16).fill(0));
});

// Hand-made 2 tokens, 2 layers. Layer 0 (1 head): A = [[.6,.4],[.3,.7]], ∇A = [[1,-1],[2,.5]]
//   → ∇A⊙A = [[.6,-.4],[.6,.35]] → Ā0 = [[.6,0],[.6,.35]];  R1 = I + Ā0·I = [[1.6,0],[.6,1.35]].
// Layer 1 (2 heads): head 0 A = [[.5,.5],[.5,.5]], ∇A = [[1,1],[0,-2]] → clip [[.5,.5],[0,0]];
//   head 1 A = [[.2,.8],[.9,.1]], ∇A = [[-1,.5],[1,1]] → clip [[0,.4],[.9,.1]];  Ā1 = mean = [[.25,.45],[.45,.05]].
//   Ā1·R1 = [[.25·1.6+.45·.6, .45·1.35],[.45·1.6+.05·.6, .05·1.35]] = [[.67,.6075],[.75,.0675]]
//   R2 = R1 + Ā1·R1 = [[2.27,.6075],[1.35,1.4175]].
const handA: AttentionLayer[] = [
  { heads: 1, tokens: 2, data: Float32Array.from([0.6, 0.4, 0.3, 0.7]) },
  { heads: 2, tokens: 2, data: Float32Array.from([0.5, 0.5, 0.5, 0.5, /**/ 0.2, 0.8, 0.9, 0.1]) },
];
const handG: AttentionLayer[] = [
  { heads: 1, tokens: 2, data: Float32Array.from([1, -1, 2, 0.5]) },
  { heads: 2, tokens: 2, data: Float32Array.from([1, 1, 0, -2, /**/ -1, 0.5, 1, 1]) },
];
const closeTo = (a: ArrayLike<number>, b: number[], eps = 1e-6) => {
  assert.equal(a.length, b.length);
  for (let i = 0; i < b.length; i++) assert.ok(Math.abs(a[i] - b[i]) < eps, `[${i}] ${a[i]} ≠ ${b[i]}`);
};

test('hand-made: (∇A ⊙ A)⁺ clips negatives before the head mean', () => {
  closeTo(attentionTimesGradient(handA, handG, 0, 0).data, [0.6, 0, 0.6, 0.35]);
  closeTo(attentionTimesGradient(handA, handG, 1, 1).data, [0, 0.4, 0.9, 0.1]);
  closeTo(attentionTimesGradient(handA, handG, 1, 'mean').data, [0.25, 0.45, 0.45, 0.05]);
  closeTo(attentionGradientMap(handA, handG, 1, 'mean', { prefix: 1, query: 1 }), [0.05]);
});

test('hand-made: R accumulates as R ← R + Ā·R through two layers', () => {
  closeTo(relevanceMatrix(handA, handG, 0), [1.6, 0, 0.6, 1.35]);
  closeTo(relevanceMatrix(handA, handG), [2.27, 0.6075, 1.35, 1.4175]);
  const r = gradientRollout(handA, handG, { prefix: 0 });
  closeTo(r.row, [2.27, 0.6075]);
  closeTo(r.normalized, [1, 0]);
  closeTo(gradientRollout(handA, handG, { prefix: 1 }).raw, [0.6075]);
  closeTo(gradientRollout(handA, handG, { prefix: 0, start: 1 }).raw, [1.35, 1.4175]);
  closeTo(gradientRollout(handA, handG, { prefix: 0, start: 'mean' }).raw, [1.81, 1.0125]); // mean of both rows
  closeTo(gradientRollout(handA, handG, { prefix: 1, start: 'mean' }).raw, [1.4175]); // patch rows only
  closeTo(gradientRollout(handA, handG, { prefix: 0, start: [0, 1] }).raw, [1.81, 1.0125]);
  closeTo(gradientRollout(handA, handG, { prefix: 0, upToLayer: 0 }).raw, [1.6, 0]);
});

test('negative gradients are clipped: flipping ∇A changes the maps, and the two halves rebuild ∇A ⊙ A', () => {
  const c = meta.cases[0];
  const get = loader(c);
  const A = layersOf(get('attention'), c);
  const dA = layersOf(get(`c${c.classes[0]}.attnGrad`), c);
  const flipped = dA.map((g) => ({ ...g, data: g.data.map((v) => -v) }));
  const o = { prefix: c.prefix, grid };
  for (let l = 0; l < c.layers; l++) {
    for (let h = 0; h < c.heads; h++) {
      const pos = attentionGradientMap(A, dA, l, h, o);
      const neg = attentionGradientMap(A, flipped, l, h, o);
      assert.ok(maxDiff(pos, neg) > 1e-4, `layer ${l} head ${h} unchanged by the sign flip`);
      for (let j = 0; j < pos.length; j++) {
        assert.ok(pos[j] === 0 || neg[j] === 0, 'a product is positive for at most one sign');
        const i = (h * c.tokens + 0) * c.tokens + c.prefix + j;
        assert.ok(Math.abs(pos[j] - neg[j] - A[l].data[i] * dA[l].data[i]) < 1e-7);
      }
    }
  }
  const r = gradientRollout(A, dA, o).normalized;
  assert.ok(maxDiff(r, gradientRollout(A, flipped, o).normalized) > 0.1);
});

test('class difference: signed, positive and negative parts', () => {
  const d = classDifference([0.2, 0.8, 0.5], [0.6, 0.1, 0.5]);
  closeTo(d.signed, [-0.4, 0.7, 0]);
  closeTo(d.positive, [0, 0.7, 0]);
  closeTo(d.negative, [0.4, 0, 0]);
  assert.ok(Math.abs(d.maxAbs - 0.7) < 1e-6);
  assert.equal(classDifference([1, 2], [1, 2]).maxAbs, 0);
  assert.throws(() => classDifference([1], [1, 2]), /cannot be compared/);
});

test('min-max normalization, and shapes that cannot be mapped are refused', () => {
  closeTo(minMax([2, 4, 3]), [0, 1, 0.5]);
  closeTo(minMax([3, 3]), [0, 0]);
  assert.throws(() => attentionGradientMap(handA, handG, 0, 0, { prefix: 0, grid: { rows: 2, cols: 2 } }), /do not fill a 2×2 grid/);
  assert.throws(() => attentionTimesGradient(handA, handG, 0, 1), /head 1 does not exist/);
  assert.throws(() => attentionTimesGradient(handA, [handG[1], handG[0]], 0, 0), /does not match/);
  assert.throws(() => gradientRollout(handA, handG.slice(0, 1), { prefix: 0 }), /2 attention layers but 1 gradients/);
  assert.throws(() => gradientRollout(handA, handG, { prefix: 0, start: 2 }), /not tokens/);
  const clsOnly = { heads: 1, tokens: 2, queries: 1, data: Float32Array.from([0.6, 0.4]) };
  assert.throws(() => gradientRollout([clsOnly], [clsOnly], { prefix: 1 }), /needs full attention matrices/);
  closeTo(attentionGradientMap([clsOnly], [clsOnly], 0, 'mean', { prefix: 1 }), [0.16]); // a CLS-row tap still maps
  const f = { tokens: 3, dim: 2, data: new Float32Array(6) };
  assert.throws(() => gradCamTokens(f, { tokens: 3, dim: 1, data: new Float32Array(3) }, 1), /does not match/);
});

test('Grad-CAM by hand: weights are the mean gradient over patch tokens only', () => {
  // 1 prefix + 2 patches, D = 2. Prefix gradient [100, 100] must not enter the weights.
  const feats = { tokens: 3, dim: 2, data: Float32Array.from([9, 9, /**/ 1, 2, /**/ 3, -1]) };
  const grads = { tokens: 3, dim: 2, data: Float32Array.from([100, 100, /**/ 1, 0, /**/ 0, -2]) };
  const cam = gradCamTokens(feats, grads, 1);
  closeTo(cam.weights, [0.5, -1]); // mean of [1,0] and [0,-2]
  closeTo(cam.signed, [0.5 * 1 - 2, 0.5 * 3 + 1]); // [-1.5, 2.5]
  closeTo(cam.raw, [0, 2.5]);
  closeTo(cam.normalized, [0, 1], 1e-6);
});
