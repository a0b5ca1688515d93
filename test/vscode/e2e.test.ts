/**
 * End-to-end: the packaged extension (dist/vit-lens.vsix) in a real VS Code (code-server 4.100.3 = VS Code
 * 1.100.3), driven through headless Chromium. Offline. See shared/E2E.md.
 *
 *   npm run build && npm run package
 *   node --import tsx --test test/vscode/e2e.test.ts
 *
 * Env: VITLENS_VSIX (default dist/vit-lens.vsix), VITLENS_CODE_SERVER_DIR (skip the install script),
 *      VITLENS_CODE_SERVER_LOG=1 (forward code-server output), VITLENS_KEEP_TMP=1, CHROMIUM_PATH,
 *      VITLENS_E2E_TIMEOUT_MS (inference wait, default 120000),
 *      VITLENS_E2E_SETTINGS (JSON merged into the user settings, e.g. '{"vitLens.modelPath":"/abs/model.onnx"}').
 * Screenshots: test-results/vscode-*.png (also on failure), the "Why this class" card in vscode-why-*.png.
 */
import { after, before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Frame, Locator, Page } from 'playwright-core';
import { PNG } from 'pngjs';
import { CodeServer, LaunchedBrowser, launchBrowser, REPO_ROOT, startCodeServer } from './codeServer';
import { catStats, maskAt } from '../support/catMask';

const VSIX = path.resolve(process.env.VITLENS_VSIX ?? path.join(REPO_ROOT, 'dist', 'vit-lens.vsix'));
const RESULTS = path.join(REPO_ROOT, 'test-results');
const IMAGE = 'cat_tabby.jpg';
const INFERENCE_TIMEOUT = Number(process.env.VITLENS_E2E_TIMEOUT_MS ?? 120_000);

const CMD = {
  visualizeImage: 'ViT Lens: Visualize Image',
  visualizeActive: 'ViT Lens: Visualize Active Image',
  selectModel: 'ViT Lens: Select Model…',
};

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let server: CodeServer | undefined;
let browser: LaunchedBrowser | undefined;
let page: Page;
let workspace: string;
const pageLog: string[] = [];

function log(msg: string) {
  process.stderr.write(`[e2e ${new Date().toISOString().slice(11, 19)}] ${msg}\n`);
}

async function screenshot(name: string) {
  fs.mkdirSync(RESULTS, { recursive: true });
  const file = path.join(RESULTS, name);
  await page.screenshot({ path: file }).catch((e) => log(`screenshot ${name} failed: ${e}`));
  return file;
}

/** Run `body`; on failure save a screenshot and add recent page errors to the message. */
async function withDiagnostics(name: string, body: () => Promise<void>) {
  try {
    await body();
  } catch (e) {
    const shot = await screenshot(`vscode-${name}-failure.png`);
    const err = e as Error;
    err.message += `\n  screenshot: ${shot}` +
      (pageLog.length ? `\n  last page errors:\n    ${pageLog.slice(-10).join('\n    ')}` : '');
    throw err;
  }
}

/** Wait for the workbench (explorer and status bar rendered). */
async function waitForWorkbench() {
  await page.locator('.monaco-workbench').waitFor({ timeout: 90_000 });
  await page.locator('.part.statusbar').waitFor({ timeout: 60_000 });
  await page.locator('.explorer-folders-view, .explorer-viewlet').first().waitFor({ timeout: 60_000 });
}

async function openQuickInput(key: 'F1' | 'Control+P') {
  const widget = page.locator('.quick-input-widget');
  for (let i = 0; i < 3; i++) {
    await page.keyboard.press(key);
    if (await widget.waitFor({ state: 'visible', timeout: 5000 }).then(() => true, () => false)) return;
    await page.locator('.monaco-workbench').click({ position: { x: 5, y: 300 } }).catch(() => undefined);
  }
  throw new Error(`${key} did not open the quick input`);
}

async function closeQuickInput() {
  if (await page.locator('.quick-input-widget').isVisible()) await page.keyboard.press('Escape');
  await page.locator('.quick-input-widget').waitFor({ state: 'hidden', timeout: 5000 }).catch(() => undefined);
}

function paletteRow(title: string) {
  return page.locator('.quick-input-list .monaco-list-row', { hasText: title });
}

/** Ctrl+P, type a file name, Enter on it; retried when a webview steals focus and closes the quick input. */
async function quickOpen(file: string) {
  for (let attempt = 1; ; attempt++) {
    await openQuickInput('Control+P');
    const typed = await page.locator('.quick-input-box input').fill(file, { timeout: 5000 }).then(() => true, () => false);
    const row = page.locator('.quick-input-list .monaco-list-row', { hasText: file }).first();
    if (typed && (await row.waitFor({ state: 'visible', timeout: 10_000 }).then(() => true, () => false))) {
      await page.keyboard.press('Enter');
      return;
    }
    if (attempt >= 5) throw new Error(`quick open could not find ${file}`);
    await closeQuickInput();
    await sleep(1000);
  }
}

/**
 * F1, type `title`; retry until the command is listed (the remote extension host registers contributed
 * commands some seconds after the workbench appears). Runs it when `run`, else closes the palette.
 */
async function paletteCommand(title: string, run: boolean, timeoutMs = 90_000) {
  const deadline = Date.now() + timeoutMs;
  let attempt = 0;
  let seen: string[] = [];
  while (Date.now() < deadline) {
    attempt++;
    await openQuickInput('F1');
    // A webview that finishes loading (the image preview) can take focus and close the palette under us: retry.
    if (!(await page.locator('.quick-input-box input').fill(`>${title}`, { timeout: 5000 }).then(() => true, () => false))) {
      await closeQuickInput();
      await sleep(1000);
      continue;
    }
    const row = paletteRow(title).first();
    if (await row.waitFor({ state: 'visible', timeout: 4000 }).then(() => true, () => false)) {
      if (run) {
        await row.click();
        await page.locator('.quick-input-widget').waitFor({ state: 'hidden', timeout: 10_000 }).catch(() => undefined);
      } else {
        await closeQuickInput();
      }
      if (attempt > 1) log(`"${title}" listed after ${attempt} attempts`);
      return;
    }
    seen = await page.locator('.quick-input-list .monaco-list-row').allTextContents();
    await closeQuickInput();
    await sleep(2000);
  }
  throw new Error(`command "${title}" never appeared in the command palette within ${timeoutMs} ms ` +
    `(${attempt} attempts; last list: ${JSON.stringify(seen.slice(0, 8))}). Is the extension installed and ` +
    `its contributes.commands correct?\n--- code-server log tail ---\n${server?.logs().slice(-3000)}`);
}

