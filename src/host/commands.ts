/** The palette and context-menu commands (all under the "ViT Lens" category). */
import * as vscode from 'vscode';
import { activeImageUri } from './activeImage';
import { attentionDistanceOverFolder } from './folderDistance';
import { bundledModels, DEFAULT_BUNDLED_MODEL } from '../shared/bundledModels';
import { SECTION, settings } from './settings';
import { imageMime, VisualizePanel } from './visualizePanel';

export function registerCommands(context: vscode.ExtensionContext): void {
  context.subscriptions.push(
    vscode.commands.registerCommand('vitLens.visualizeImage', async (uri?: vscode.Uri) => {
      const image = uri ?? activeImageUri() ?? (await pickImage());
      if (!image) return;
      if (!imageMime(image)) {
        void vscode.window.showErrorMessage(vscode.l10n.t('ViT Lens: {0} is not a PNG, JPEG, WebP, GIF, BMP or SVG image.', image.path.split('/').pop() ?? ''));
        return;
      }
      await VisualizePanel.show(context, image);
    }),
    vscode.commands.registerCommand('vitLens.visualizeActiveImage', async () => {
      const image = activeImageUri();
      if (!image) {
        const pick = vscode.l10n.t('Choose an Image…');
        const c = await vscode.window.showInformationMessage(vscode.l10n.t('ViT Lens: open an image in the editor first (PNG, JPEG, WebP, GIF or BMP).'), pick);
        if (c === pick) await vscode.commands.executeCommand('vitLens.visualizeImage');
        return;
      }
      await VisualizePanel.show(context, image);
    }),
    vscode.commands.registerCommand('vitLens.selectModel', async () => {
      const current = settings().modelPath;
      type Item = vscode.QuickPickItem & { value?: string };
      const items: Item[] = [
        // l10n-ignore: a codicon id before the (localized) model label; the description is the setting value it sets
        ...bundledModels().map((m) => ({ label: `$(package) ${m.label}`, description: `bundled:${m.name}`, value: `bundled:${m.name}`, picked: current === `bundled:${m.name}` || (!current && m.name === DEFAULT_BUNDLED_MODEL) })),
        { label: vscode.l10n.t('$(folder-opened) Browse for an ONNX file…') },
      ];
      const pick = await vscode.window.showQuickPick(items, { title: vscode.l10n.t('ViT Lens: choose a model'), placeHolder: current ? vscode.l10n.t('Current: {0}', current) : vscode.l10n.t('Current: the bundled ImageNet ViT-Ti/16') });
      if (!pick) return;
      let value = pick.value;
      if (!value) {
        const picked = await vscode.window.showOpenDialog({
          title: vscode.l10n.t('ViT Lens: choose an ONNX Vision Transformer'),
          canSelectMany: false,
          filters: { [vscode.l10n.t('ONNX models')]: ['onnx'] },
          openLabel: vscode.l10n.t('Use this model'),
        });
        if (!picked?.[0]) return;
        value = picked[0].scheme === 'file' ? picked[0].fsPath : picked[0].toString();
      }
      // The configuration listener re-renders an open panel with the new model.
      await vscode.workspace.getConfiguration(SECTION).update('modelPath', value, vscode.ConfigurationTarget.Global);
    }),
    vscode.commands.registerCommand('vitLens.attentionDistanceOverFolder', (folder?: vscode.Uri) => attentionDistanceOverFolder(folder instanceof vscode.Uri ? folder : undefined)),
    vscode.commands.registerCommand('vitLens.useBundledModel', async () => {
      await vscode.workspace.getConfiguration(SECTION).update('modelPath', undefined, vscode.ConfigurationTarget.Global);
    }),
  );
}

async function pickImage(): Promise<vscode.Uri | undefined> {
  const picked = await vscode.window.showOpenDialog({
    title: vscode.l10n.t('ViT Lens: choose an image'),
    canSelectMany: false,
    filters: { [vscode.l10n.t('Images')]: ['png', 'jpg', 'jpeg', 'webp', 'gif', 'bmp', 'svg'] },
  });
  return picked?.[0];
}
