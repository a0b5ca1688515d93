/**
 * @vscode/test-electron runner: compiles with `npx tsc -p test/electron`, runs with
 * `node out/test/electron/runTest.js`.
 *
 * With internet (a developer's machine) it downloads desktop VS Code and runs the mocha suite in
 * out/test/electron/suite against the extension at the repo root (package.json main = dist/extension.js, so
 * `npm run build` first; Linux without a display needs xvfb-run).
 * Offline, or with VITLENS_CODE_SERVER_SHIM=1, the "VS Code executable" is test/electron/code-server-shim.js:
 * it runs the same suite in code-server's extension host (see shared/E2E.md).
 * Env: VITLENS_EXT_DEV_PATH (extension folder, default repo root), VSCODE_TEST_VERSION (default stable).
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { downloadAndUnzipVSCode, runTests } from '@vscode/test-electron';

function repoRoot(): string {
  for (let dir = __dirname; dir !== path.dirname(dir); dir = path.dirname(dir)) {
    const pkg = path.join(dir, 'package.json');
    if (fs.existsSync(pkg) && JSON.parse(fs.readFileSync(pkg, 'utf8')).name === 'vit-lens') return dir;
  }
  throw new Error(`repo root (package.json "vit-lens") not found above ${__dirname}`);
}

async function main(): Promise<number> {
  const root = repoRoot();
  const extensionDevelopmentPath = path.resolve(process.env.VITLENS_EXT_DEV_PATH ?? root);
  const extensionTestsPath = path.join(root, 'out', 'test', 'electron', 'suite', 'index');
  if (!fs.existsSync(extensionTestsPath + '.js')) {
    throw new Error(`${extensionTestsPath}.js missing: run "npx tsc -p test/electron" first`);
  }
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'vit-lens-test-electron-'));
  const profileArgs = [`--user-data-dir=${path.join(profile, 'user-data')}`, `--extensions-dir=${path.join(profile, 'extensions')}`];
  const workspace = path.join(root, 'samples');
  try {
    let useShim = process.env.VITLENS_CODE_SERVER_SHIM === '1';
    let vscodeExecutablePath: string | undefined;
    if (!useShim) {
      try {
        vscodeExecutablePath = await downloadAndUnzipVSCode({ version: process.env.VSCODE_TEST_VERSION ?? 'stable', timeout: 20_000 });
      } catch (e) {
        console.warn(`Desktop VS Code could not be downloaded (${(e as Error).message}); using code-server instead.`);
        useShim = true;
      }
    }
    if (useShim) {
      // test-electron spawns `executable launchArgs… itsArgs…`: node + the shim script stands in for VS Code.
      const shim = path.join(root, 'test', 'electron', 'code-server-shim.js');
      return await runTests({
        vscodeExecutablePath: process.execPath,
        extensionDevelopmentPath, extensionTestsPath,
        launchArgs: [shim, workspace, ...profileArgs],
      });
    }
    return await runTests({
      vscodeExecutablePath, extensionDevelopmentPath, extensionTestsPath,
      launchArgs: [workspace, '--disable-extensions', ...profileArgs],
    });
  } finally {
    fs.rmSync(profile, { recursive: true, force: true });
  }
}

main().then(
  (code) => process.exit(code),
  (err) => {
    console.error(`Test run failed: ${err instanceof Error ? err.message : err}`);
    process.exit(typeof err?.code === 'number' && err.code !== 0 ? err.code : 1);
  },
);
