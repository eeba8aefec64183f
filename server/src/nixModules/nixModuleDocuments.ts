// The language server's side of .nix files: keeps every open one that mentions `buildMachines`
// checked (its diagnostics published) and answers hovers on its builder entries. It registers
// itself for `nix` documents with the client (dynamic registration), so the server's other
// features (formatting, completion, …) are never offered for .nix files, which belong to the
// Nix language extensions; files that never mention buildMachines get nothing at all.
import { basename, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  CodeActionKind,
  CodeActionRequest,
  InlayHintRequest,
  type CodeAction,
  type CodeActionParams,
  type InlayHint,
  type InlayHintParams,
  DidChangeTextDocumentNotification,
  DidCloseTextDocumentNotification,
  DidOpenTextDocumentNotification,
  HoverRequest,
  TextDocumentSyncKind,
  type ClientCapabilities,
  type Connection,
  type Diagnostic,
  type Hover,
  type HoverParams,
  type TextDocuments,
} from 'vscode-languageserver';
import type { TextDocument } from 'vscode-languageserver-textdocument';
import { toDiagnostic as machinesDiagnostic } from '../language/diagnostics';
import type { ServerContext } from '../context/serverContext';
import type { NixTarget } from '../context/target';
import type { ProblemCode } from '../model/problem';
import { NixEvaluator } from './evaluation';
import { machinesFileHere } from '../builders/effectiveBuilders';
import { evaluatedAnalysis } from './evaluatedAnalysis';
import { rebuildToApplyProblem } from './rebuildToApply';
import type { NixModuleAnalysis } from './nixModuleAnalysis';
import { nixModuleHover } from './nixModuleHover';
import type { NixModuleProblem } from './moduleProblem';

const nixDocuments = [
  { language: 'nix', scheme: 'file' },
  { language: 'nix', scheme: 'untitled' },
];

export class NixModuleDocuments {
  /** Documents we published diagnostics for, so a file that stops mentioning builders is cleared. */
  private readonly published = new Set<string>();

  constructor(
    private readonly connection: Connection,
    private readonly documents: TextDocuments<TextDocument>,
    private readonly context: ServerContext,
    /** Shared with the Remote Builders view's declared builders: each value is evaluated once. */
    private readonly evaluator = new NixEvaluator(),
    /** The machines lines the workspace's other .nix files declare (BuilderList's last listing). */
    private readonly declaredElsewhere: (file: string) => Promise<ReadonlySet<string>> = async () => new Set(),
  ) {}

  private capabilities: ClientCapabilities = {};
  /** Real Nix evaluates what a file does not write out, only in a trusted workspace. */
  private get trusted(): boolean {
    return this.context.trusted;
  }

  /** From `initialize`: what the client can register. */
  initialize(capabilities: ClientCapabilities): void {
    this.capabilities = capabilities;
  }

  /** After `nixBuilders/setTrusted`: from now on (or no longer) values are evaluated. */
  trustChanged(): void {
    void this.recheckAll();
  }

  /** From `initialized`: asks the client to send `nix` documents and hovers on them (when it can register dynamically). */
  register(): void {
    const text = this.capabilities.textDocument;
    if (text?.synchronization?.dynamicRegistration) {
      void this.connection.client.register(DidOpenTextDocumentNotification.type, { documentSelector: nixDocuments });
      void this.connection.client.register(DidChangeTextDocumentNotification.type, {
        documentSelector: nixDocuments,
        syncKind: TextDocumentSyncKind.Incremental,
      });
      void this.connection.client.register(DidCloseTextDocumentNotification.type, { documentSelector: nixDocuments });
    }
    if (text?.hover?.dynamicRegistration)
      void this.connection.client.register(HoverRequest.type, { documentSelector: nixDocuments });
    if (text?.codeAction?.dynamicRegistration) {
      void this.connection.client.register(CodeActionRequest.type, {
        documentSelector: nixDocuments,
        codeActionKinds: [CodeActionKind.QuickFix],
      });
    }
    if (text?.inlayHint?.dynamicRegistration)
      void this.connection.client.register(InlayHintRequest.type, { documentSelector: nixDocuments });
  }

  handles(uri: string): boolean {
    return this.documents.get(uri)?.languageId === 'nix';
  }

  private async target(uri: string): Promise<NixTarget> {
    return (await this.context.nixHere(uri)).target;
  }

  /** The last analysis of each document, for its version and trust: hovers, fixes and hints reuse it. */
  private readonly analyses = new Map<
    string,
    {
      version: number;
      trusted: boolean;
      result: Promise<{ analysis: NixModuleAnalysis | undefined; target: NixTarget }>;
    }
  >();

