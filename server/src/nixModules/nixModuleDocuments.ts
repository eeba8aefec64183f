// The language server's side of .nix files: keeps every open one that mentions `buildMachines`
// checked (its diagnostics published) and answers completion, hovers, quick fixes and inlay
// hints on its builder entries. It registers
// itself for `nix` documents with the client (dynamic registration), so the server's other
// features (formatting, completion, …) are never offered for .nix files, which belong to the
// Nix language extensions; files that never mention buildMachines get nothing at all.
import { homedir } from 'node:os';
import { basename, dirname } from 'node:path';
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
  type ExecuteCommandParams,
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
import { TextDocument } from 'vscode-languageserver-textdocument';
import { toDiagnostic as machinesDiagnostic } from '../language/diagnostics';
import type { ServerContext } from '../context/serverContext';
import type { NixTarget } from '../context/target';
import type { Vocabulary } from '../language/completion';
import type { ProblemCode } from '../model/problem';
import { mentionsBuildMachines } from './declarations';
import { NixEvaluator } from './evaluation';
import { namesSshUsers, type NixModuleAnalysis } from './nixModuleAnalysis';
import type { NixValue } from './nixValue';
import { nixModuleCompletions } from './nixModuleCompletion';
import { machinesFileHere } from '../builders/effectiveBuilders';
import { evaluatedAnalysis } from './evaluatedAnalysis';
import { rebuildToApplyProblem } from './rebuildToApply';
import { nixModuleHover } from './nixModuleHover';
import type { NixModuleProblem } from './moduleProblem';
import { declaredFor } from './thisHost';
import { WorkspaceConfigurations } from './workspaceConfigurations';
import type { PinOutcome } from '../language/pinHostKey';
import { pinDeclaredActions, pinDeclaredHostKey, type PinDeclaredHostKeyArguments } from './pinDeclaredHostKey';

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
  ) {
    this.configurations = new WorkspaceConfigurations(documents);
  }

  private capabilities: ClientCapabilities = {};
  /** Real Nix evaluates what a file does not write out, only in a trusted workspace. */
  private get trusted(): boolean {
    return this.context.trusted;
  }

  /** The builders' own configurations in the workspace, for `sshUser` against their trusted-users. */
  private readonly configurations: WorkspaceConfigurations;
  /** The version of each document last seen changed, so a recheck is not taken for an edit. */
  private readonly seenVersions = new Map<string, number>();

  /** From `initialize`: what the client can register, and the workspace's folders. */
  initialize(capabilities: ClientCapabilities, folders?: readonly { uri: string }[] | null): void {
    this.capabilities = capabilities;
    this.configurations.setFolders(folders);
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
    const path = document.uri.startsWith('file:') ? fileURLToPath(document.uri) : undefined;
    const evaluator = this.trusted ? this.evaluator : undefined;
    const analysis = await evaluatedAnalysis(
      document.getText(),
      context,
      path && dirname(path),
      evaluator,
      (literal) =>
        namesSshUsers(literal) ? { file: path ?? '', configurations: this.configurations.for(path) } : undefined,
    );
    // Another host's configuration is not compared with this machine's machines file (thisHost.ts).
    const rebuild =
      analysis &&
      path &&
      declaredFor(path, this.configurations.for(path)).host !== 'other' &&
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
    this.otherFileChanged(document);
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

  /** The quick fixes of the problems in the requested range, and "pin the host key" on its entries. */
  async codeActions(params: CodeActionParams): Promise<CodeAction[]> {
    const document = this.documents.get(params.textDocument.uri);
    if (!document) return [];
    const { analysis, target } = await this.analysis(document);
    const from = document.offsetAt(params.range.start);
    const to = document.offsetAt(params.range.end);
    const fixes = (analysis?.problems ?? []).flatMap((p) => {
      if (!p.fix || p.span.end < from || p.span.start > to) return [];
      const diagnostic = toDiagnostic(p, document);
      // A fix in another file (the builder's configuration) is placed by that file's text.
      const target = p.fix.in ? TextDocument.create(p.fix.in.uri, 'nix', 0, p.fix.in.text) : document;
      const range = { start: target.positionAt(p.fix.span.start), end: target.positionAt(p.fix.span.end) };
      return [
        {
          title: p.fix.title,
          kind: CodeActionKind.QuickFix,
          diagnostics: [diagnostic],
          isPreferred: true,
          edit: { changes: { [target.uri]: [{ range, newText: p.fix.newText }] } },
        },
      ];
    });
    if (!analysis) return fixes;
    const pins = await pinDeclaredActions({
      document,
      analysis,
      target,
      range: { start: from, end: to },
      diagnostics: params.context.diagnostics,
      trusted: this.trusted,
      disabledSupport: this.capabilities.textDocument?.codeAction?.disabledSupport === true,
      sshConfigFile: await this.sshConfigFile(document.uri),
    });
    return [...fixes, ...pins];
  }

  private async sshConfigFile(uri: string): Promise<string | undefined> {
    return (await this.context.settings.get(uri)).sshConfigFile || undefined;
  }

  /** `nixBuilders.pinDeclaredHostKey`: fetch the builder's key and, on the user's word, write publicHostKey. */
  async executeCommand(params: ExecuteCommandParams): Promise<PinOutcome> {
    const args = params.arguments?.[0] as PinDeclaredHostKeyArguments | undefined;
    if (!args || typeof args.uri !== 'string' || typeof args.hostName !== 'string' || typeof args.offset !== 'number')
      return { pinned: false, reason: 'no builder given' };
    return pinDeclaredHostKey(args, {
      connection: this.connection,
      document: (uri) => this.documents.get(uri),
      analysis: (document) => this.analysis(document),
      trusted: () => this.trusted,
      sshConfigFile: (uri) => this.sshConfigFile(uri),
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
    this.seenVersions.delete(uri);
    if (!this.published.delete(uri)) return;
    await this.connection.sendDiagnostics({ uri, diagnostics: [] });
  }

  /**
   * A .nix document changed: a builder's configuration may be among the workspace's, so the
   * other open files that name an `sshUser` are checked against it again.
   */
  private otherFileChanged(changed: TextDocument): void {
    if (this.seenVersions.get(changed.uri) === changed.version) return;
    const first = !this.seenVersions.has(changed.uri);
    this.seenVersions.set(changed.uri, changed.version);
    this.configurations.changed();
    // Opening a file changes nothing on disk; only what the editor holds differs after an edit.
    if (first && changed.version <= 1) return;
    for (const [uri, cached] of this.analyses) {
      if (uri === changed.uri) continue;
      this.analyses.delete(uri);
      const other = this.documents.get(uri);
      if (other)
        void cached.result.then(({ analysis }) => {
          if (analysis && namesSshUsers(analysis)) void this.check(other);
        });
    }
  }

  /** Settings or files changed: everything open is analysed and checked again. */
  async recheckAll(): Promise<void> {
    this.configurations.changed();
    this.analyses.clear();
    await Promise.all(this.documents.all().map((document) => this.check(document)));
  }
}

/** As a machines file's problems are shown (the module's own codes are not in problem.ts's table). */
function toDiagnostic(p: NixModuleProblem, document: TextDocument): Diagnostic {
  return machinesDiagnostic({ ...p, code: p.code as ProblemCode }, document, () => undefined);
}
