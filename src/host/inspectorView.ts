/**
 * The "Inspector" view in the ViT Lens activity-bar container: model summary, view controls and the selected
 * patch, kept in sync with the panel both ways through the host.
 */
import * as vscode from 'vscode';
import type { HostToSidebar, InspectorInfo, SidebarToHost, ViewState } from '../shared/protocol';
import { inspectorHtml } from './inspectorHtml';
import { makeNonce } from './webviewHtml';

export class InspectorView implements vscode.WebviewViewProvider {
  static readonly id = 'vitLens.inspector';
  private view?: vscode.WebviewView;
  private last?: { view: ViewState; info: InspectorInfo };

  constructor(private readonly extensionUri: vscode.Uri, private readonly onSetView: (view: Partial<ViewState>) => void) {}

  resolveWebviewView(webviewView: vscode.WebviewView): void {
    this.view = webviewView;
    const w = webviewView.webview;
    w.options = { enableScripts: true, localResourceRoots: [vscode.Uri.joinPath(this.extensionUri, 'dist', 'webview'), vscode.Uri.joinPath(this.extensionUri, 'media')] };
    const asset = (...p: string[]) => w.asWebviewUri(vscode.Uri.joinPath(this.extensionUri, ...p)).toString();
    w.html = inspectorHtml({ cspSource: w.cspSource, scriptUri: asset('dist', 'webview', 'sidebar.js'), styleUri: asset('media', 'vitLens.css'), codiconUri: asset('dist', 'webview', 'codicons', 'codicon.css') },
      { nonce: makeNonce(), l10nBundle: vscode.l10n.bundle, language: vscode.env.language });
    w.onDidReceiveMessage((m: SidebarToHost) => {
      if (m.type === 'ready') this.post(this.last ? { type: 'state', ...this.last } : { type: 'empty' });
      else if (m.type === 'setView') this.onSetView(m.view);
      else if (m.type === 'command') void vscode.commands.executeCommand(m.command);
    });
    webviewView.onDidDispose(() => (this.view = undefined));
  }

  update(view: ViewState, info: InspectorInfo): void {
    this.last = { view, info };
    this.post({ type: 'state', view, info });
  }

  clear(): void {
    this.last = undefined;
    this.post({ type: 'empty' });
  }

  private post(m: HostToSidebar): void {
    void this.view?.webview.postMessage(m);
  }
}