  private analysis(document: TextDocument): Promise<{ analysis: NixModuleAnalysis | undefined; target: NixTarget }> {
    const cached = this.analyses.get(document.uri);
    if (cached && cached.version === document.version && cached.trusted === this.trusted) return cached.result;
    const result = this.analyze(document);
    this.analyses.set(document.uri, { version: document.version, trusted: this.trusted, result });
    return result;
  }

  private async analyze(
    document: TextDocument,
  ): Promise<{ analysis: NixModuleAnalysis | undefined; target: NixTarget }> {
    const target = await this.target(document.uri);
    const context = {
      version: target.version,
      rules: target.rules,
      keyHome: target.keyHome,
      daemon: target.daemon,
      localSystem: target.localSystem,
    };
    const path = document.uri.startsWith('file:') ? fileURLToPath(document.uri) : undefined;
    const evaluator = this.trusted ? this.evaluator : undefined;
    const analysis = await evaluatedAnalysis(document.getText(), context, path && dirname(path), evaluator);
    const rebuild =
      analysis &&
      path &&
      rebuildToApplyProblem(
        analysis,
        basename(path),
        machinesFileHere(target).path,
        await this.declaredElsewhere(path),
        target.localSystem,
      );
    if (rebuild) analysis.problems = [rebuild, ...analysis.problems].sort((a, b) => a.span.start - b.span.start);
    return { analysis, target };
  }

  async check(document: TextDocument): Promise<void> {
    if (document.languageId !== 'nix') return;
    const version = document.version;
    let analysis: NixModuleAnalysis | undefined;
    try {
      ({ analysis } = await this.analysis(document));
    } catch (error) {
      // Never let one document take the server down: say so in the log and keep serving.
      this.connection.console.error(
        `Could not check ${document.uri}: ${error instanceof Error ? error.stack : String(error)}`,
      );
      return;
    }
    if (this.documents.get(document.uri)?.version !== version) return; // a newer check publishes
    if (!analysis && !this.published.has(document.uri)) return;
    const diagnostics = (analysis?.problems ?? []).map((p) => toDiagnostic(p, document));
    if (analysis) this.published.add(document.uri);
    else this.published.delete(document.uri);
    await this.connection.sendDiagnostics({ uri: document.uri, version, diagnostics });
  }

  async hover(params: HoverParams): Promise<Hover | null> {
    const document = this.documents.get(params.textDocument.uri);
    if (!document) return null;
    const { analysis, target } = await this.analysis(document);
    return analysis
      ? nixModuleHover(analysis, document.offsetAt(params.position), target.describe, this.trusted)
      : null;
  }

  /** The quick fixes of the problems in the requested range. */
  async codeActions(params: CodeActionParams): Promise<CodeAction[]> {
    const document = this.documents.get(params.textDocument.uri);
    if (!document) return [];
    const { analysis } = await this.analysis(document);
    const from = document.offsetAt(params.range.start);
    const to = document.offsetAt(params.range.end);
    return (analysis?.problems ?? []).flatMap((p) => {
      if (!p.fix || p.span.end < from || p.span.start > to) return [];
      const diagnostic = toDiagnostic(p, document);
      const range = { start: document.positionAt(p.fix.span.start), end: document.positionAt(p.fix.span.end) };
      return [
        {
          title: p.fix.title,
          kind: CodeActionKind.QuickFix,
          diagnostics: [diagnostic],
          isPreferred: true,
          edit: { changes: { [document.uri]: [{ range, newText: p.fix.newText }] } },
        },
      ];
    });
  }

  /** After each entry: the line NixOS writes for it (`nixBuilders.inlayHints.enabled` turns it off). */
  async inlayHints(params: InlayHintParams): Promise<InlayHint[]> {
    const document = this.documents.get(params.textDocument.uri);
    if (!document || (await this.context.settings.get(document.uri)).inlayHints?.enabled === false) return [];
    const { analysis } = await this.analysis(document);
    return (analysis?.entries ?? []).map(({ entry, rendered }) => ({
      position: document.positionAt(entry.span.end),
      label: `machines: ${rendered.line}`,
      paddingLeft: true,
      tooltip: 'The line NixOS writes to /etc/nix/machines for this builder (hover the entry to copy it).',
    }));
  }

  async close(uri: string): Promise<void> {
    this.analyses.delete(uri);
    if (!this.published.delete(uri)) return;
    await this.connection.sendDiagnostics({ uri, diagnostics: [] });
  }

  /** Settings or files changed: everything open is analysed and checked again. */
  async recheckAll(): Promise<void> {
    this.analyses.clear();
    await Promise.all(this.documents.all().map((document) => this.check(document)));
  }
}

/** As a machines file's problems are shown (the module's own codes are not in problem.ts's table). */
function toDiagnostic(p: NixModuleProblem, document: TextDocument): Diagnostic {
  return machinesDiagnostic({ ...p, code: p.code as ProblemCode }, document, () => undefined);
}
