/**
 * The panel's toolbar actions as commands (Command Palette, keybindings): each asks the open panel's webview to
 * run the same code as its buttons and selects, so the palette and the panel cannot drift apart.
 */
import * as vscode from 'vscode';
import { PANEL_COMMANDS } from '../shared/protocol';
import { VisualizePanel } from './visualizePanel';

export function registerPanelCommands(context: vscode.ExtensionContext): void {
  for (const [id, action] of Object.entries(PANEL_COMMANDS)) {
    context.subscriptions.push(vscode.commands.registerCommand(id, () => {
      const panel = VisualizePanel.active;
      // The palette hides these without a panel, but executeCommand and other extensions can still call them.
      if (!panel) {
        void vscode.window.showInformationMessage(vscode.l10n.t('ViT Lens: open a ViT Lens panel first (ViT Lens: Visualize Image).'));
        return;
      }
      panel.runAction(action);
    }));
  }
}
