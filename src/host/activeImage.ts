/**
 * The image the user is looking at. Images open in VS Code's built-in image preview, a custom editor, so
 * `activeTextEditor` is undefined there: read the active tab's input instead.
 */
import * as vscode from 'vscode';
import { imageMime } from './visualizePanel';

const IMAGE_PREVIEW = 'imagePreview.previewEditor';

export function activeImageUri(): vscode.Uri | undefined {
  const input = vscode.window.tabGroups.activeTabGroup.activeTab?.input;
  if (input instanceof vscode.TabInputCustom && input.viewType === IMAGE_PREVIEW) return input.uri;
  if (input instanceof vscode.TabInputText && imageMime(input.uri)) return input.uri;
  return undefined;
}

/** Fires with the image URI whenever an image tab becomes the active tab. */
export function onDidActivateImage(listener: (uri: vscode.Uri) => void): vscode.Disposable {
  let last: string | undefined;
  return vscode.window.tabGroups.onDidChangeTabs(() => {
    const uri = activeImageUri();
    if (!uri || uri.toString() === last) return;
    last = uri.toString();
    listener(uri);
  });
}
