// The language server's side of .nix files: keeps every open one that mentions `buildMachines`
// checked (its diagnostics published) and answers completion, hovers, quick fixes and inlay
// hints on its builder entries. It registers
// itself for `nix` documents with the client (dynamic registration), so the server's other
// features (formatting, completion, …) are never offered for .nix files, which belong to the
// Nix language extensions; files that never mention buildMachines get nothing at all.
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  CodeActionKind,
  CodeActionRequest,
  CompletionRequest,
  type CompletionItem,
  type CompletionParams,
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
import type { Vocabulary } from '../language/completion';
import type { ProblemCode } from '../model/problem';
import { mentionsBuildMachines } from './declarations';
import { NixEvaluator } from './evaluation';
import { analyzeNixModule, unknownValues, type NixModuleAnalysis } from './nixModuleAnalysis';
import type { NixValue } from './nixValue';
import { nixModuleCompletions } from './nixModuleCompletion';
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
  ) {}

  private capabilities: ClientCapabilities = {};
  /** Real Nix evaluates what a file does not write out, only in a trusted workspace. */
  private get trusted(): boolean {
    return this.context.trusted;
  }
  private readonly evaluator = new NixEvaluator();

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
    if (text?.completion?.dynamicRegistration) {
      void this.connection.client.register(CompletionRequest.type, {
        documentSelector: nixDocuments,
        triggerCharacters: ['"', '/', ' '],
      });
    }
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
    const text = document.getText();
    const literal = analyzeNixModule(text, context);
    if (!literal || !this.trusted) return { analysis: literal, target };
    const wanted = unknownValues(literal);
    if (wanted.length === 0 && literal.lists.length === 0) return { analysis: literal, target };
    const evaluated = new Map<number, NixValue>();
    const path = document.uri.startsWith('file:') ? fileURLToPath(document.uri) : undefined;
    const dir = path && existsSync(dirname(path)) ? dirname(path) : '/';
    const [values, evaluatedLists] = await Promise.all([
      Promise.all(wanted.map((w) => this.evaluator.evaluate(text, w.span, w.expression, dir))),
      this.evaluator.evaluateLists(text, literal.lists, dir),
    ]);
    values.forEach((value, i) => value && evaluated.set(wanted[i]!.span.start, value));
    return { analysis: analyzeNixModule(text, context, evaluated, evaluatedLists), target };
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

  /** In a builder entry: attribute names and values (nothing anywhere else in a .nix file). */
  async completion(params: CompletionParams): Promise<CompletionItem[]> {
    const document = this.documents.get(params.textDocument.uri);
    if (!document || !mentionsBuildMachines(document.getText())) return [];
    const target = await this.target(document.uri);
    const settings = await this.context.settings.get(document.uri);
    return nixModuleCompletions({
      document,
      offset: document.offsetAt(params.position),
      localSystem: target.localSystem,
      portInUri: target.rules.portInUri,
      ssh: { homes: [...new Set([homedir(), target.keyHome])], configFile: settings.sshConfigFile || undefined },
      vocabulary: await this.vocabulary(),
      snippets: this.capabilities.textDocument?.completion?.completionItem?.snippetSupport === true,
    });
  }

  /** The systems and features the open .nix files' builders are written with. */
  private async vocabulary(): Promise<Vocabulary> {
    const systems = new Set<string>();
    const features = new Set<string>();
    const strings = (value: NixValue | undefined): string[] =>
      value?.kind === 'string'
        ? [value.value]
        : value?.kind === 'list'
          ? value.items.flatMap((i) => strings(i.value))
          : [];
    for (const document of this.documents.all()) {
      if (document.languageId !== 'nix') continue;
      const analysis = await this.analysis(document).then(
        (a) => a.analysis,
        () => undefined,
      );
      for (const { entry } of analysis?.entries ?? []) {
        const value = (name: string) => strings(entry.attributes.get(name)?.value);
        [...value('system'), ...value('systems')].forEach((s) => systems.add(s));
        [...value('supportedFeatures'), ...value('mandatoryFeatures')].forEach((f) => features.add(f));
      }
    }
    return { systems, features };
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
    const lines: InlayHint[] = (analysis?.entries ?? []).map(({ entry, rendered }) => ({
      position: document.positionAt(entry.span.end),
      label: `machines: ${rendered.line}`,
      paddingLeft: true,
      tooltip: 'The line NixOS writes to /etc/nix/machines for this builder (hover the entry to copy it).',
    }));
    // A part of the list that is not written out (`map f hosts`) and that Nix did not evaluate.
    const unknown: InlayHint[] = (analysis?.lists ?? []).flatMap((part) =>
      part.builders
        ? []
        : [
            {
              position: document.positionAt(part.span.end),
              label: 'machines: known after evaluation',
              paddingLeft: true,
              tooltip: this.trusted
                ? 'Real Nix could not evaluate this part without the rest of the configuration: its builders are known only when the system is built.'
                : 'Evaluation needs a trusted workspace: trust it to let Nix evaluate this list (restricted, without nixpkgs).',
            },
          ],
    );
    return [...lines, ...unknown].sort((a, b) => document.offsetAt(a.position) - document.offsetAt(b.position));
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
