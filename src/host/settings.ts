/** All settings live under `vitLens.`. */
import * as vscode from 'vscode';
import type { BackendSetting, RunModelIn } from '../shared/protocol';

export const SECTION = 'vitLens';

export function settings() {
  const c = vscode.workspace.getConfiguration(SECTION);
  return {
    modelPath: c.get<string>('modelPath', '').trim(),
    backend: c.get<BackendSetting>('backend', 'auto'),
    followActiveImage: c.get<boolean>('followActiveImage', true),
    maxModelSizeMB: c.get<number>('maxModelSizeMB', 1024),
    attentionMemoryBudgetMB: c.get<number>('attentionMemoryBudgetMB', 512),
    maxImageMegapixels: c.get<number>('maxImageMegapixels', 64),
    inferenceTimeoutSeconds: c.get<number>('inferenceTimeoutSeconds', 120),
    modelCacheMB: c.get<number>('modelCacheMB', 1024),
    runModelIn: c.get<RunModelIn>('runModelIn', 'webview') === 'extensionHost' ? 'extensionHost' as const : 'webview' as const,
    startInExtensionHost: c.get<boolean>('startInExtensionHost', true),
  };
}
