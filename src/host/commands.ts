/** The palette and context-menu commands (all under the "ViT Lens" category). */
import * as vscode from 'vscode';
import { activeImageUri } from './activeImage';
import { SECTION } from './settings';
import { imageMime, VisualizePanel } from './visualizePanel';

export function registerCommands(context: vscode.ExtensionContext): void {
  context.subscriptions.push(
    vscode.commands.registerCommand('vitLens.visualizeImage', async (uri?: vscode.Uri) => {
      const image = uri ?? activeImageUri() ?? (await pickImage());
      if (!image) return;
      if (!imageMime(image)) {
        void vscode.window.showErrorMessage(`ViT Lens: ${image.path.split('/').pop()} is not a PNG, JPEG, WebP, GIF or BMP image.`);
        return;
      }
      await VisualizePanel.show(context, image);
    }),
    vscode.commands.registerCommand('vitLens.visualizeActiveImage', async () => {
      const image = activeImageUri();
      if (!image) {
        const pick = 'Choose an Image…';
        const c = await vscode.window.showInformationMessage('ViT Lens: open an image in the editor first (PNG, JPEG, WebP, GIF or BMP).', pick);
        if (c === pick) await vscode.commands.executeCommand('vitLens.visualizeImage');
        return;
      }
      await VisualizePanel.show(context, image);
    }),
    vscode.commands.registerCommand('vitLens.selectModel', async () => {
      const picked = await vscode.window.showOpenDialog({
        title: 'ViT Lens: choose an ONNX Vision Transformer',
        canSelectMany: false,
        filters: { 'ONNX models': ['onnx'] },
        openLabel: 'Use this model',
      });
      if (!picked?.[0]) return;
      await vscode.workspace.getConfiguration(SECTION).update('modelPath', picked[0].scheme === 'file' ? picked[0].fsPath : picked[0].toString(), vscode.ConfigurationTarget.Global);
      const panel = VisualizePanel.active;
      if (panel?.image) await panel.visualize(panel.image);
    }),
    vscode.commands.registerCommand('vitLens.useBundledModel', async () => {
      await vscode.workspace.getConfiguration(SECTION).update('modelPath', undefined, vscode.ConfigurationTarget.Global);
      const panel = VisualizePanel.active;
      if (panel?.image) await panel.visualize(panel.image);
    }),
  );
}

async function pickImage(): Promise<vscode.Uri | undefined> {
  const picked = await vscode.window.showOpenDialog({
    title: 'ViT Lens: choose an image',
    canSelectMany: false,
    filters: { Images: ['png', 'jpg', 'jpeg', 'webp', 'gif', 'bmp'] },
  });
  return picked?.[0];
}
