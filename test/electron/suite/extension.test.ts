import * as assert from 'assert';
import * as path from 'path';
import * as vscode from 'vscode';

const EXTENSION_ID = 'vit-lens.vit-lens';
const COMMANDS = ['vitLens.visualizeImage', 'vitLens.visualizeActiveImage', 'vitLens.selectModel'];
// out/test/electron/suite → repo root
const REPO_ROOT = path.resolve(__dirname, '..', '..', '..', '..');

describe('ViT Lens extension', () => {
  it('is present and activates', async () => {
    const ext = vscode.extensions.getExtension(EXTENSION_ID);
    assert.ok(ext, `extension ${EXTENSION_ID} not found (publisher.name in package.json?)`);
    await ext.activate();
    assert.strictEqual(ext.isActive, true);
  });

  it('registers its commands', async () => {
    await vscode.extensions.getExtension(EXTENSION_ID)?.activate();
    const all = await vscode.commands.getCommands(true);
    const missing = COMMANDS.filter((c) => !all.includes(c));
    assert.deepStrictEqual(missing, [], `commands not registered: ${missing.join(', ')}`);
  });

  it('vitLens.visualizeImage opens a webview panel for an image', async () => {
    const image = vscode.Uri.file(path.join(REPO_ROOT, 'samples', 'cat_tabby.jpg'));
    await vscode.commands.executeCommand('vitLens.visualizeImage', image);
    const deadline = Date.now() + 30_000;
    const webviewTabs = () => vscode.window.tabGroups.all.flatMap((g) => g.tabs)
      .filter((t) => t.input instanceof vscode.TabInputWebview);
    while (webviewTabs().length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 250));
    const tabs = webviewTabs();
    assert.ok(tabs.length > 0, 'no webview panel opened within 30 s');
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
  });
});
