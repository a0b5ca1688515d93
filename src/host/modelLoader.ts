/**
 * Reads the user's ONNX model with vscode.workspace.fs (works in Remote and virtual workspaces), finds the
 * ViT in it, instruments the attention and finds its model card. Cached by URI, mtime and size.
 */
import * as vscode from 'vscode';
import { ModelFormatError, VitLensError } from '../shared/errors';
import { CardFiles, cardFileName, checkModelSize, PreparedModel, prepareModel } from '../shared/prepareModel';
import { settings } from './settings';
import { DEFAULT_BUNDLED_MODEL } from '../shared/bundledModels';

let cache: { id: string; model: PreparedModel } | undefined;

export function bundledModelUri(extensionUri: vscode.Uri, name = DEFAULT_BUNDLED_MODEL): vscode.Uri {
  return vscode.Uri.joinPath(extensionUri, 'models', `${name}.onnx`);
}

/** The model in use: `vitLens.modelPath` (absolute, or relative to the first workspace folder), else the bundled ImageNet ViT. */
export function activeModelUri(extensionUri: vscode.Uri): vscode.Uri {
  const p = settings().modelPath;
  if (!p) return bundledModelUri(extensionUri);
  const bundled = /^bundled:([\w-]+)$/.exec(p);
  if (bundled) return bundledModelUri(extensionUri, bundled[1]);
  if (/^[a-z][a-z0-9+.-]+:\/\//i.test(p)) return vscode.Uri.parse(p);
  if (p.startsWith('/') || /^[a-zA-Z]:[\\/]/.test(p)) return vscode.Uri.file(p);
  const folder = vscode.workspace.workspaceFolders?.[0]?.uri;
  return folder ? vscode.Uri.joinPath(folder, p) : vscode.Uri.file(p);
}

/**
 * The same bytes as a plain Uint8Array (no copy). The extension host reads files as Node Buffers, and
 * webview.postMessage would send a Buffer through its toJSON as {type: 'Buffer', data: [...]}.
 */
export function plainBytes(b: Uint8Array): Uint8Array {
  return Object.getPrototypeOf(b) === Uint8Array.prototype ? b : new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
}

export async function loadModel(uri: vscode.Uri): Promise<PreparedModel> {
  let stat: vscode.FileStat;
  try {
    stat = await vscode.workspace.fs.stat(uri);
  } catch {
    // l10n-ignore: 'file' is the ErrorKind, not text
    throw new VitLensError('file', vscode.l10n.t('The model file {0} does not exist or cannot be read.', uri.fsPath || uri.toString()), vscode.l10n.t('Run "ViT Lens: Select Model…" or clear the vitLens.modelPath setting to use the bundled ImageNet ViT.'));
  }
  const id = `${uri.toString()}|${stat.mtime}|${stat.size}|${settings().attentionMemoryBudgetMB}`;
  if (cache?.id === id) return cache.model;
  checkModelSize(stat.size, settings().maxModelSizeMB);
  const bytes = plainBytes(await vscode.workspace.fs.readFile(uri));
  const fileName = uri.path.split('/').pop() ?? 'model.onnx';
  const loaded = prepareModel(bytes, fileName, id, await findCardFiles(uri, fileName), settings().attentionMemoryBudgetMB * 2 ** 20);
  if (loaded.externalDataFiles) loaded.externalData = await readExternalData(uri, loaded.externalDataFiles);
  // The same bytes under any attention budget; a model with external weights is not kept by the webview.
  else loaded.bytesId = `${uri.toString()}|${stat.mtime}|${stat.size}`;
  cache = { id, model: loaded };
  return loaded;
}

async function readJson(uri: vscode.Uri): Promise<Record<string, unknown> | undefined> {
  try {
    return JSON.parse(new TextDecoder().decode(await vscode.workspace.fs.readFile(uri))) as Record<string, unknown>;
  } catch {
    return undefined;
  }
}

/** `model.json` beside `model.onnx`, and timm's or Hugging Face's config files in the same folder (prepareModel layers them). */
async function findCardFiles(uri: vscode.Uri, fileName: string): Promise<CardFiles> {
  const dir = vscode.Uri.joinPath(uri, '..');
  const [own, config, preprocessor] = await Promise.all([cardFileName(fileName), 'config.json', 'preprocessor_config.json'].map((f) => readJson(vscode.Uri.joinPath(dir, f))));
  return { own, config, preprocessor };
}

/** Weights stored beside the model (ONNX external data), read with the same file system API. */
async function readExternalData(model: vscode.Uri, files: string[]): Promise<{ path: string; data: Uint8Array }[]> {
  const dir = vscode.Uri.joinPath(model, '..');
  return Promise.all(files.map(async (path) => {
    try {
      return { path, data: plainBytes(await vscode.workspace.fs.readFile(vscode.Uri.joinPath(dir, path))) };
    } catch {
      throw new ModelFormatError(vscode.l10n.t('The model keeps its weights in an external data file "{0}" next to it, and that file is missing or unreadable.', path), vscode.l10n.t('Copy the .onnx file together with its data file(s), or re-export with the weights inside the model (onnx.save_model(..., save_as_external_data=False)).'));
    }
  }));
}
