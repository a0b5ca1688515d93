/**
 * A new panel's start handed over to the extension host (src/host/startInHost.ts, src/webview/handOver.ts): which
 * runs go to the host, when the page takes the model over, and the check of the page's logits against the host's.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { START_IN_HOST_MAX_BYTES, StartInHost } from '../../src/host/startInHost';
import { compareLogits, handOver, type HandOverCheck } from '../../src/webview/handOver';

const inPanel = { runModelIn: 'webview' as const, startInExtensionHost: true, backend: 'auto' as const };
const SMALL = 11e6;

test('a new page: a small model runs in the host until the page says it has its own session, then in the page', () => {
  const p = new StartInHost();
  assert.deepEqual(p.place(inPanel, 'vit-ti', SMALL), { runIn: 'extensionHost', handOver: true });
  // The next image before the page has its session: still the host's (its session is warm, the page's is not).
  assert.deepEqual(p.place(inPanel, 'vit-ti', SMALL), { runIn: 'extensionHost', handOver: true });
  p.pageSession('vit-ti');
  assert.deepEqual(p.place(inPanel, 'vit-ti', SMALL), { runIn: 'webview', handOver: false });
  // Another model on a page that runs its own: the page's (the host would only add a second session to create).
  assert.deepEqual(p.place(inPanel, 'deit', SMALL), { runIn: 'webview', handOver: false });
  // Back to the first model: the page still holds a session it made.
  assert.deepEqual(p.place(inPanel, 'vit-ti', SMALL), { runIn: 'webview', handOver: false });
});

test('a page written anew (another panel, a reload) starts in the host again; a page session from before does not count', () => {
  const p = new StartInHost();
  p.place(inPanel, 'vit-ti', SMALL);
  p.pageSession('vit-ti');
  assert.equal(p.place(inPanel, 'vit-ti', SMALL).runIn, 'webview');
  p.newPage();
  assert.deepEqual(p.place(inPanel, 'vit-ti', SMALL), { runIn: 'extensionHost', handOver: true });
});

test('large models, the setting off, or a page already running its own model: the page; runModelIn = extensionHost: always the host', () => {
  assert.deepEqual(new StartInHost().place(inPanel, 'vit-b', 346e6), { runIn: 'webview', handOver: false });
  assert.equal(new StartInHost().place(inPanel, 'edge', START_IN_HOST_MAX_BYTES).runIn, 'extensionHost');
  assert.equal(new StartInHost().place(inPanel, 'edge', START_IN_HOST_MAX_BYTES + 1).runIn, 'webview');
  assert.deepEqual(new StartInHost().place({ ...inPanel, startInExtensionHost: false }, 'vit-ti', SMALL), { runIn: 'webview', handOver: false });
  // WebGPU asked for by name: the first run is the GPU's too (with 'wasm' the host's WASM is the same backend).
  assert.deepEqual(new StartInHost().place({ ...inPanel, backend: 'webgpu' }, 'vit-ti', SMALL), { runIn: 'webview', handOver: false });
  assert.equal(new StartInHost().place({ ...inPanel, backend: 'wasm' }, 'vit-ti', SMALL).runIn, 'extensionHost');
  const p = new StartInHost();
  assert.equal(p.place(inPanel, 'vit-b', 346e6).runIn, 'webview');
  assert.equal(p.place(inPanel, 'vit-ti', SMALL).runIn, 'webview', 'the page has run a model of its own: it is not starting');
  const h = new StartInHost();
  assert.deepEqual(h.place({ ...inPanel, runModelIn: 'extensionHost' }, 'vit-b', 346e6), { runIn: 'extensionHost', handOver: false });
  h.pageSession('vit-b');
  assert.equal(h.place({ ...inPanel, runModelIn: 'extensionHost', startInExtensionHost: false }, 'vit-b', 346e6).runIn, 'extensionHost');
});

test("the page's logits against the host's: float rounding agrees, another image's or a shifted class's does not", () => {
  const host = Float32Array.from({ length: 1000 }, (_, i) => Math.sin(i) * 8);
  assert.deepEqual(compareLogits(host, host), { maxDiff: 0, agree: true });
  const rounded = host.map((v, i) => v + (i % 2 ? 1e-4 : -1e-4));
  const r = compareLogits(rounded, host);
  assert.ok(r.agree && r.maxDiff > 0 && r.maxDiff < 2e-4, JSON.stringify(r));
  // Off by one class: the same values, one index later.
  const shifted = Float32Array.from(host, (_, i) => host[(i + 1) % host.length]);
  assert.equal(compareLogits(shifted, host).agree, false);
  assert.equal(compareLogits(host.subarray(1), host).agree, false);
  assert.equal(compareLogits([], []).agree, false);
});

test('handOver: holds the bytes, runs in the page, and says done only when the logits agree; once per model at a time', async () => {
  const host = [1, 5, -2, 3];
  const calls: string[] = [];
  let done: HandOverCheck | undefined;
  const steps = (page: number[]) => ({
    hold: async () => { calls.push('hold'); },
    runInPage: async () => { calls.push('run'); return page; },
    hostLogits: host,
    done: (c: HandOverCheck) => { done = c; },
  });
  const a = handOver('m', steps([1, 5, -2, 3.00001]));
  const b = handOver('m', steps([9, 9, 9, 9]));
  assert.equal(a, b, 'a second hand-over of the same model while one runs waits for it');
  const check = await a;
  assert.deepEqual(calls, ['hold', 'run']);
  assert.ok(check?.agree && done === check);
  done = undefined;
  assert.equal(await handOver('m', steps([5, 1, -2, 3])), undefined, 'other logits: the model stays in the host');
  assert.equal(done, undefined);
  const failing = { ...steps(host), runInPage: async (): Promise<number[]> => { throw new Error('no WASM'); } };
  assert.equal(await handOver('m', failing), undefined);
  assert.equal(done, undefined);
});
