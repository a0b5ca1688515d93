/** The extension host's model thread for Node tests and the benchmark: the TypeScript source through tsx, no build. */
import { mkdtempSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ModelThreadClient } from '../../src/host/modelThreadClient';

const ROOT = path.resolve(__dirname, '../..');

export function modelThreadFromSource(threads = 1): ModelThreadClient {
  const boot = path.join(mkdtempSync(path.join(os.tmpdir(), 'vitlens-thread-')), 'boot.js');
  writeFileSync(boot, `require(${JSON.stringify(require.resolve('tsx/cjs/api'))}).register();\nrequire(${JSON.stringify(path.join(ROOT, 'src/host/modelThread.ts'))});\n`);
  return new ModelThreadClient(boot, path.join(ROOT, 'node_modules/onnxruntime-web/dist'), threads);
}