/** The ViT Lens webview's content frame: the visible webview that contains #vit-lens-app. */
async function findVitLensFrame(timeoutMs = 60_000, selector = '#vit-lens-app'): Promise<Frame> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const iframes = page.locator('iframe.webview');
    const n = await iframes.count();
    for (let i = n - 1; i >= 0; i--) {
      const handle = await iframes.nth(i).elementHandle().catch(() => null);
      if (!handle || !(await handle.isVisible().catch(() => false))) continue;
      const outer = await handle.contentFrame();
      const active = outer && (await outer.$('#active-frame').catch(() => null));
      const inner = active && (await active.contentFrame());
      if (inner && (await inner.$(selector).catch(() => null))) return inner;
    }
    await sleep(500);
  }
  const n = await page.locator('iframe.webview').count();
  throw new Error(`no visible webview containing ${selector} within ${timeoutMs} ms (${n} webview iframes on the page)`);
}

async function statusOf(frame: Frame) {
  return frame.evaluate(() => {
    const s = document.querySelector('#status');
    return {
      state: s?.getAttribute('data-state') ?? '<no #status>',
      text: (s?.textContent ?? '').trim(),
      error: (document.querySelector('#error')?.textContent ?? '').trim(),
    };
  }).catch((e) => ({ state: '<frame gone>', text: String(e), error: '' }));
}

async function waitForDone(frame: Frame) {
  const deadline = Date.now() + INFERENCE_TIMEOUT;
  const t0 = Date.now();
  let st = await statusOf(frame);
  const states = [st.state];
  while (Date.now() < deadline) {
    st = await statusOf(frame);
    if (states[states.length - 1] !== st.state) states.push(st.state);
    if (st.state === 'done') {
      log(`webview done after ${Date.now() - t0} ms (${states.join(' → ')}): "${st.text}"`);
      return;
    }
    if (st.state === 'error') break;
    await sleep(250);
  }
  assert.fail(`webview did not reach data-state="done" (states ${states.join(' → ')}; ` +
    `#status "${st.text}"${st.error ? `; #error "${st.error}"` : ''})` +
    (st.state === 'error' ? '' : ` within ${INFERENCE_TIMEOUT} ms`));
}

/** Polls the panel until it is done and `selector`'s text contains `want`, or it shows an error, or time runs out. */
async function waitForPanelText(frame: Frame, selector: string, want: string) {
  const deadline = Date.now() + INFERENCE_TIMEOUT;
  let text = '';
  let st = await statusOf(frame);
  while (Date.now() < deadline) {
    text = (await frame.locator(selector).textContent().catch(() => '')) ?? '';
    st = await statusOf(frame);
    if ((st.state === 'done' && text.includes(want)) || st.state === 'error') break;
    await sleep(250);
  }
  return { text, st };
}

async function assertResults(frame: Frame, top1?: string) {
  const preds = await frame.$$eval('#predictions li', (lis) => lis.map((li) => ({
    label: (li.querySelector('.label')?.textContent ?? '').trim(),
    prob: (li.querySelector('.prob')?.textContent ?? '').trim(),
    text: (li.textContent ?? '').trim(),
  })));
  log(`predictions: ${JSON.stringify(preds.slice(0, 5))}`);
  assert.ok(preds.length > 0, 'no #predictions li in the webview');
  assert.ok(preds.some((p) => p.label.length > 0), `no prediction with a non-empty .label: ${JSON.stringify(preds)}`);
  if (top1) assert.equal(preds[0].label, top1, `top-1 of ${JSON.stringify(preds.slice(0, 5))}`);

  const canvas = frame.locator('canvas#heatmap');
  assert.equal(await canvas.count(), 1, 'canvas#heatmap missing');
  const maxAttr = await canvas.getAttribute('data-max-attention');
  const maxAttention = Number(maxAttr);
  assert.ok(maxAttr !== null && Number.isFinite(maxAttention) && maxAttention > 0,
    `canvas#heatmap data-max-attention should be > 0, got ${JSON.stringify(maxAttr)}`);

  const pixels = await canvas.evaluate((c: HTMLCanvasElement) => {
    try {
      if (!c.width || !c.height) return { ok: false as const, reason: `canvas is ${c.width}×${c.height}` };
      const ctx = c.getContext('2d');
      if (!ctx) return { ok: false as const, reason: 'no 2d context (canvas uses another context type)' };
      const d = ctx.getImageData(0, 0, c.width, c.height).data;
      let opaque = 0;
      const seen = new Set<number>();
      for (let i = 0; i < d.length; i += 4) {
        if (d[i + 3] > 0) opaque++;
        if (seen.size < 64) seen.add((d[i] << 24) ^ (d[i + 1] << 16) ^ (d[i + 2] << 8) ^ d[i + 3]);
      }
      return { ok: true as const, width: c.width, height: c.height, opaque, distinct: seen.size };
    } catch (e) {
      return { ok: false as const, reason: String(e) };
    }
  });
  let opaque: number, distinct: number, how: string;
  if (pixels.ok) {
    ({ opaque, distinct } = pixels);
    how = `getImageData ${pixels.width}×${pixels.height}`;
  } else {
    // Tainted or non-2d canvas: judge what is on screen instead.
    const png = PNG.sync.read(await canvas.screenshot());
    const seen = new Set<number>();
    opaque = 0;
    for (let i = 0; i < png.data.length; i += 4) {
      const [r, g, b] = [png.data[i], png.data[i + 1], png.data[i + 2]];
      if (r + g + b > 0) opaque++;
      if (seen.size < 64) seen.add((r << 16) | (g << 8) | b);
    }
    distinct = seen.size;
    how = `screenshot ${png.width}×${png.height} (getImageData: ${pixels.reason})`;
  }
  log(`heatmap: data-max-attention=${maxAttr}, ${how}: ${opaque} non-empty px, ${distinct} distinct colours`);
  assert.ok(opaque > 0, `canvas#heatmap has no non-transparent pixels (${how})`);
  assert.ok(distinct > 1, `canvas#heatmap is a single flat colour (${how})`);
}

