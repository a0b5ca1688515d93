/**
 * A real VS Code for tests, offline: code-server (VS Code 1.100.3 workbench + Node extension host, from the
 * npm registry, installed by scripts/install-code-server.sh) driven through Debian's Chromium with
 * playwright-core. Recipe and measured facts: shared/E2E.md.
 *
 * Used by test/vscode/e2e.test.ts (run with tsx) and by test/electron/code-server-shim.js.
 */
import { ChildProcess, execFileSync, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Browser, LaunchOptions } from 'playwright-core';

export const REPO_ROOT = path.resolve(__dirname, '..', '..');

export interface CodeServerOptions {
  /** Folder to open in the workbench. */
  folder?: string;
  /** Packaged extension(s) to install into the fresh extensions dir before start. */
  vsix?: string | string[];
  /** TCP port; a free one is picked when omitted (or 0). */
  port?: number;
  /** Host to bind; default 127.0.0.1. */
  host?: string;
  /** User settings written to <user-data-dir>/User/settings.json (merged over the test defaults). */
  settings?: Record<string, unknown>;
  /** Extra command-line arguments for code-server. */
  extraArgs?: string[];
  /** Extra environment for code-server (and so for the extension host). */
  env?: NodeJS.ProcessEnv;
  /** Keep the temp folder after stop() (for debugging); also via VITLENS_KEEP_TMP=1. */
  keepTmp?: boolean;
  /** Forward code-server's output to this process's stderr; also via VITLENS_CODE_SERVER_LOG=1. */
  verbose?: boolean;
  /** Prefix for the temp folder's name. */
  tmpPrefix?: string;
  /** Extensions dir to use instead of a fresh one (the vsix is installed into it). */
  extensionsDir?: string;
  /** User data dir to use instead of a fresh one. */
  userDataDir?: string;
}

export interface CodeServer {
  /** Base URL, e.g. http://127.0.0.1:41234/ */
  url: string;
  /** URL that opens `folder` (or url when no folder). */
  folderUrl: string;
  port: number;
  host: string;
  /** Temp folder holding user data, extensions, XDG dirs, config. */
  tmpDir: string;
  userDataDir: string;
  extensionsDir: string;
  process: ChildProcess;
  /** Everything code-server printed so far. */
  logs(): string;
  /** Kill the process group, wait for exit, remove the temp folder. Safe to call twice. */
  stop(): Promise<void>;
}

export const DEFAULT_SETTINGS: Record<string, unknown> = {
  'workbench.startupEditor': 'none',
  'workbench.tips.enabled': false,
  'workbench.enableExperiments': false,
  'workbench.welcomePage.walkthroughs.openOnInstall': false,
  'security.workspace.trust.enabled': false,
  'telemetry.telemetryLevel': 'off',
  'update.mode': 'none',
  'extensions.autoCheckUpdates': false,
  'extensions.autoUpdate': false,
  'extensions.ignoreRecommendations': true,
  'git.enabled': false,
  'git.openRepositoryInParentFolders': 'never',
  'chat.commandCenter.enabled': false,
  'workbench.editor.enablePreview': false,
};

