/**
 * "Why this class" in the real webview (headless Chromium): occlusion for a chosen class, run in the page's worker
 * in batches, equals the same computation in Node on the same pixels; "Which map to trust" lists every map with
 * its deletion and insertion areas (occlusion's equal to Node's); Cancel stops a run and the card keeps working.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { decodeImage } from '../../src/cli/imageFile';
import { createSession, logitsBatchRunner } from '../../src/cli/runModel';
import { runFaithfulness } from '../../src/shared/faithfulness';
import { inputSize } from '../../src/shared/modelCard';
import { runOcclusion } from '../../src/shared/occlusion';
import { compositeOnWhite, preprocessRgba, toInputTensor } from '../../src/shared/preprocess';
import { demoModel, ROOT } from '../support/fixtures';
import { Harness, startHarness } from './harness';

let h: Harness;
before(async () => { h = await startHarness(); });
after(async () => h?.close());

const IMAGE = 'test/fixtures/images/shapes-circle.png';
const model = demoModel();

async function nodeSide(classIndex: number) {
  const img = decodeImage(new Uint8Array(readFileSync(path.join(ROOT, IMAGE))), 'shapes-circle.png');
  compositeOnWhite(img.rgba);
  const p = model.card.preprocess;
  const input = toInputTensor(preprocessRgba(img.rgba, img.width, img.height, p), p);
  const { height, width } = inputSize(p);
  const dims = [1, 3, height, width] as const;
  const grid = model.structure.grid!;
  const run = logitsBatchRunner(await createSession(model), model);
  const occ = await runOcclusion(input, dims, grid, model.structure.patchSize, run, { batchSize: 16, classIndex });
  const faith = await runFaithfulness(input, dims, grid, model.structure.patchSize, occ.map, run, { batchSize: 16, classIndex });
  return { occ, faith };
}

const datasetOf = (id: string) => h.page.evaluate((i) => ({ ...document.getElementById(i)!.dataset }), id);

test('occlusion for the second class equals Node\'s; the faithfulness card ranks attention, rollout and occlusion', async () => {
  const bytes = new Uint8Array(readFileSync(path.join(ROOT, IMAGE)));
  await h.post({ type: 'visualize', backend: 'wasm', model, image: { name: 'shapes-circle.png', uri: 'file:///c.png', bytes, mime: 'image/png' } });
  await h.waitForState('done');
  // The second of the top 5, chosen in the card's select.
  const second = await h.page.evaluate(() => {
    const s = document.getElementById('why-class') as HTMLElement & { value: string };
    const v = s.querySelectorAll('vscode-option')[1].getAttribute('value')!;
    s.value = v;
    return Number(v);
  });
  const want = await nodeSide(second);
  await h.page.click('#why-occlusion');
  await h.page.waitForFunction(() => !!document.getElementById('why-out')!.dataset.map);
  const got = await datasetOf('why-out');
  assert.equal(Number(got.classIndex), second);
  const map = got.map!.split(',').map(Number);
  const diff = Math.max(...map.map((v, i) => Math.abs(v - want.occ.map[i])));
  assert.ok(diff <= 1e-5, `occlusion differs from Node by ${diff}`);
  assert.match(await h.page.locator('#why-text').textContent() ?? '', /Blanking one patch \(to the training mean\) lowers it by up to/);

  await h.page.click('#why-trust');
  await h.page.waitForSelector('#why-ranking li:nth-child(3)');
  const items = await h.page.evaluate(() => [...document.querySelectorAll('#why-ranking li')].map((li) => ({ ...(li as HTMLElement).dataset })));
  assert.deepEqual(items.map((i) => i.name).sort(), ['attention (last layer)', 'occlusion', 'rollout']);
  const occ = items.find((i) => i.name === 'occlusion')!;
  assert.ok(Math.abs(Number(occ.deletion) - want.faith.deletionAuc) <= 1e-5, `deletion AUC ${occ.deletion} vs ${want.faith.deletionAuc}`);
  assert.ok(Math.abs(Number(occ.insertion) - want.faith.insertionAuc) <= 1e-5, `insertion AUC ${occ.insertion} vs ${want.faith.insertionAuc}`);
  assert.match(await h.page.locator('#why-text').textContent() ?? '', /Most faithful: .* deletion AUC/);
  // The curves were drawn: the canvas has painted pixels.
  const painted = await h.page.evaluate(() => {
    const c = document.getElementById('why-curves') as HTMLCanvasElement;
    const d = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
    let n = 0;
    for (let i = 3; i < d.length; i += 4) if (d[i] > 0) n++;
    return n;
  });
  assert.ok(painted > 300, `${painted} painted pixels`);
});

test('Cancel stops an occlusion run with a message; the next run completes; an unknown class name is refused', async () => {
  await h.page.click('#why-occlusion');
  await h.page.click('#why-cancel');
  await h.page.waitForFunction(() => document.getElementById('why-out')!.dataset.error === 'cancelled');
  assert.match(await h.page.locator('#why-text').textContent() ?? '', /Occlusion cancelled\./);
  await h.page.evaluate(() => { delete document.getElementById('why-out')!.dataset.map; });
  await h.page.click('#why-occlusion');
  await h.page.waitForFunction(() => !!document.getElementById('why-out')!.dataset.map);
  await h.page.fill('#why-class-name', 'no such class');
  await h.page.click('#why-occlusion');
  await h.page.waitForFunction(() => document.getElementById('why-out')!.dataset.error === 'true');
  assert.match(await h.page.locator('#why-text').textContent() ?? '', /"no such class" is not one of this model's \d+ class names/);
});

test('the inspector shows the selected patch in the class map; Export JSON and the card\'s Save PNG carry the class', async () => {
  const bytes = new Uint8Array(readFileSync(path.join(ROOT, IMAGE)));
  await h.post({ type: 'visualize', backend: 'wasm', model, image: { name: 'shapes-circle.png', uri: 'file:///c.png', bytes, mime: 'image/png' } });
  await h.waitForState('done');
  await h.page.click('#why-occlusion');
  await h.page.waitForFunction(() => !!document.getElementById('why-out')!.dataset.map);
  const got = await datasetOf('why-out');
  const map = got.map!.split(',').map(Number);
  const label = model.card.labels[Number(got.classIndex)];
  // Select patch (5, 7): the inspector's line gives its occlusion value and rank.
  const { rows, cols } = model.structure.grid!;
  const [r, c] = [5, 7];
  // The card sits below the image: scroll the image back into view before clicking it.
  await h.page.locator('#stack').scrollIntoViewIfNeeded();
  const box = (await h.page.locator('#stack').boundingBox())!;
  await h.page.mouse.click(box.x + ((c + 0.5) / cols) * box.width, box.y + ((r + 0.5) / rows) * box.height);
  await h.page.waitForFunction(([rr, cc]) => (window as unknown as { __posted: { type: string; info?: { patch?: { row: number; col: number; classMap?: unknown } } }[] }).__posted
    .some((m) => m.type === 'viewState' && m.info?.patch?.row === rr && m.info.patch.col === cc && !!m.info.patch.classMap), [r, c]);
  const vs = (await h.posted()).filter((m) => m.type === 'viewState').pop()!;
  assert.ok(vs.type === 'viewState');
  const cm = vs.info.patch!.classMap!;
  const i = r * cols + c;
  assert.equal(cm.what, `Occlusion for ${label}`);
  assert.ok(Math.abs(cm.value - map[i]) <= 1e-5, `${cm.value} vs ${map[i]}`);
  assert.equal(cm.rank, 1 + map.filter((v) => v > map[i] + 1e-6).length);
  assert.equal(cm.of, rows * cols);
  // Export JSON: the class map with its class.
  const exports = async () => (await h.posted()).flatMap((m) => (m.type === 'request' && m.request.kind === 'export' ? [m.request] : []));
  await h.page.locator('#export-json').click();
  await h.page.waitForFunction(() => (window as unknown as { __posted: { request?: { kind: string; format?: string } }[] }).__posted.some((m) => m.request?.kind === 'export' && m.request.format === 'json'));
  const j = (await exports()).filter((m) => m.format === 'json').pop()!;
  const doc = JSON.parse(new TextDecoder().decode(new Uint8Array(Object.values(j.data)))) as { classMap: { kind: string; classIndex: number; label: string; values: number[] } };
  assert.deepEqual([doc.classMap.kind, doc.classMap.classIndex, doc.classMap.label, doc.classMap.values.length], ['occlusion', Number(got.classIndex), label, rows * cols]);
  // The card's Save PNG: one figure, named after the map and the class.
  const before = (await exports()).length;
  await h.page.click('#why-export');
  await h.page.waitForFunction((n) => (window as unknown as { __posted: { request?: { kind: string } }[] }).__posted.filter((m) => m.request?.kind === 'export').length > n, before);
  const png = (await exports()).pop()!;
  assert.equal(png.format, 'png');
  assert.equal(png.fileName, `shapes-circle-occlusion-${label.toLowerCase()}.png`);
});