/** Right-click `row` and choose the menu item `name`; retried, since the menu sometimes opens without our items yet. */
async function contextMenuCommand(row: Locator, name: RegExp, what: string) {
  const item = page.getByRole('menuitem', { name }).first();
  let shown = false;
  for (let i = 0; i < 10 && !shown; i++) {
    await row.click({ button: 'right' });
    shown = await item.waitFor({ state: 'visible', timeout: 3000 }).then(() => true, () => false);
    if (!shown) {
      const items = await page.getByRole('menuitem').allTextContents();
      log(`context menu on ${what} without ${name} (try ${i + 1}): ${JSON.stringify(items.slice(0, 20))}`);
      await page.keyboard.press('Escape');
      await sleep(2000);
    }
  }
  assert.ok(shown, `Explorer context menu on ${what} has no ${name} item`);
  // A click right after the menu opened is sometimes swallowed by the menu; fall back to the keyboard.
  await item.hover();
  await sleep(300);
  await item.click();
  if (!(await item.waitFor({ state: 'hidden', timeout: 3000 }).then(() => true, () => false))) {
    log('context menu still open after click; pressing Enter on the hovered item');
    await item.hover();
    await page.keyboard.press('Enter');
    await item.waitFor({ state: 'hidden', timeout: 5000 });
  }
}

async function closeAllEditors() {
  await paletteCommand('View: Close All Editors', true, 30_000);
  await page.locator('.tabs-container .tab').first().waitFor({ state: 'detached', timeout: 10_000 }).catch(() => undefined);
}

