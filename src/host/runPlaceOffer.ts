/**
 * In a remote window the model crosses from the extension host to the panel at about 20 MB/s. When a model took
 * more than a few seconds to reach the panel, ViT Lens offers, once, to run models in the extension host instead
 * (vitLens.runModelIn); it never switches by itself.
 */
import * as vscode from 'vscode';
import { SECTION, settings } from './settings';

/** globalState key: set once the offer has been made, whatever the answer. */
export const RUN_PLACE_OFFERED_KEY = 'vitLens.runModelInOffered';
/** Above this, reaching the panel is what the user waits for: the host runner saves most of it. */
export const SLOW_TRANSFER_MS = 3000;

export async function offerHostRunner(context: vscode.ExtensionContext, transferMs: number, bytes: number): Promise<void> {
  if (!vscode.env.remoteName || transferMs < SLOW_TRANSFER_MS || settings().runModelIn !== 'webview' || context.globalState.get(RUN_PLACE_OFFERED_KEY)) return;
  await context.globalState.update(RUN_PLACE_OFFERED_KEY, true);
  const switchTo = vscode.l10n.t('Run in the Extension Host');
  const pick = await vscode.window.showInformationMessage(
    vscode.l10n.t('ViT Lens: the model ({0} MB) took {1} s to reach the panel in this remote window. Running models in the extension host keeps them where they are (on WebAssembly, without WebGPU) and starts much sooner.', (bytes / 1e6).toFixed(0), (transferMs / 1000).toFixed(1)),
    switchTo, vscode.l10n.t('Keep in the Panel'));
  if (pick === switchTo) await vscode.workspace.getConfiguration(SECTION).update('runModelIn', 'extensionHost', vscode.ConfigurationTarget.Global);
}
