/**
 * The "Get started with ViT Lens" walkthrough (package.json contributes.walkthroughs): the commands its step
 * buttons run, and opening it once, the first time ViT Lens activates after being installed.
 */
import * as vscode from 'vscode';
import { SECTION, settings } from './settings';
import { VisualizePanel } from './visualizePanel';

export const WALKTHROUGH_ID = 'vitLens.gettingStarted';
/** globalState key: set once the walkthrough has been opened (or skipped) after the first install. */
export const WALKTHROUGH_SHOWN_KEY = 'vitLens.walkthroughShown';
/** The sample photo shipped in the package (.vscodeignore lets it in). */
export const SAMPLE_IMAGE = ['samples', 'cat_tabby.jpg'];
const SWIN_DEMO = 'bundled:swin-demo';

export function registerWalkthrough(context: vscode.ExtensionContext): void {
  const sample = vscode.Uri.joinPath(context.extensionUri, ...SAMPLE_IMAGE);
  const openSample = () => vscode.commands.executeCommand('vitLens.visualizeImage', sample);
  /** The panel, on the sample when none is open (not waiting for the model to run). */
  const ensurePanel = () => {
    if (VisualizePanel.active) VisualizePanel.active.panel.reveal(undefined, true);
    else void openSample();
  };
  context.subscriptions.push(
    vscode.commands.registerCommand('vitLens.openSample', openSample),
    vscode.commands.registerCommand('vitLens.walkthrough.inspect', async () => {
      ensurePanel();
      await vscode.commands.executeCommand('vitLens.inspector.focus');
    }),
    // The ideas sit below the heatmap in the panel: show the panel (on the sample when none is open).
    vscode.commands.registerCommand('vitLens.walkthrough.ideas', () => {
      if (VisualizePanel.active) VisualizePanel.active.panel.reveal(undefined, false);
      else void openSample();
    }),
    vscode.commands.registerCommand('vitLens.walkthrough.swin', async () => {
      const panel = VisualizePanel.active;
      const switching = settings().modelPath !== SWIN_DEMO;
      if (switching) await vscode.workspace.getConfiguration(SECTION).update('modelPath', SWIN_DEMO, vscode.ConfigurationTarget.Global);
      // An open panel runs its image again when the model changes (extension.ts): on the sample, that is all.
      if (switching && panel?.image?.toString() === sample.toString()) panel.panel.reveal(undefined, true);
      else await openSample();
    }),
  );
  openOnFirstInstall(context);
}

/**
 * The first time ViT Lens activates, open its walkthrough, then never again (a flag in globalState, synced).
 * Skipped, flag set, when the user turned off workbench.welcomePage.walkthroughs.openOnInstall (VS Code's own
 * switch for this; the e2e settings turn it off); skipped, flag untouched, in extension tests or with
 * VITLENS_NO_WALKTHROUGH set. Opened as a background tab when an editor is active, as VS Code does itself.
 */
export function openOnFirstInstall(context: vscode.ExtensionContext): void {
  context.globalState.setKeysForSync([WALKTHROUGH_SHOWN_KEY]);
  if (context.globalState.get<boolean>(WALKTHROUGH_SHOWN_KEY)) return;
  if (process.env.VITLENS_NO_WALKTHROUGH || context.extensionMode === vscode.ExtensionMode.Test) return;
  void context.globalState.update(WALKTHROUGH_SHOWN_KEY, true);
  if (!vscode.workspace.getConfiguration('workbench.welcomePage').get<boolean>('walkthroughs.openOnInstall', true)) return;
  // context.extension.id is `${publisher}.${name}` from package.json, the prefix VS Code gives the walkthrough's id.
  const inactive = vscode.window.tabGroups.activeTabGroup.activeTab !== undefined;
  void vscode.commands.executeCommand('workbench.action.openWalkthrough', `${context.extension.id}#${WALKTHROUGH_ID}`, { inactive });
}