describe('ViT Lens in VS Code (code-server)', { timeout: 15 * 60_000 }, () => {
  before(async () => {
    assert.ok(fs.existsSync(VSIX), `${VSIX} not found: run "npm run build && npm run package" first (or set VITLENS_VSIX)`);
    workspace = fs.mkdtempSync(path.join(os.tmpdir(), 'vit-lens-e2e-ws-'));
    fs.copyFileSync(path.join(REPO_ROOT, 'samples', IMAGE), path.join(workspace, IMAGE));
    fs.copyFileSync(path.join(REPO_ROOT, 'samples', 'dog_beagle.jpg'), path.join(workspace, 'dog_beagle.jpg'));
    const t0 = Date.now();
    const settings = process.env.VITLENS_E2E_SETTINGS ? JSON.parse(process.env.VITLENS_E2E_SETTINGS) : {};
    server = await startCodeServer({ folder: workspace, vsix: VSIX, settings });
    log(`code-server at ${server.url} in ${Date.now() - t0} ms (workspace ${workspace})`);
    browser = await launchBrowser();
    const context = await browser.browser.newContext({ viewport: { width: 1440, height: 900 } });
    page = await context.newPage();
    page.setDefaultTimeout(30_000);
    page.on('pageerror', (e) => pageLog.push(`pageerror: ${e.message}`));
    // Errors, and the panel's own warnings (a hand-over that failed says why only there).
    page.on('console', (m) => { if (m.type() === 'error' || m.text().startsWith('ViT Lens')) pageLog.push(`console: ${m.text().slice(0, 300)}`); });
    await page.goto(server.folderUrl, { timeout: 60_000 });
    await waitForWorkbench();
    log(`workbench ready after ${Date.now() - t0} ms`);
  });

  after(async () => {
    await browser?.close();
    await server?.stop();
    if (workspace) fs.rmSync(workspace, { recursive: true, force: true });
  });

  it('lists "ViT Lens: Select Model…" in the command palette', { timeout: 150_000 }, () =>
    withDiagnostics('palette-list', async () => {
      await paletteCommand(CMD.selectModel, false, 120_000);
      await paletteCommand(CMD.visualizeActive, false, 30_000);
    }));

  it('Explorer → right-click the image → "ViT Lens: Visualize Image" shows predictions and a heatmap',
    { timeout: INFERENCE_TIMEOUT + 180_000 }, () => withDiagnostics('explorer', async () => {
      const row = page.locator('.explorer-folders-view .monaco-list-row', { hasText: IMAGE }).first();
      if (!(await row.isVisible())) await page.keyboard.press('Control+Shift+E');
      await row.waitFor({ state: 'visible', timeout: 30_000 });
      // The menu item shows the command title; with a "ViT Lens" category VS Code omits the category there.
      await contextMenuCommand(row, /^(ViT Lens: )?Visualize Image$/, IMAGE);
      const frame = await findVitLensFrame();
      await waitForDone(frame);
      // The bundled default is the real ImageNet ViT-Ti/16.
      await assertResults(frame, 'tabby cat');
      await screenshot('vscode-explorer.png');
      // Attention rollout: its hottest patches are on the cat, not on the blanket (test/support/catMask.ts).
      const heat = frame.locator('canvas#heatmap');
      const before = (await heat.getAttribute('data-hottest')) ?? '';
      await frame.locator('#mode').evaluate((el) => {
        (el as HTMLElement & { value: string }).value = 'rollout';
        el.dispatchEvent(new Event('change'));
      });
      await frame.waitForFunction((b) => (document.getElementById('heatmap')?.dataset.hottest ?? b) !== b, before, { timeout: 30_000 });
      const hot = ((await heat.getAttribute('data-hottest')) ?? '').split(',').map(Number);
      const kinds = hot.map((i) => maskAt(i)).join('');
      log(`rollout hottest patches ${hot.join(',')}: ${kinds}`);
      assert.equal(hot.length, 10);
      assert.ok(!kinds.includes('B') && kinds.startsWith('CCCCC'), `rollout's hottest patches on the background: ${kinds}`);
      await screenshot('vscode-explorer-rollout.png');
      await frame.locator('#mode').evaluate((el) => {
        (el as HTMLElement & { value: string }).value = 'attention';
        el.dispatchEvent(new Event('change'));
      });
      // The panel keeps a copy of the model for the next panel (vitLens.modelCacheMB): the next test reads it.
      await frame.waitForFunction(() => / kept$/.test(document.getElementById('vit-lens-app')?.dataset.kept ?? ''), undefined, { timeout: 30_000 });
    }));

  it('"Why this class" on the cat: relevance for tabby cat and Egyptian Mau (different, both on the cat), compare, which map to trust',
    { timeout: INFERENCE_TIMEOUT * 3 + 60_000 }, (t) => withDiagnostics('why', async () => {
      const t0 = Date.now();
      const frame = await findVitLensFrame();
      assert.match(await frame.locator('#image-name').textContent() ?? '', new RegExp(IMAGE.replace('.', '\\.')));
      await frame.locator('#why').scrollIntoViewIfNeeded();
      // The top-5 select: tabby cat first (the panel's top-1), Egyptian Mau among them.
      const options = await frame.$$eval('#why-class vscode-option', (os) => os.map((o) => ({ value: o.getAttribute('value') ?? '', text: (o.textContent ?? '').trim() })));
      log(`why-class options: ${JSON.stringify(options)}`);
      assert.equal(options.length, 5, 'five classes in the select');
      assert.match(options[0].text, /^tabby cat /);
      const mauOption = options.find((o) => o.text.startsWith('Egyptian Mau '));
      assert.ok(mauOption, `Egyptian Mau is not in the top 5: ${JSON.stringify(options)}`);
      const [TABBY, MAU] = [Number(options[0].value), Number(mauOption.value)];
      assert.equal(await frame.locator('#why-class').evaluate((el) => (el as HTMLElement & { value: string }).value), String(TABBY), 'the select starts on the top-1');

      const pick = (value: string) => frame.locator('#why-class').evaluate((el, v) => {
        (el as HTMLElement & { value: string }).value = v;
        el.dispatchEvent(new Event('change'));
      }, value);
      /** Clicks `button`, waits for the card's output of `kind` for `classIndex` (or an error), returns its data attributes. */
      const run = async (button: string, kind: string, classIndex: number) => {
        const s0 = Date.now();
        await frame.evaluate(() => { delete document.getElementById('why-out')!.dataset.kind; });
        await frame.locator(button).click();
        const settled = await frame.waitForFunction(({ k, c }) => {
          const out = document.getElementById('why-out')!;
          const d = out.dataset;
          if (d.error) return true;
          return !out.hasAttribute('aria-busy') && (k === 'trust' ? !!document.querySelector('#why-ranking li') : d.kind === k && d.classIndex === String(c));
        }, { k: kind, c: classIndex }, { timeout: INFERENCE_TIMEOUT }).then(() => true, () => false);
        const data = await frame.evaluate(() => ({ ...document.getElementById('why-out')!.dataset }));
        const text = (await frame.locator('#why-text').textContent()) ?? '';
        assert.ok(settled && data.error === undefined, `${button} (${kind}, class ${classIndex}): ${settled ? `error ${data.error}` : 'no result in time'}; #why-text "${text}"`);
        log(`${button.slice(1)} ${kind} class ${classIndex} in ${Date.now() - s0} ms: "${text.slice(0, 200)}"`);
        return { data, text };
      };
      /** The card at the top of the panel, so the screenshot shows its controls, output and text. */
      const cardToTop = () => frame.locator('#why').evaluate((el) => el.scrollIntoView({ block: 'start' }));
      const numbers = (s: string | undefined) => (s ?? '').split(',').map(Number);
      const hottest20 = (m: number[]) => Array.from(m.keys()).sort((i, j) => m[j] - m[i]).slice(0, 20).map((i) => maskAt(i)).join('');
      const catCount = (kinds: string) => [...kinds].filter((k) => k === 'C').length;

      // (1) Relevance for the top-1 (the select's default) and for Egyptian Mau picked in the select.
      const tabby = await run('#why-relevance', 'relevance', TABBY);
      const tabbyMap = numbers(tabby.data.map);
      await cardToTop();
      const relevanceShot = await screenshot('vscode-why-relevance.png');
      await pick(mauOption.value);
      const mau = await run('#why-relevance', 'relevance', MAU);
      const mauMap = numbers(mau.data.map);
      assert.equal(tabbyMap.length, 196);
      assert.equal(mauMap.length, 196);
      assert.ok([...tabbyMap, ...mauMap].every(Number.isFinite), 'finite relevance values');
      assert.deepEqual(await frame.locator('#why-out figcaption').allTextContents(), ['Relevance: Egyptian Mau']);
      const apart = Math.max(...tabbyMap.map((v, i) => Math.abs(v - mauMap[i])));
      const [hotTabby, hotMau] = [hottest20(tabbyMap), hottest20(mauMap)];
      const rel = `relevance: tabby cat vs Egyptian Mau max |Δ| ${apart.toFixed(3)}; hottest 20 tabby ${hotTabby} (${catCount(hotTabby)} C), Mau ${hotMau} (${catCount(hotMau)} C)`;
      log(rel);
      t.diagnostic(rel);
      assert.ok(apart > 0.05, `the two classes' relevance maps differ by only ${apart}`);
      // Mostly on the cat (catMask.catStats): far more of the mass than plain attention's corner sinks (share about
      // 0.43); tabby cat's map is also denser on the cat than around it and its 10 hottest patches are all cat.
      const [st, sm] = [catStats(tabbyMap), catStats(mauMap)];
      t.diagnostic(`share of the mass on the cat: tabby ${st.share.toFixed(3)}, Mau ${sm.share.toFixed(3)}; cat/background density: tabby ${st.ratio.toFixed(2)}, Mau ${sm.ratio.toFixed(2)}`);
      assert.ok(st.share > 0.75 && sm.share > 0.75, `share on the cat: tabby ${st.share}, Mau ${sm.share}`);
      assert.ok(st.ratio > 1.3 && !hotTabby.slice(0, 10).includes('B'), `tabby cat relevance: density ${st.ratio}, hottest ${hotTabby}`);

      // (2) Compare: tabby cat typed in the class box (it wins over the select), Egyptian Mau typed as the second class.
      await frame.locator('#why-class-name').fill('tabby cat');
      await frame.locator('#why-compare-name').fill('Egyptian Mau');
      const cmp = await run('#why-compare', 'compare', TABBY);
      assert.equal(cmp.data.classB, String(MAU));
      assert.equal(await frame.locator('#why-out figure').count(), 3, 'compare draws three figures');
      const captions = await frame.locator('#why-out figcaption').allTextContents();
      assert.deepEqual(captions, ['Relevance: tabby cat', 'Relevance: Egyptian Mau', 'tabby cat vs Egyptian Mau']);
      // The compare's maps are the two relevance maps computed above (gradients reused).
      const dA = Math.max(...numbers(cmp.data.mapA).map((v, i) => Math.abs(v - tabbyMap[i])));
      const dB = Math.max(...numbers(cmp.data.mapB).map((v, i) => Math.abs(v - mauMap[i])));
      assert.ok(dA < 1e-4 && dB < 1e-4, `compare's maps differ from the single relevance maps by ${dA}, ${dB}`);
      await cardToTop();
      const compareShot = await screenshot('vscode-why-compare.png');

      // (3) Grad-CAM for tabby cat (gradients reused), then which map to trust: every map with its two areas.
      await run('#why-gradcam', 'gradcam', TABBY);
      const trust = await run('#why-trust', 'trust', TABBY);
      const ranking = await frame.$$eval('#why-ranking li', (lis) => lis.map((li) => ({
        name: (li as HTMLElement).dataset.name ?? '',
        deletion: Number((li as HTMLElement).dataset.deletion),
        insertion: Number((li as HTMLElement).dataset.insertion),
      })));
      const auc = `which map to trust (tabby cat): ${ranking.map((m) => `${m.name} deletion ${m.deletion.toFixed(3)} insertion ${m.insertion.toFixed(3)}`).join('; ')}`;
      log(auc);
      t.diagnostic(auc);
      assert.deepEqual(ranking.map((m) => m.name).sort(), ['Grad-CAM', 'Relevance', 'attention (last layer)', 'rollout']);
      for (const m of ranking) {
        assert.ok(m.deletion >= 0 && m.deletion <= 1 && m.insertion >= 0 && m.insertion <= 1, `${m.name}: areas out of [0, 1]: ${JSON.stringify(m)}`);
      }
      assert.ok(trust.text.startsWith('For tabby cat. Most faithful:'), `#why-text: "${trust.text}"`);
      await cardToTop();
      const trustShot = await screenshot('vscode-why-trust.png');
      const done = `why-this-class checks in ${Date.now() - t0} ms; screenshots ${[relevanceShot, compareShot, trustShot].map((f) => path.relative(REPO_ROOT, f)).join(', ')}`;
      log(done);
      t.diagnostic(done);
    }));

  it('image preview → F1 "ViT Lens: Visualize Active Image" shows predictions and a heatmap',
    { timeout: INFERENCE_TIMEOUT + 180_000 }, () => withDiagnostics('palette', async () => {
      await closeAllEditors();
      await quickOpen(IMAGE);
      const activeTab = page.locator(`.tabs-container .tab.active[data-resource-name="${IMAGE}"]`);
      await activeTab.waitFor({ state: 'visible', timeout: 30_000 });
      // The built-in image preview is itself a webview; make sure it (not the binary/text editor) opened.
      await page.locator('iframe.webview').first().waitFor({ state: 'visible', timeout: 30_000 });
      const binary = await page.getByText('not displayed in the text editor').count();
      assert.equal(binary, 0, `${IMAGE} opened in the binary/text editor instead of the image preview`);
      await sleep(1500); // let the preview finish loading (it takes focus when it does)
      await paletteCommand(CMD.visualizeActive, true);
      const frame = await findVitLensFrame();
      await waitForDone(frame);
      await assertResults(frame);
      await screenshot('vscode-palette.png');
      // A new panel (vitLens.startInExtensionHost): its first image ran in the extension host while the page started
      // (the page takes the model over in the next test).
      const timing = await frame.locator('#timing').textContent() ?? '';
      log(`new panel: ${timing}`);
      assert.match(timing, /run in the extension host while the panel started; the panel runs the next images/);
    }));

  it('the panel follows when another image tab becomes active', { timeout: INFERENCE_TIMEOUT + 60_000 }, () =>
    withDiagnostics('follow', async () => {
      await quickOpen('dog_beagle.jpg');
      await page.locator('.tabs-container .tab.active[data-resource-name="dog_beagle.jpg"]').waitFor({ state: 'visible', timeout: 30_000 });
      const frame = await findVitLensFrame();
      const { text: name, st } = await waitForPanelText(frame, '#image-name', 'dog_beagle.jpg');
      assert.match(name, /dog_beagle\.jpg/, `panel shows ${name} (${st.state}: ${st.text})`);
      assert.equal(st.state, 'done');
      // The dog's preview is a webview opened after the panel's, and the panel's worker starts after it: the page took
      // the model over (the worker got its WASM from the page, not from VS Code's service worker, which would have
      // asked the preview's webview for it), from the copy the last panel kept (22.8 MB that did not cross again),
      // created its own session, and its logits agreed with the host's.
      await frame.waitForFunction(() => !!document.getElementById('vit-lens-app')?.dataset.handOver, undefined, { timeout: INFERENCE_TIMEOUT });
      const handOver = await frame.evaluate(() => document.getElementById('vit-lens-app')!.dataset.handOver!);
      const [ahead, fromCopy] = await frame.evaluate(() => ['vitlens-ahead', 'vitlens-kept-read'].map((n) => performance.getEntriesByName(n).length));
      log(`handed over to the page (model, largest logit difference) ${handOver}; model sent ahead ${ahead}, kept copy read ${fromCopy}`);
      assert.ok(Number(handOver.split(' ')[1]) < 1e-3, handOver);
      assert.deepEqual([ahead, fromCopy], [0, 1], `the page took the model over from its kept copy, once: ahead ${ahead}, kept ${fromCopy}`);
      await sleep(1500);
    }));

  it('vitLens.runModelIn = "extensionHost": the panel re-runs with the model in the host, the same top-1, occlusion included; back to the webview',
    { timeout: INFERENCE_TIMEOUT * 2 + 120_000 }, () => withDiagnostics('run-in-host', async () => {
      const frame = await findVitLensFrame();
      const place = () => frame.evaluate(() => document.getElementById('backend')?.dataset.place ?? '');
      const drawn = () => frame.evaluate(() => performance.getEntriesByName('vitlens-drawn').length);
      const top1 = () => frame.evaluate(() => (document.querySelector('#predictions li .label')?.textContent ?? '').trim());
      await waitForDone(frame);
      const inPanel = await top1();
      // A run after the setting changed: the panel's first images may have run in the host too (startInExtensionHost).
      const waitForPlace = async (want: string, before: number) => {
        const deadline = Date.now() + INFERENCE_TIMEOUT;
        while (Date.now() < deadline && !((await place()) === want && (await statusOf(frame)).state === 'done' && (await drawn()) > before)) await sleep(250);
        assert.equal(await place(), want, `ran in ${await place()}: ${JSON.stringify(await statusOf(frame))}`);
      };
      // CLS attention, no patch selected: a first heatmap that the host's first rows can draw.
      await frame.evaluate(() => window.postMessage({ type: 'applyView', view: { mode: 'attention', selected: undefined } }, '*'));
      fs.mkdirSync(path.join(workspace, '.vscode'), { recursive: true });
      const runs = await drawn();
      fs.writeFileSync(path.join(workspace, '.vscode', 'settings.json'), JSON.stringify({ 'vitLens.runModelIn': 'extensionHost' }));
      await waitForPlace('extensionHost', runs);
      assert.match(await frame.locator('#backend').textContent() ?? '', /Extension host · WASM/);
      // The panel was drawn from each layer's first row; the rest of the attention has not crossed (the panel's marks).
      const marks = await frame.evaluate(() => ['visualize', 'first-heatmap', 'drawn', 'rest'].map((n) => performance.getEntriesByName(`vitlens-${n}`).at(-1)?.startTime ?? NaN));
      assert.ok(marks[0] < marks[1] && marks[1] <= marks[2] && Number.isNaN(marks[3]), `marks visualize, first heatmap, drawn, rest: ${marks.map(Math.round).join(', ')}`);
      log(`in the host: first heatmap ${Math.round(marks[1] - marks[0])} ms after the visualize message`);
      assert.equal(await top1(), inPanel, 'the same top-1 in the host as in the panel');
      log(`in the host: top-1 ${inPanel}; ${await frame.locator('#timing').textContent()}`);
      // A JPEG: the host decoded it itself (the packaged WASM decoder) and ran the model before the page asked; the
      // page's pixels were the same, so that run was drawn.
      assert.match(await frame.locator('#timing').textContent() ?? '', /run ahead on the extension host's decode of the image \(the same pixels\)/);
      // The ideas need the model's parameters, not its bytes: drawn as in the panel.
      await frame.waitForFunction(() => document.getElementById('ideas')?.dataset.state === 'ready', undefined, { timeout: 60_000 });
      assert.match(await frame.locator('#pos-text').textContent() ?? '', /adjacent patches average/);
      // The attention distance, computed by the host from the matrices it holds.
      assert.match(await frame.locator('#distance-text').textContent() ?? '', /Mean attention distance of each head \(dots\) by layer, for this image: .* in layer 1/);
      // A patch as the query brings the rest of the attention across, once.
      await frame.evaluate(() => window.postMessage({ type: 'applyView', view: { selected: { row: 6, col: 6 } } }, '*'));
      await frame.waitForFunction(() => /What patch \(6, 6\) attends to/.test(document.getElementById('view-caption')?.textContent ?? ''), undefined, { timeout: 60_000 });
      const rest = await frame.evaluate(() => performance.getEntriesByName('vitlens-rest').length);
      assert.equal(rest, 1, 'the rest crossed once, when the patch asked for it');
      await frame.evaluate(() => window.postMessage({ type: 'applyView', view: { selected: undefined } }, '*'));
      // Occlusion is a batch of runs of the panel's model: in the host too.
      await frame.evaluate(() => { delete document.getElementById('why-out')!.dataset.kind; });
      await frame.locator('#why-occlusion').click();
      await frame.waitForFunction(() => { const d = document.getElementById('why-out')!.dataset; return d.kind === 'occlusion' || !!d.error; }, undefined, { timeout: INFERENCE_TIMEOUT });
      assert.equal(await frame.evaluate(() => document.getElementById('why-out')!.dataset.error), undefined, await frame.locator('#why-text').textContent() ?? '');
      await screenshot('vscode-run-in-host.png');
      const inHost = await drawn();
      fs.writeFileSync(path.join(workspace, '.vscode', 'settings.json'), '{}');
      await waitForPlace('webview', inHost);
      assert.equal(await top1(), inPanel);
      // Leave the panel as the next tests expect it: scrolled to the image.
      await frame.evaluate(() => window.scrollTo(0, 0));
    }));

  it('the Inspector sidebar shows the model summary and follows a patch selected in the panel',
    { timeout: 180_000 }, () => withDiagnostics('sidebar', async () => {
      const panel = await findVitLensFrame();
      await paletteCommand('Focus on Inspector View', true);
      // The view's webview is created when it first becomes visible; ask once more if it has not appeared.
      const sidebar = await findVitLensFrame(30_000, '#vit-lens-inspector').catch(async () => {
        log('inspector not shown yet; focusing it again');
        await paletteCommand('Focus on Inspector View', true);
        return findVitLensFrame(60_000, '#vit-lens-inspector');
      });
      await sidebar.locator('#inspector').waitFor({ state: 'visible', timeout: 30_000 });
      assert.match(await sidebar.locator('#insp-summary').textContent() ?? '', /Patch size\s*16×16/);
      assert.match(await sidebar.locator('#patch-empty').textContent() ?? '', /Click a patch/);
      // Select patch (row 3, column 5) in the panel by clicking it.
      const box = (await panel.locator('#stack').boundingBox())!;
      await page.mouse.click(box.x + (5.5 / 14) * box.width, box.y + (3.5 / 14) * box.height);
      await sidebar.locator('#patch').waitFor({ state: 'visible', timeout: 15_000 });
      assert.equal(await sidebar.locator('#patch-rc').textContent(), '3, 5');
      assert.equal(await sidebar.locator('#patch-token').textContent(), String(1 + 3 * 14 + 5));
      assert.equal(await sidebar.locator('#patch-to li').count(), 5);
      // And the other way: a head chosen in the sidebar changes the panel.
      await sidebar.evaluate(() => {
        const s = document.getElementById('insp-head') as HTMLElement & { value: string };
        s.value = '1';
        s.dispatchEvent(new Event('change'));
      });
      await panel.waitForFunction(() => (document.getElementById('head') as HTMLElement & { value: string }).value === '1', undefined, { timeout: 10_000 });
      await screenshot('vscode-sidebar.png');
    }));

  it('the panel\'s actions from the Command Palette and keybindings: Next Layer, Alt+[ and Alt+Shift+], Export PNG (the panel\'s composite, saved through the save dialog)',
    { timeout: 180_000 }, () => withDiagnostics('panel-commands', async () => {
      const frame = await findVitLensFrame();
      await waitForDone(frame);
      const selected = () => frame.evaluate(() => ['layer', 'head'].map((id) => (document.getElementById(id) as HTMLElement & { value: string }).value));
      const layers = await frame.locator('#layer vscode-option').count();
      const waitFor = (want: string[], what: string) => frame.waitForFunction((w) => ['layer', 'head'].every((id, i) => (document.getElementById(id) as HTMLElement & { value: string }).value === w[i]), want, { timeout: 15_000 })
        .catch(async () => assert.fail(`${what}: layer/head ${JSON.stringify(await selected())}, expected ${JSON.stringify(want)}`));
      // Next Layer wraps from the last layer to the first.
      const [layer0, head0] = await selected();
      const next = String((Number(layer0) + 1) % layers);
      await paletteCommand('ViT Lens: Next Layer', true);
      await waitFor([next, head0], 'ViT Lens: Next Layer');
      log(`Next Layer: layer ${layer0} → ${next} (of ${layers})`);
      // The keybindings, with the panel focused: Alt+[ back a layer, Alt+Shift+] the next head choice.
      await frame.locator('#stack').click();
      await page.keyboard.press('Escape'); // the click selected a patch: back to the CLS view
      await page.keyboard.press('Alt+BracketLeft');
      await waitFor([layer0, head0], 'Alt+[');
      const heads = await frame.$$eval('#head vscode-option', (os) => os.map((o) => o.getAttribute('value') ?? ''));
      const nextHead = heads[(heads.indexOf(head0) + 1) % heads.length];
      await page.keyboard.press('Alt+Shift+BracketRight');
      await waitFor([layer0, nextHead], 'Alt+Shift+]');
      await paletteCommand('ViT Lens: Next Layer', true);
      await waitFor([next, nextHead], 'ViT Lens: Next Layer (again)');

      // Export PNG from the palette: the same save dialog as the panel's button (code-server's simple dialog, a quick input).
      await paletteCommand('ViT Lens: Export PNG', true);
      const input = page.locator('.quick-input-widget .quick-input-box input');
      await input.waitFor({ state: 'visible', timeout: 15_000 });
      // The dialog fills in the folder first and the proposed file name a moment later.
      let target = await input.inputValue();
      const deadline = Date.now() + 15_000;
      while (!target.endsWith('.png') && Date.now() < deadline) {
        await sleep(200);
        target = await input.inputValue();
      }
      log(`Export PNG save dialog proposes ${target}`);
      assert.equal(path.dirname(target), workspace.replace(/\/$/, ''), 'saved beside the image by default');
      assert.match(path.basename(target), new RegExp(`-attn-l${Number(next) + 1}-${nextHead}\\.png$`));
      await page.keyboard.press('Enter');
      await frame.waitForFunction((f) => document.getElementById('selection')?.textContent === `Saved ${f}.`, path.basename(target), { timeout: 15_000 });
      assert.ok(fs.existsSync(target), `${target} written`);
      const png = PNG.sync.read(fs.readFileSync(target));
      // The panel's export is the image, heatmap and grid canvases drawn over each other: compare pixel by pixel.
      const composite = await frame.evaluate(() => {
        const [image, ...over] = ['image', 'heatmap', 'grid'].map((id) => document.getElementById(id) as HTMLCanvasElement);
        const c = document.createElement('canvas');
        c.width = image.width;
        c.height = image.height;
        const ctx = c.getContext('2d')!;
        for (const l of [image, ...over]) ctx.drawImage(l, 0, 0);
        return { width: c.width, height: c.height, data: Array.from(ctx.getImageData(0, 0, c.width, c.height).data) };
      });
      assert.deepEqual([png.width, png.height], [composite.width, composite.height]);
      let differ = 0;
      let worst = 0;
      for (let i = 0; i < composite.data.length; i++) {
        const d = Math.abs(png.data[i] - composite.data[i]);
        if (d) differ++;
        worst = Math.max(worst, d);
      }
      log(`Export PNG ${path.basename(target)}: ${png.width}×${png.height}, ${differ} of ${composite.data.length} channel values differ from the panel's composite (worst ${worst})`);
      assert.equal(worst, 0, `${differ} channel values differ, by up to ${worst}`);
      await screenshot('vscode-panel-commands.png');
    }));

  it('"ViT Lens: Select Model…" → Swin demo re-renders the panel with the Swin window view',
    { timeout: INFERENCE_TIMEOUT + 120_000 }, () => withDiagnostics('swin', async () => {
      await paletteCommand(CMD.selectModel, true);
      const row = page.locator('.quick-input-list .monaco-list-row', { hasText: 'Swin demo' }).first();
      await row.waitFor({ state: 'visible', timeout: 30_000 });
      await row.click();
      const frame = await findVitLensFrame();
      const { text: summary, st } = await waitForPanelText(frame, '#summary', 'Swin Transformer');
      assert.notEqual(st.state, 'error', `webview error: ${st.error}`);
      assert.match(summary, /Swin Transformer/, `summary: ${summary}; status ${st.state} ${st.text}`);
      assert.match(summary, /56×56 → 28×28 → 14×14 → 7×7/);
      const overlay = await frame.evaluate(() => {
        const c = document.getElementById('grid') as HTMLCanvasElement;
        const d = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
        let opaque = 0;
        for (let i = 3; i < d.length; i += 4) if (d[i] === 255) opaque++;
        return { opaque, shift: c.dataset.windowShift, block: (document.getElementById('layer') as HTMLElement & { value: string }).value };
      });
      log(`swin overlay: ${JSON.stringify(overlay)}`);
      assert.ok(overlay.opaque > 100, 'window borders are drawn');
      assert.match(await frame.locator('#explain').textContent() ?? '', /global average pooling/);
      await screenshot('vscode-swin.png');
    }));

  it('a truncated model and a corrupt image each get a clear message in the panel and a notification; the panel recovers',
    { timeout: INFERENCE_TIMEOUT * 2 + 180_000 }, () => withDiagnostics('bad-input', async () => {
      const frame = await findVitLensFrame();
      const toast = (text: RegExp) => page.locator('.notifications-toasts .notification-toast', { hasText: text }).first();
      const waitForState = async (want: string, errorText?: RegExp) => {
        const deadline = Date.now() + INFERENCE_TIMEOUT;
        let st = await statusOf(frame);
        while (Date.now() < deadline && !(st.state === want && (!errorText || errorText.test(st.error)))) {
          await sleep(250);
          st = await statusOf(frame);
        }
        assert.equal(st.state, want, `panel state ${st.state}: ${st.text} ${st.error}`);
        if (errorText) assert.match(st.error, errorText);
        return st;
      };
      // A workspace setting pointing at a model cut off after 5 000 bytes: the panel re-runs on its own.
      fs.writeFileSync(path.join(workspace, 'broken.onnx'), fs.readFileSync(path.join(REPO_ROOT, 'models', 'vit-demo.onnx')).subarray(0, 5000));
      fs.mkdirSync(path.join(workspace, '.vscode'), { recursive: true });
      fs.writeFileSync(path.join(workspace, '.vscode', 'settings.json'), JSON.stringify({ 'vitLens.modelPath': 'broken.onnx' }));
      const bad = await waitForState('error', /not a valid ONNX model, or it is truncated or corrupt/);
      log(`truncated model: "${bad.error}"`);
      await toast(/not a valid ONNX model/).waitFor({ state: 'visible', timeout: 15_000 });
      await screenshot('vscode-bad-model.png');
      // Back to the user's model: the same panel works again.
      fs.writeFileSync(path.join(workspace, '.vscode', 'settings.json'), '{}');
      await waitForState('done');
      // A PNG cut in half, opened as the active image: the panel follows it and says what is wrong.
      fs.writeFileSync(path.join(workspace, 'truncated.png'), fs.readFileSync(path.join(REPO_ROOT, 'test', 'fixtures', 'bad-images', 'truncated.png')));
      await quickOpen('truncated.png');
      const corrupt = await waitForState('error', /could not be decoded/);
      log(`corrupt image: "${corrupt.error}"`);
      await toast(/could not be decoded/).waitFor({ state: 'visible', timeout: 15_000 });
      assert.equal(await toast(/could not be decoded/).getByRole('button', { name: 'Choose an Image…' }).count(), 1, 'the image error offers another image');
      await paletteCommand('Notifications: Clear All Notifications', true);
      // A good image not open anywhere yet (Quick Open does not reliably re-activate a tab in another group).
      const good = 'recovered.jpg';
      fs.copyFileSync(path.join(REPO_ROOT, 'samples', IMAGE), path.join(workspace, good));
      await quickOpen(good);
      const deadline = Date.now() + INFERENCE_TIMEOUT;
      let name = '';
      let st = await statusOf(frame);
      while (Date.now() < deadline && !(name.includes(good) && st.state === 'done')) {
        await sleep(250);
        name = (await frame.locator('#image-name').textContent().catch(() => '')) ?? '';
        st = await statusOf(frame);
      }
      assert.ok(name.includes(good) && st.state === 'done', `after the errors the panel shows ${name} (${st.state}: ${st.text} ${st.error})`);
      await assertResults(frame);
    }));

  it('Explorer → right-click a folder → "Attention Distance over a Folder…" averages the panel model over its images, with progress',
    { timeout: INFERENCE_TIMEOUT + 180_000 }, () => withDiagnostics('folder-distance', async () => {
      // The last test opened images in the panel's editor group: bring the panel to the front.
      await page.locator('.tabs-container .tab', { hasText: 'ViT Lens:' }).first().click();
      const frame = await findVitLensFrame();
      // Back to the bundled ImageNet ViT (the Swin test switched models; Swin has no global attention distance).
      await paletteCommand('ViT Lens: Use the Bundled ImageNet ViT', true);
      const deadline = Date.now() + INFERENCE_TIMEOUT;
      while (Date.now() < deadline && !/ImageNet/.test(await frame.locator('#summary').textContent().catch(() => '') ?? '')) await sleep(250);
      const folder = path.join(workspace, 'photos');
      fs.mkdirSync(folder, { recursive: true });
      fs.copyFileSync(path.join(REPO_ROOT, 'samples', IMAGE), path.join(folder, 'a.jpg'));
      fs.copyFileSync(path.join(REPO_ROOT, 'samples', 'dog_beagle.jpg'), path.join(folder, 'b.jpg'));
      fs.writeFileSync(path.join(folder, 'notes.png'), 'not an image');
      if (!(await page.locator('.explorer-folders-view').isVisible())) await page.keyboard.press('Control+Shift+E');
      const row = page.locator('.explorer-folders-view .monaco-list-row', { hasText: /^photos$/ }).first();
      await row.waitFor({ state: 'visible', timeout: 30_000 });
      await contextMenuCommand(row, /^(ViT Lens: )?Attention Distance over a Folder…$/, 'photos');
      const done = page.locator('.notifications-toasts .notification-toast', { hasText: /attention distance averaged over 2 images of photos/ }).first();
      await done.waitFor({ state: 'visible', timeout: INFERENCE_TIMEOUT });
      const note = (await done.textContent()) ?? '';
      log(`folder distance: ${note}`);
      assert.match(note, /1 skipped: notes\.png/);
      const folderDistances = await frame.locator('#distance').getAttribute('data-folder-distances');
      const mean = JSON.parse(folderDistances ?? '[]') as number[][];
      assert.equal(mean.length, 12, 'twelve layers of folder-mean distances in the chart');
      assert.match(await frame.locator('#distance-text').textContent() ?? '', /Averaged over 2 images in photos/);
      await screenshot('vscode-folder-distance.png');
    }));

  it('"Welcome: Open Walkthrough..." → Get started with ViT Lens → "Visualize the Sample" shows the bundled sample, top-1 tabby cat',
    { timeout: INFERENCE_TIMEOUT + 120_000 }, () => withDiagnostics('walkthrough', async () => {
      await closeAllEditors();
      await paletteCommand('Welcome: Open Walkthrough...', true);
      const title = 'Get started with ViT Lens';
      await page.locator('.quick-input-box input').fill(title);
      await page.locator('.quick-input-list .monaco-list-row', { hasText: title }).first().click();
      await page.locator('.gettingStartedContainer', { hasText: title }).first().waitFor({ state: 'visible', timeout: 30_000 });
      // The first step is expanded; its button runs vitLens.openSample (the sample shipped in the package).
      const button = page.getByRole('button', { name: 'Visualize the Sample', exact: true });
      await button.waitFor({ state: 'visible', timeout: 15_000 });
      await screenshot('vscode-walkthrough.png');
      await button.click();
      const frame = await findVitLensFrame();
      await waitForDone(frame);
      await assertResults(frame, 'tabby cat');
      const name = (await frame.locator('#image-name').textContent()) ?? '';
      assert.match(name, /samples[\\/]cat_tabby\.jpg/, `the panel shows ${name}, not the packaged sample`);
      await screenshot('vscode-walkthrough-sample.png');
      // The model summary as drawn (an element screenshot would lose the webview's dark background).
      await frame.locator('#summary').scrollIntoViewIfNeeded();
      const box = await frame.locator('#summary').boundingBox();
      if (box) await page.screenshot({ path: path.join(RESULTS, 'vscode-walkthrough-summary.png'), clip: box });
    }));
});