/** Folder that holds node_modules/code-server; installs it (cached, ~1 min the first time) if needed. */
let cachedDir: string | undefined;
export function codeServerDir(): string {
  const fromEnv = process.env.VITLENS_CODE_SERVER_DIR;
  if (fromEnv) return fromEnv;
  if (cachedDir) return cachedDir;
  const script = path.join(REPO_ROOT, 'scripts', 'install-code-server.sh');
  const out = execFileSync('bash', [script], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  const lines = out.trim().split('\n');
  return (cachedDir = lines[lines.length - 1].trim());
}

export function codeServerEntry(): string {
  const entry = path.join(codeServerDir(), 'node_modules', 'code-server', 'out', 'node', 'entry.js');
  if (!fs.existsSync(entry)) throw new Error(`code-server entry not found: ${entry} (run scripts/install-code-server.sh)`);
  return entry;
}

export async function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, host, () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

function xdgEnv(dir: string): NodeJS.ProcessEnv {
  for (const d of ['config', 'data', 'cache', 'home', 'tmp']) fs.mkdirSync(path.join(dir, d), { recursive: true });
  return {
    TMPDIR: path.join(dir, 'tmp'), // code-server's vscode-ipc-*.sock files land here, removed with the folder
    XDG_CONFIG_HOME: path.join(dir, 'config'),
    XDG_DATA_HOME: path.join(dir, 'data'),
    XDG_CACHE_HOME: path.join(dir, 'cache'),
  };
}

/** Install a .vsix into an extensions dir with code-server's CLI (~1 s). */
export function installVsix(vsix: string, extensionsDir: string, userDataDir: string, env: NodeJS.ProcessEnv): void {
  if (!fs.existsSync(vsix)) throw new Error(`extension package not found: ${vsix}`);
  try {
    execFileSync(process.execPath, [codeServerEntry(), '--user-data-dir', userDataDir, '--extensions-dir', extensionsDir,
      '--install-extension', path.resolve(vsix), '--force'], { env, encoding: 'utf8', stdio: 'pipe', timeout: 120_000 });
  } catch (e) {
    const err = e as { stdout?: string; stderr?: string; message: string };
    throw new Error(`installing ${vsix} into code-server failed: ${err.message}\n${err.stdout ?? ''}${err.stderr ?? ''}`);
  }
}

async function waitForHealthz(url: string, proc: ChildProcess, logs: () => string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < deadline) {
    if (proc.exitCode !== null || proc.signalCode !== null) {
      throw new Error(`code-server exited early (${proc.exitCode ?? proc.signalCode}):\n${logs()}`);
    }
    try {
      const res = await fetch(new URL('healthz', url), { signal: AbortSignal.timeout(2000) });
      if (res.ok) return;
      last = `HTTP ${res.status}`;
    } catch (e) {
      last = String(e);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`code-server did not answer ${url}healthz within ${timeoutMs} ms (${last}):\n${logs()}`);
}

export async function startCodeServer(opts: CodeServerOptions = {}): Promise<CodeServer> {
  const entry = codeServerEntry();
  const host = opts.host ?? '127.0.0.1';
  const port = opts.port || (await freePort(host));
  const tmpDir = fs.mkdtempSync(path.join(os.tmpdir(), opts.tmpPrefix ?? 'vit-lens-code-server-'));
  const userDataDir = opts.userDataDir ?? path.join(tmpDir, 'user-data');
  const extensionsDir = opts.extensionsDir ?? path.join(tmpDir, 'extensions');
  fs.mkdirSync(path.join(userDataDir, 'User'), { recursive: true });
  fs.mkdirSync(extensionsDir, { recursive: true });
  const settingsFile = path.join(userDataDir, 'User', 'settings.json');
  let existing: Record<string, unknown> = {};
  try { existing = JSON.parse(fs.readFileSync(settingsFile, 'utf8')); } catch { /* fresh */ }
  fs.writeFileSync(settingsFile, JSON.stringify({ ...DEFAULT_SETTINGS, ...existing, ...opts.settings }, null, 2));
  const configFile = path.join(tmpDir, 'config.yaml');
  fs.writeFileSync(configFile, `bind-addr: ${host}:${port}\nauth: none\ncert: false\n`);

  const env: NodeJS.ProcessEnv = { ...process.env, ...xdgEnv(tmpDir), ...opts.env };
  // Never inherit a parent VS Code's IPC hooks / this repo's npm settings into the server.
  for (const k of Object.keys(env)) if (k.startsWith('VSCODE_') || k.startsWith('npm_')) delete env[k];

  for (const v of ([] as string[]).concat(opts.vsix ?? [])) installVsix(v, extensionsDir, userDataDir, env);

  const args = [entry,
    '--auth', 'none', '--bind-addr', `${host}:${port}`,
    '--user-data-dir', userDataDir, '--extensions-dir', extensionsDir,
    '--disable-telemetry', '--disable-update-check', '--disable-workspace-trust',
    '--disable-getting-started-override', '--ignore-last-opened',
    '--config', configFile,
    ...(opts.extraArgs ?? []),
  ];
  if (opts.folder) args.push(opts.folder);
  const verbose = opts.verbose ?? process.env.VITLENS_CODE_SERVER_LOG === '1';
  const proc = spawn(process.execPath, args, { env, cwd: tmpDir, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const onData = (d: Buffer) => {
    out += d.toString();
    if (out.length > 200_000) out = out.slice(-100_000);
    if (verbose) process.stderr.write(d);
  };
  proc.stdout!.on('data', onData);
  proc.stderr!.on('data', onData);
  const url = `http://${host}:${port}/`;
  const folderUrl = opts.folder ? `${url}?folder=${encodeURIComponent(path.resolve(opts.folder))}` : url;

  let stopped: Promise<void> | undefined;
  const stop = () => {
    stopped ??= (async () => {
      if (proc.exitCode === null && proc.signalCode === null) {
        const exited = new Promise<void>((r) => proc.once('exit', () => r()));
        const kill = (sig: NodeJS.Signals) => { try { process.kill(-proc.pid!, sig); } catch { /* gone */ } };
        kill('SIGTERM');
        const t = setTimeout(() => kill('SIGKILL'), 5000);
        await Promise.race([exited, new Promise((r) => setTimeout(r, 8000))]);
        clearTimeout(t);
        kill('SIGKILL'); // leftovers in the group (extension host, pty host, file watcher)
      }
      if (!(opts.keepTmp ?? process.env.VITLENS_KEEP_TMP === '1')) fs.rmSync(tmpDir, { recursive: true, force: true });
    })();
    return stopped;
  };

  try {
    await waitForHealthz(url, proc, () => out, 60_000);
  } catch (e) {
    await stop();
    throw e;
  }
  return { url, folderUrl, port, host, tmpDir, userDataDir, extensionsDir, process: proc, logs: () => out, stop };
}

export const CHROMIUM_ARGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
  '--disable-dev-shm-usage',
];

export function chromiumPath(): string {
  const candidates = [process.env.CHROMIUM_PATH, '/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome'];
  const found = candidates.find((p) => p && fs.existsSync(p));
  if (!found) throw new Error('Chromium not found: apt-get install chromium, or set CHROMIUM_PATH');
  return found;
}

export interface LaunchedBrowser {
  browser: Browser;
  /** Close the browser and remove its temp HOME. */
  close(): Promise<void>;
}

/** Headless Debian Chromium through playwright-core, HOME/XDG redirected into a temp folder. */
export async function launchBrowser(extraArgs: string[] = [], options: LaunchOptions = {}): Promise<LaunchedBrowser> {
  const { chromium } = await import('playwright-core');
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'vit-lens-chromium-'));
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined) env[k] = v;
  Object.assign(env, { HOME: path.join(home, 'home') }, xdgEnv(home));
  const browser = await chromium.launch({
    executablePath: chromiumPath(),
    headless: true,
    args: [...CHROMIUM_ARGS, ...extraArgs],
    env,
    timeout: 60_000,
    ...options,
  });
  let closed: Promise<void> | undefined;
  return {
    browser,
    close: () => (closed ??= (async () => {
      await browser.close().catch(() => undefined);
      fs.rmSync(home, { recursive: true, force: true });
    })()),
  };
}
