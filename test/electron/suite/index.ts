// Entry point the extension host loads (--extensionTestsPath): runs every *.test.js next to this file.
import * as fs from 'fs';
import * as path from 'path';
import Mocha from 'mocha';

export function run(): Promise<void> {
  const mocha = new Mocha({ ui: 'bdd', color: !process.env.CI && process.env.NO_COLOR === undefined, timeout: 60_000 });
  const grep = process.env.VITLENS_TEST_GREP;
  if (grep) mocha.grep(grep);
  for (const f of fs.readdirSync(__dirname).filter((f) => f.endsWith('.test.js')).sort()) {
    mocha.addFile(path.join(__dirname, f));
  }
  // Marker: test/electron/code-server-shim.js mirrors the extension host's console from here on.
  console.log(`[vit-lens-tests] ${mocha.files.length} test file(s) in ${__dirname}`);
  return new Promise((resolve, reject) => {
    try {
      mocha.run((failures) => (failures > 0 ? reject(new Error(`${failures} test(s) failed.`)) : resolve()));
    } catch (e) {
      reject(e);
    }
  });
}
