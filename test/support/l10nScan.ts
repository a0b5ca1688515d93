/**
 * Finds user-visible English in src/ that does not go through the l10n layer, and collects the messages that do.
 *
 * The l10n layer is `vscode.l10n.t(...)` in the extension host and `t(...)` from src/shared/l10n.ts everywhere else
 * (webview, worker, shared code, CLI). A message must be a literal so that `npm run l10n` can extract it into
 * l10n/bundle.l10n.json.
 *
 * What counts as user-visible: any string literal with prose in it (two words), any literal with a word in it that
 * reaches a UI sink (`textContent`, `title`, `aria-label`, notifications, quick picks, error constructors, …), and
 * the text and visible attributes of HTML written in template literals. Exempt: module names, developer logs
 * (`console.*` outside the CLI), comparisons, type positions, DOM and CSS plumbing, and a literal on a line marked
 * `// l10n-ignore: <why>`.
 */
import ts from 'typescript';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import * as path from 'node:path';

export interface Finding { file: string; line: number; text: string; why: string }
export interface ScanResult {
  /** Visible strings that bypass the l10n layer. */
  bypass: Finding[];
  /** l10n calls whose message is not a literal (cannot be extracted). */
  dynamic: Finding[];
  /** Every message looked up, in source order. */
  messages: string[];
}

