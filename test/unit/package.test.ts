/**
 * The Marketplace package: icon, banner, keywords, licence files, and what `vsce ls` says the .vsix holds.
 *
 * Build-independent: `vsce ls` runs twice, on the working tree as it is (whatever is built or not) and on a
 * scratch copy of the tree's file list (empty files) with every webpack output added, so that dist/ is checked
 * even before `npm run build`.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync, copyFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

const ROOT = path.resolve(__dirname, '../..');
const pkg = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as {
  icon?: string; galleryBanner?: { color?: string; theme?: string }; keywords?: string[]; license?: string; main?: string;
};
const VSCE = path.join(ROOT, 'node_modules/@vscode/vsce/vsce');

/** The files `vsce ls` lists for the extension in `cwd`, with the options `npm run package` uses. */
function vsceLs(cwd: string): string[] {
  const out = execFileSync(process.execPath, [VSCE, 'ls', '--no-dependencies'], { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  return out.split('\n').map((l) => l.trim()).filter((l) => l.length > 0).sort();
}

/** Width, height, bit depth and colour type from a PNG's IHDR chunk. */
function pngHeader(b: Buffer): { width: number; height: number; bitDepth: number; colorType: number } {
  assert.deepEqual([...b.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a], 'PNG signature');
  assert.equal(b.readUInt32BE(8), 13, 'IHDR length');
  assert.equal(b.toString('latin1', 12, 16), 'IHDR', 'first chunk is IHDR');
  return { width: b.readUInt32BE(16), height: b.readUInt32BE(20), bitDepth: b[24], colorType: b[25] };
}

const FORBIDDEN_DIRS = ['src/', 'test/', 'scripts/', 'bench/', 'docs/', 'samples/', 'node_modules/', 'out/', 'test-results/', '.cache/', 'bin/', 'models/reference/'];
const REQUIRED = ['package.json', 'package.nls.json', 'l10n/bundle.l10n.json', 'README.md', 'LICENSE', 'THIRD_PARTY_NOTICES.md', 'CHANGELOG.md', 'media/icon.png', 'models/vit-tiny-imagenet.onnx', 'models/vit-tiny-imagenet.json'];
/** The extension host's files: the extension, its model thread, and the JPEG decoder's WASM (src/host/decodeJpeg.ts). */
const HOST_FILES = ['dist/extension.js', 'dist/modelThread.js', 'dist/mozjpeg_dec.wasm'];
const BUILT = ['dist/extension.js', 'dist/modelThread.js', 'dist/mozjpeg_dec.wasm', 'dist/webview/ort-wasm-simd-threaded.mjs', 'dist/webview/main.js', 'dist/webview/sidebar.js', 'dist/webview/worker-wasm.js', 'dist/webview/worker-webgpu.js'];

/** Single files .vscodeignore lets in by name (`!samples/cat_tabby.jpg`), not by a glob. */
const namedInIgnoreFile = () => new Set(readFileSync(path.join(ROOT, '.vscodeignore'), 'utf8').split('\n')
  .map((l) => l.trim()).filter((l) => l.startsWith('!') && !/[*?[{]/.test(l)).map((l) => l.slice(1)));

function checkListing(files: string[], where: string): void {
  const named = namedInIgnoreFile();
  for (const f of files) {
    const dir = FORBIDDEN_DIRS.find((d) => f.startsWith(d));
    assert.ok(dir === undefined || named.has(f), `${where}: ${f} is under ${dir} and not named in .vscodeignore`);
    assert.ok(!/\.(ts|tsx|mts|cts)$/.test(f), `${where}: TypeScript source ${f} is packaged`);
    assert.ok(!/\.(vsix|py|sh|pt|tgz)$/.test(f), `${where}: ${f} is packaged`);
    assert.ok(!f.startsWith('dist/') || HOST_FILES.includes(f) || f.startsWith('dist/webview/'), `${where}: ${f} (only ${HOST_FILES.join(', ')} and dist/webview/ belong in the package)`);
  }
  for (const f of REQUIRED) assert.ok(files.includes(f), `${where}: ${f} is not packaged`);
  // A packaged photo is someone else's work: THIRD_PARTY_NOTICES.md must say where it comes from.
  const notices = readFileSync(path.join(ROOT, 'THIRD_PARTY_NOTICES.md'), 'utf8');
  for (const f of files.filter((x) => x.startsWith('samples/'))) assert.ok(notices.includes(f), `${where}: ${f} is packaged but not credited in THIRD_PARTY_NOTICES.md`);
  // So is a packaged WASM binary built from someone else's code.
  for (const f of files.filter((x) => x.endsWith('.wasm'))) assert.ok(notices.includes(path.basename(f)) || notices.includes('dist/webview/*.wasm'), `${where}: ${f} is packaged but not in THIRD_PARTY_NOTICES.md`);
}

test('package.json: icon is a 128×128 PNG under 30 KB, dark gallery banner, keywords within the Marketplace limit', () => {
  assert.equal(pkg.icon, 'media/icon.png');
  const icon = readFileSync(path.join(ROOT, pkg.icon!));
  const h = pngHeader(icon);
  assert.deepEqual([h.width, h.height], [128, 128]);
  assert.ok(icon.length < 30 * 1024, `icon is ${icon.length} bytes`);
  assert.match(pkg.galleryBanner?.color ?? '', /^#[0-9a-fA-F]{6}$/);
  assert.equal(pkg.galleryBanner?.theme, 'dark');
  const kw = pkg.keywords ?? [];
  assert.ok(kw.length > 0 && kw.length <= 30, `${kw.length} keywords (the Marketplace allows 30)`);
  assert.equal(new Set(kw.map((k) => k.toLowerCase())).size, kw.length, 'keywords are unique');
  for (const k of ['explainability', 'grad-cam', 'attention rollout', 'vision transformer']) assert.ok(kw.includes(k), k);
});

test('LICENSE (MIT), THIRD_PARTY_NOTICES.md (Apache-2.0 weights) and CHANGELOG.md exist and .vscodeignore lets them in', () => {
  assert.equal(pkg.license, 'MIT');
  const license = readFileSync(path.join(ROOT, 'LICENSE'), 'utf8');
  assert.match(license, /^MIT License\n\nCopyright \(c\) 2026 ViT Lens contributors\n/);
  const notices = readFileSync(path.join(ROOT, 'THIRD_PARTY_NOTICES.md'), 'utf8');
  assert.match(notices, /models\/vit-tiny-imagenet\.onnx/);
  assert.match(notices, /Apache License\s+Version 2\.0, January 2004/);
  assert.match(notices, /END OF TERMS AND CONDITIONS/, 'the full Apache-2.0 text');
  assert.match(notices, /imagenet-simple-labels/);
  const card = JSON.parse(readFileSync(path.join(ROOT, 'models/vit-tiny-imagenet.json'), 'utf8')) as { licence?: { weights?: string } };
  assert.match(card.licence?.weights ?? '', /^Apache-2\.0/, 'the model card says the weights are Apache-2.0, as the notices do');
  assert.match(readFileSync(path.join(ROOT, 'CHANGELOG.md'), 'utf8'), /^## \[0\.1\.0\]/m);
  const allow = readFileSync(path.join(ROOT, '.vscodeignore'), 'utf8').split('\n').map((l) => l.trim());
  for (const f of ['LICENSE', 'CHANGELOG.md', 'THIRD_PARTY_NOTICES.md', 'media/icon.png']) assert.ok(allow.includes(`!${f}`), `.vscodeignore has !${f}`);
});

test('vsce ls on the working tree: no sources, tests, scripts or docs; the licence files, icon and real model are in', () => {
  const files = vsceLs(ROOT);
  checkListing(files, 'working tree');
  // dist/ holds what the last build left; when there is one, its entry point is packaged.
  if (existsSync(path.join(ROOT, pkg.main ?? 'dist/extension.js'))) assert.ok(files.includes('dist/extension.js'), 'dist/extension.js is built but not packaged');
});

test('vsce ls on the tree with every build output in place: dist/extension.js and the webview are in, nothing else of dist/', () => {
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'vitlens-vsce-ls-'));
  try {
    const tracked = execFileSync('git', ['ls-files', '--cached', '--others', '--exclude-standard', '-z'], { cwd: ROOT, encoding: 'utf8' })
      .split('\0').filter((f) => f.length > 0 && existsSync(path.join(ROOT, f)) && statSync(path.join(ROOT, f)).isFile());
    // The files webpack writes (webpack.config.js), with the leftovers `npm run package` must not ship.
    const outputs = [...BUILT, 'dist/cli.js', 'dist/vit-lens.vsix', 'dist/webview/ort-wasm-simd-threaded.wasm', 'dist/webview/codicons/codicon.css'];
    for (const f of [...tracked, ...outputs]) {
      const dst = path.join(tmp, f);
      mkdirSync(path.dirname(dst), { recursive: true });
      if (f === 'package.json' || f === '.vscodeignore' || f === 'README.md') copyFileSync(path.join(ROOT, f), dst);
      else writeFileSync(dst, '');
    }
    const files = vsceLs(tmp);
    checkListing(files, 'tree with build outputs');
    for (const f of BUILT) assert.ok(files.includes(f), `${f} is not packaged`);
    for (const f of ['dist/cli.js', 'dist/vit-lens.vsix']) assert.ok(!files.includes(f), `${f} is packaged`);
    assert.ok(tracked.some((f) => f.startsWith('src/') && f.endsWith('.ts')), 'the scratch tree has the TypeScript sources to leave out');
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
});
