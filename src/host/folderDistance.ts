/**
 * "ViT Lens: Attention Distance over a Folder…": the panel's model runs on every image of a folder the user
 * picks, and the mean attention distance per layer and head, averaged over the images, joins the panel's
 * Learned locality chart (ViT paper, Fig. 7 right, on the user's own data). Cancellable, with progress.
 */
import * as vscode from 'vscode';
import { toErrorInfo } from '../shared/errors';
import { imageMime, VisualizePanel } from './visualizePanel';

/** Enough images for a stable average; more only takes longer. */
const MAX_IMAGES = 500;

export async function attentionDistanceOverFolder(folderArg?: vscode.Uri): Promise<void> {
  const panel = VisualizePanel.active;
  if (!panel?.image) {
    void vscode.window.showInformationMessage(vscode.l10n.t('ViT Lens: visualize an image first; the folder is measured with the model the panel shows.'));
    return;
  }
  const folder = folderArg ?? (await vscode.window.showOpenDialog({
    title: vscode.l10n.t('ViT Lens: average attention distance over the images in…'),
    canSelectFiles: false,
    canSelectFolders: true,
    canSelectMany: false,
    defaultUri: vscode.Uri.joinPath(panel.image, '..'),
    openLabel: vscode.l10n.t('Measure this folder'),
  }))?.[0];
  if (!folder) return;
  const entries = await vscode.workspace.fs.readDirectory(folder);
  const images = entries.filter(([name, type]) => type === vscode.FileType.File && imageMime(vscode.Uri.joinPath(folder, name))).map(([name]) => vscode.Uri.joinPath(folder, name)).sort((a, b) => a.path.localeCompare(b.path));
  const label = vscode.workspace.asRelativePath(folder, false);
  if (!images.length) {
    void vscode.window.showWarningMessage(vscode.l10n.t('ViT Lens: {0} holds no PNG, JPEG, WebP, GIF, BMP or SVG images.', label));
    return;
  }
  const todo = images.slice(0, MAX_IMAGES);
  const result = await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: vscode.l10n.t('ViT Lens: attention distance over {0}', label), cancellable: true }, async (progress, token) => {
    let sum: number[][] | undefined;
    let modelKey = '';
    let done = 0, skipped = 0;
    const errors: string[] = [];
    for (const [i, uri] of todo.entries()) {
      if (token.isCancellationRequested) break;
      progress.report({ increment: 100 / todo.length, message: `${i + 1}/${todo.length}: ${uri.path.split('/').pop()}` });
      try {
        const r = await panel.measureDistances(uri);
        if (modelKey && r.modelKey !== modelKey) throw new Error(vscode.l10n.t('the panel switched to another model'));
        modelKey = r.modelKey;
        sum = sum ? sum.map((hs, l) => hs.map((v, h) => v + r.distances[l][h])) : r.distances.map((hs) => [...hs]);
        done++;
      } catch (e) {
        skipped++;
        if (errors.length < 3) errors.push(`${uri.path.split('/').pop()}: ${toErrorInfo(e).message.replace(/\.$/, '')}`);
      }
    }
    return { sum, modelKey, done, skipped, errors, cancelled: token.isCancellationRequested };
  });
  if (!result.sum || result.done === 0) {
    void vscode.window.showErrorMessage(vscode.l10n.t('ViT Lens: no image of {0} could be measured. {1}', label, result.errors.join(' ')));
    return;
  }
  panel.showFolderDistance({ modelKey: result.modelKey, folder: label, images: result.done, skipped: result.skipped, mean: result.sum.map((hs) => hs.map((v) => v / result.done)) });
  const more = images.length > todo.length ? ` ${vscode.l10n.t('(the first {0} of {1})', todo.length, images.length)}` : '';
  const notes = [result.cancelled ? vscode.l10n.t('cancelled early') : '', result.skipped ? vscode.l10n.t('{0} skipped: {1}', result.skipped, result.errors.join('; ')) : ''].filter(Boolean).join('; ');
  const extra = `${more}${notes ? ` (${notes})` : ''}`;
  void vscode.window.showInformationMessage(result.done === 1
    ? vscode.l10n.t('ViT Lens: attention distance averaged over {0} image of {1}{2}.', result.done, label, extra)
    : vscode.l10n.t('ViT Lens: attention distance averaged over {0} images of {1}{2}.', result.done, label, extra));
}