/** A word of two or more letters; prose is two of them apart by spaces (`Layer 3` is not prose, `Next layer` is). */
const WORD = /\p{L}{2,}/u;
const PROSE = /\p{L}[\p{L}'’-]*\p{L}[,;:.!?)’"]*[ \u00a0]+[(‘"“]?\p{L}{2,}/u;

/** Properties whose string value a user reads (VS Code API option objects, our own error/info records). */
const VISIBLE_PROPS = new Set([
  'label', 'description', 'detail', 'title', 'placeHolder', 'placeholder', 'prompt', 'openLabel', 'saveLabel', 'message',
  'tooltip', 'text', 'hint', 'ariaLabel', 'alt', 'caption', 'note', 'summary', 'explanation', 'reason',
]);
/** Element properties and attributes a user reads or hears. */
const VISIBLE_ASSIGN = new Set(['textContent', 'innerText', 'title', 'ariaLabel', 'placeholder', 'alt', 'label', 'ariaDescription', 'ariaRoleDescription', 'ariaValueText']);
const VISIBLE_ATTRS = new Set(['aria-label', 'title', 'alt', 'placeholder', 'aria-description', 'aria-roledescription', 'aria-valuetext', 'label']);
/** Calls whose string arguments a user reads. */
const VISIBLE_CALLS = new Set([
  'showErrorMessage', 'showWarningMessage', 'showInformationMessage', 'setStatusBarMessage', 'showInputBox', 'showQuickPick',
  'alert', 'confirm', 'fillText', 'strokeText', 'createTextNode', 'append', 'prepend', 'replaceChildren', 'report',
]);
/** Calls whose string arguments are names for the machinery, never shown. */
const PLUMBING_CALLS = new Set([
  '$', 'querySelector', 'querySelectorAll', 'getElementById', 'getElementsByClassName', 'createElement', 'createElementNS', 'closest', 'matches',
  'addEventListener', 'removeEventListener', 'dispatchEvent', 'setProperty', 'getPropertyValue', 'removeProperty', 'getAttribute', 'hasAttribute',
  'removeAttribute', 'toggleAttribute', 'getConfiguration', 'get', 'has', 'executeCommand', 'registerCommand', 'registerWebviewViewProvider',
  'createWebviewPanel', 'setContext', 'require', 'getContext', 'postMessage', 'startsWith', 'endsWith', 'includes', 'indexOf', 'split', 'join',
  'replace', 'replaceAll', 'match', 'test', 'padStart', 'padEnd', 'mark', 'measure', 'Symbol', 'RegExp', 'Intl', 'toLocaleString', 'localeCompare',
]);
/** Element properties that hold plumbing (CSS, ids, roles), not words. */
const PLUMBING_ASSIGN = new Set(['className', 'id', 'font', 'fillStyle', 'strokeStyle', 'textAlign', 'textBaseline', 'cssText', 'role', 'type',
  'name', 'value', 'href', 'src', 'lineJoin', 'lineCap', 'globalCompositeOperation', 'cursor', 'display', 'width', 'height']);

function isLocalizer(call: ts.CallExpression): boolean {
  const c = call.expression;
  if (ts.isIdentifier(c)) return c.text === 't';
  if (ts.isPropertyAccessExpression(c) && c.name.text === 't') {
    const e = c.expression;
    return (ts.isIdentifier(e) && e.text === 'l10n') || (ts.isPropertyAccessExpression(e) && e.name.text === 'l10n');
  }
  return false;
}

function calleeName(call: ts.CallExpression | ts.NewExpression): string | undefined {
  const c = call.expression;
  if (ts.isIdentifier(c)) return c.text;
  if (ts.isPropertyAccessExpression(c)) return c.name.text;
  return undefined;
}

/** Text of an HTML fragment a user sees: text between tags and the values of visible attributes. */
export function visibleHtmlText(html: string): string[] {
  const out: string[] = [];
  const noComments = html.replace(/<!--[\s\S]*?-->/g, ' ').replace(/<(script|style)\b[\s\S]*?<\/\1>/gi, ' ');
  for (const m of noComments.matchAll(/<[a-zA-Z][^>]*>/g)) {
    for (const a of m[0].matchAll(/\s([a-zA-Z-]+)\s*=\s*("([^"]*)"|'([^']*)')/g)) {
      if (VISIBLE_ATTRS.has(a[1].toLowerCase())) out.push(a[3] ?? a[4] ?? '');
    }
  }
  for (const piece of noComments.replace(/<[^>]*>/g, '\u0000').split('\u0000')) out.push(piece);
  return out.map((s) => s.replace(/&[a-z]+;|&#\d+;/g, ' ').trim()).filter((s) => WORD.test(s.replace(/\$\{[^}]*\}/g, ' ')));
}

const looksLikeHtml = (s: string) => /<\/?[a-z][a-z0-9-]*(\s[^<>]*)?>/i.test(s);

export function scanSource(file: string, source: string): ScanResult {
  const sf = ts.createSourceFile(file, source, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
  const lines = source.split('\n');
  const result: ScanResult = { bypass: [], dynamic: [], messages: [] };
  const isCli = /(^|\/)src\/cli\//.test(file.replace(/\\/g, '/'));
  const lineOf = (n: ts.Node) => sf.getLineAndCharacterOfPosition(n.getStart(sf)).line;
  const ignored = (n: ts.Node) => {
    const first = lineOf(n);
    const last = sf.getLineAndCharacterOfPosition(n.getEnd()).line;
    for (let l = Math.max(0, first - 1); l <= last; l++) if (/l10n-ignore:\s*\S/.test(lines[l] ?? '')) return true;
    return false;
  };

  /** Why the literal `n` is visible, or undefined when it is plumbing. */
  function context(n: ts.Node): 'sink' | 'exempt' | 'plain' {
    let child: ts.Node = n;
    for (let p = n.parent; p; child = p, p = p.parent) {
      if (ts.isTypeNode(p) || ts.isImportDeclaration(p) || ts.isExportDeclaration(p) || ts.isImportTypeNode(p)) return 'exempt';
      if (ts.isCaseClause(p) || ts.isEnumMember(p)) return 'exempt';
      if (ts.isElementAccessExpression(p) && p.argumentExpression === child) return 'exempt';
      if (ts.isPropertyAssignment(p) && p.name === child) return 'exempt';
      if (ts.isBinaryExpression(p)) {
        const k = p.operatorToken.kind;
        if (k === ts.SyntaxKind.EqualsEqualsEqualsToken || k === ts.SyntaxKind.ExclamationEqualsEqualsToken || k === ts.SyntaxKind.EqualsEqualsToken
          || k === ts.SyntaxKind.ExclamationEqualsToken || k === ts.SyntaxKind.InKeyword || k === ts.SyntaxKind.InstanceOfKeyword) return 'exempt';
        // A literal in the target (`$('status').textContent = …`) names the element, it is not the text.
        if ((k === ts.SyntaxKind.EqualsToken || k === ts.SyntaxKind.PlusEqualsToken) && p.left === child) return 'exempt';
        if (k === ts.SyntaxKind.EqualsToken || k === ts.SyntaxKind.PlusEqualsToken) {
          const target = p.left;
          const prop = ts.isPropertyAccessExpression(target) ? target.name.text : undefined;
          if (ts.isPropertyAccessExpression(target) && ts.isPropertyAccessExpression(target.expression)
            && ['style', 'dataset'].includes(target.expression.name.text)) return 'exempt';
          if (prop && VISIBLE_ASSIGN.has(prop)) return 'sink';
          if (prop && PLUMBING_ASSIGN.has(prop)) return 'exempt';
          if (ts.isPropertyAccessExpression(target) && ts.isPropertyAccessExpression(target.expression) && target.expression.name.text === 'dataset') return 'exempt';
        }
      }
      if (ts.isPropertyAssignment(p) && p.initializer === child) {
        const key = ts.isIdentifier(p.name) || ts.isStringLiteral(p.name) ? p.name.text : '';
        if (VISIBLE_PROPS.has(key)) return 'sink';
      }
      if (ts.isCallExpression(p) || ts.isNewExpression(p)) {
        if (ts.isCallExpression(p) && isLocalizer(p)) return 'exempt';
        const name = calleeName(p) ?? '';
        const args = p.arguments ?? ts.factory.createNodeArray();
        const isArg = args.some((a) => a === child);
        if (isArg) {
          if (ts.isCallExpression(p) && ts.isPropertyAccessExpression(p.expression) && ts.isIdentifier(p.expression.expression)
            && p.expression.expression.text === 'console') return isCli ? 'sink' : 'exempt';
          if (name === 'setAttribute') {
            const attr = args[0];
            if (child === args[1] && attr && ts.isStringLiteralLike(attr) && VISIBLE_ATTRS.has(attr.text)) return 'sink';
            return 'exempt';
          }
          if (PLUMBING_CALLS.has(name)) return 'exempt';
          if (VISIBLE_CALLS.has(name) || /Error$/.test(name) || (isCli && name === 'write')) return 'sink';
        }
      }
      if (ts.isFunctionLike(p) || ts.isSourceFile(p) || ts.isClassDeclaration(p)) break;
    }
    return 'plain';
  }

  function check(n: ts.Node, text: string): void {
    if (ignored(n)) return;
    const line = lineOf(n) + 1;
    const ctx = context(n);
    if (ctx === 'exempt') return;
    const words = text.replace(/\$\{[^}]*\}/g, ' ');
    if (looksLikeHtml(words)) {
      for (const visible of visibleHtmlText(text)) {
        // `${t(...)}` placeholders are the localized text itself.
        if (WORD.test(visible.replace(/\$\{[^}]*\}/g, ' '))) result.bypass.push({ file, line, text: visible.slice(0, 120), why: 'HTML text' });
      }
      return;
    }
    if (ctx === 'sink' ? WORD.test(words) : PROSE.test(words)) result.bypass.push({ file, line, text: text.slice(0, 120), why: ctx === 'sink' ? 'shown to the user' : 'prose' });
  }

  /** A lookup that runs when the module loads happens before any bundle is configured: always English. */
  // Webview entries import './l10nBoot' first, so their own top-level code runs with the bundle configured; the CLI has none.
  const configuredFirst = isCli || /^import '\.\/l10nBoot';$/m.test(source);
  const atLoad = (n: ts.Node) => {
    if (configuredFirst) return false;
    for (let p = n.parent; p; p = p.parent) if (ts.isFunctionLike(p) || ts.isClassStaticBlockDeclaration(p)) return false;
    return true;
  };
  const lookup = (n: ts.Node, message: string | undefined) => {
    const at = { file, line: lineOf(n) + 1, text: n.getText(sf).slice(0, 120) };
    if (message === undefined) result.dynamic.push({ ...at, why: 'message is not a literal' });
    else result.messages.push(message);
    if (atLoad(n)) result.dynamic.push({ ...at, why: 'looked up when the module loads, before the bundle is configured' });
  };

  function visit(n: ts.Node): void {
    if (ts.isCallExpression(n) && isLocalizer(n)) {
      const m = n.arguments[0];
      lookup(n, m && (ts.isStringLiteral(m) || ts.isNoSubstitutionTemplateLiteral(m)) ? m.text : undefined);
      n.arguments.slice(1).forEach(visit);
      return;
    }
    if (ts.isTaggedTemplateExpression(n) && ts.isIdentifier(n.tag) && n.tag.text === 't') {
      const tpl = n.template;
      // The key @vscode/l10n builds for the tag form: the cooked pieces joined by {0}, {1}, …
      lookup(n, ts.isNoSubstitutionTemplateLiteral(tpl) ? tpl.text : tpl.head.text + tpl.templateSpans.map((s, i) => `{${i}}${s.literal.text}`).join(''));
      if (ts.isTemplateExpression(tpl)) tpl.templateSpans.forEach((s) => visit(s.expression));
      return;
    }
    if (ts.isStringLiteral(n) || ts.isNoSubstitutionTemplateLiteral(n)) check(n, n.text);
    else if (ts.isTemplateExpression(n)) {
      const text = n.head.text + n.templateSpans.map((s) => '${…}' + s.literal.text).join('');
      check(n, text);
      n.templateSpans.forEach((s) => visit(s.expression));
      return;
    }
    ts.forEachChild(n, visit);
  }
  visit(sf);
  return result;
}

/** Every .ts file under `dir`, sorted. */
export function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir).sort()) {
    const p = path.join(dir, name);
    if (statSync(p).isDirectory()) out.push(...sourceFiles(p));
    else if (name.endsWith('.ts') && !name.endsWith('.d.ts')) out.push(p);
  }
  return out;
}

export function scanTree(root: string): ScanResult {
  const all: ScanResult = { bypass: [], dynamic: [], messages: [] };
  // The layer itself forwards messages it was given.
  for (const f of sourceFiles(path.join(root, 'src')).filter((x) => !x.endsWith(path.join('shared', 'l10n.ts')))) {
    const r = scanSource(path.relative(root, f), readFileSync(f, 'utf8'));
    all.bypass.push(...r.bypass);
    all.dynamic.push(...r.dynamic);
    all.messages.push(...r.messages);
  }
  return all;
}

/** The English bundle: each message once, as key and value, sorted for stable diffs. */
export function englishBundle(messages: string[]): Record<string, string> {
  return Object.fromEntries([...new Set(messages)].sort().map((m) => [m, m]));
}
