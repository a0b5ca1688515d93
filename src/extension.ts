/** Wires ViT Lens's features together; nothing else lives here. */
import * as vscode from 'vscode';
import { onDidActivateImage } from './host/activeImage';
import { registerCommands } from './host/commands';
import { stopHostRunner } from './host/hostRunner';
import { InspectorView } from './host/inspectorView';
import { registerPanelCommands } from './host/panelCommands';
import { SECTION, settings } from './host/settings';
import { VIEW_TYPE, VisualizePanel } from './host/visualizePanel';
import { registerWalkthrough } from './host/walkthrough';
import { useL10nBundle } from './shared/l10n';
import type { PersistedState } from './shared/protocol';

export function activate(context: vscode.ExtensionContext): void {
  // Shared code (errors, summaries, the pure HTML builders) looks its text up in the same bundle as vscode.l10n.t.
  useL10nBundle(vscode.l10n.bundle);
  registerCommands(context);
  registerWalkthrough(context);
  registerPanelCommands(context);
  const inspector = new InspectorView(context.extensionUri, (view) => VisualizePanel.active?.applyView(view));
  context.subscriptions.push(
    vscode.window.registerWebviewViewProvider(InspectorView.id, inspector),
    VisualizePanel.onDidChangeViewState((s) => (s ? inspector.update(s.view, s.info) : inspector.clear())),
    vscode.window.registerWebviewPanelSerializer(VIEW_TYPE, {
      deserializeWebviewPanel: async (panel, state: PersistedState | undefined) => VisualizePanel.revive(context, panel, state),
    }),
    onDidActivateImage((uri) => {
      const panel = VisualizePanel.active;
      if (panel && settings().followActiveImage && panel.image?.toString() !== uri.toString()) void panel.visualize(uri);
    }),
    vscode.workspace.onDidChangeConfiguration((e) => {
      // Another model, backend or budget changes what the panel shows: run it again on the same image.
      const panel = VisualizePanel.active;
      if (panel?.image && ['modelPath', 'backend', 'attentionMemoryBudgetMB', 'runModelIn'].some((k) => e.affectsConfiguration(`${SECTION}.${k}`))) void panel.visualize(panel.image);
    }),
    { dispose: () => VisualizePanel.active?.dispose() },
  );
}

export function deactivate(): void {
  stopHostRunner();
}
