// The editing features behind one object, so server.ts only wires requests to them: completion,
// hover, quick fixes, formatting, links, inlay hints and the "pin host key" command. It holds
// what they share: the open documents and their analyses, the client's capabilities, and the
// server context (the settings, and workspace trust: no SSH and no `ssh -G` until it is given).
import { homedir } from 'node:os';
import type {
  ClientCapabilities,
  CodeAction,
  CodeActionParams,
  CompletionList,
  CompletionParams,
  Connection,
  DocumentFormattingParams,
  DocumentLink,
  DocumentLinkParams,
  DocumentRangeFormattingParams,
  ExecuteCommandParams,
  Hover,
  HoverParams,
  InlayHint,
  InlayHintParams,
  TextDocuments,
  TextEdit,
} from 'vscode-languageserver';
import type { TextDocument } from 'vscode-languageserver-textdocument';
import { commaList } from '../model/nixStrings';
import type { Analysis } from './analysis';
import type { DocumentChecker } from './checker';
import { codeActions, readUriFromDisk } from './codeActions';
import { completions, type SshFiles, type Vocabulary } from './completion';
import { documentLinks } from './documentLinks';
import { ownMachines } from './documentMachines';
import { formatMachines, formatNixConf, type TextChange } from './formatting';
import { hover } from './hover';
import { inlayHints } from './inlayHints';
import { pinHostKey, pinHostKeyCommand, type PinHostKeyArguments, type PinOutcome } from './pinHostKey';
import type { ServerContext } from '../context/serverContext';

export { pinHostKeyCommand };

export class EditingFeatures {
  private capabilities: ClientCapabilities = {};

  constructor(
    private readonly connection: Connection,
    private readonly documents: TextDocuments<TextDocument>,
    private readonly checker: DocumentChecker,
    private readonly context: ServerContext,
  ) {}

  /** From `initialize`: the client's capabilities. */
  initialize(capabilities: ClientCapabilities): void {
    this.capabilities = capabilities;
  }

  /** Settings changed: inlay hints may have been turned on or off. */
  configurationChanged(): void {
    if (this.capabilities.workspace?.inlayHint?.refreshSupport) void this.connection.languages.inlayHint.refresh();
  }

  private async open(uri: string): Promise<{ document: TextDocument; analysis: Analysis } | undefined> {
    const document = this.documents.get(uri);
    const pending = document && this.checker.analysis(document);
    if (!document || !pending) return undefined;
    return { document, analysis: await pending };
  }

  private async sshFiles(uri: string, analysis: Analysis): Promise<SshFiles> {
    const settings = await this.context.settings.get(uri);
    return {
      homes: [...new Set([homedir(), analysis.target.keyHome])],
      configFile: settings.sshConfigFile || undefined,
    };
  }

  /** Systems and features written in the open machines files and nix.confs. */
  private async vocabulary(): Promise<Vocabulary> {
    const systems = new Set<string>();
    const features = new Set<string>();
    for (const document of this.documents.all()) {
      const pending = this.checker.analysis(document);
      if (!pending) continue;
      let analysis: Analysis;
      try {
        analysis = await pending;
      } catch {
        continue;
      }
      for (const machine of ownMachines(analysis)) {
        if (machine.columns.systems?.isSet) commaList(machine.columns.systems.text).forEach((s) => systems.add(s));
        machine.supportedFeatures.forEach((f) => features.add(f));
        machine.mandatoryFeatures.forEach((f) => features.add(f));
      }
    }
    return { systems, features };
  }

  async completion(params: CompletionParams): Promise<CompletionList | null> {
    const open = await this.open(params.textDocument.uri);
    if (!open) return null;
    return completions({
      document: open.document,
      offset: open.document.offsetAt(params.position),
      analysis: open.analysis,
      vocabulary: await this.vocabulary(),
      ssh: await this.sshFiles(params.textDocument.uri, open.analysis),
      snippets: this.capabilities.textDocument?.completion?.completionItem?.snippetSupport === true,
    });
  }

  async hover(params: HoverParams): Promise<Hover | null> {
    const open = await this.open(params.textDocument.uri);
    if (!open) return null;
    const settings = await this.context.settings.get(params.textDocument.uri);
    return hover({
      document: open.document,
      offset: open.document.offsetAt(params.position),
      analysis: open.analysis,
      trusted: this.context.trusted,
      sshConfigFile: settings.sshConfigFile || undefined,
    });
  }

  async codeActions(params: CodeActionParams): Promise<CodeAction[]> {
    const open = await this.open(params.textDocument.uri);
    if (!open) return [];
    const workspaceEdit = this.capabilities.workspace?.workspaceEdit;
    const settings = await this.context.settings.get(params.textDocument.uri);
    return codeActions({
      document: open.document,
      range: params.range,
      diagnostics: params.context.diagnostics,
      analysis: open.analysis,
      textOf: (uri) => this.documents.get(uri)?.getText() ?? readUriFromDisk(uri),
      trusted: this.context.trusted,
      canCreateFiles:
        workspaceEdit?.documentChanges === true && (workspaceEdit.resourceOperations ?? []).includes('create'),
      disabledSupport: this.capabilities.textDocument?.codeAction?.disabledSupport === true,
      sshConfigFile: settings.sshConfigFile || undefined,
    });
  }

  private edits(document: TextDocument, changes: TextChange[]): TextEdit[] {
    return changes.map((c) => ({
      range: { start: document.positionAt(c.start), end: document.positionAt(c.end) },
      newText: c.newText,
    }));
  }

  async formatDocument(params: DocumentFormattingParams): Promise<TextEdit[]> {
    const document = this.documents.get(params.textDocument.uri);
    if (!document) return [];
    const text = document.getText();
    if (document.languageId === 'nix-machines') return this.edits(document, formatMachines(text));
    if (document.languageId === 'nix-conf') return this.edits(document, formatNixConf(text));
    return [];
  }

  async formatRange(params: DocumentRangeFormattingParams): Promise<TextEdit[]> {
    const document = this.documents.get(params.textDocument.uri);
    if (!document) return [];
    const text = document.getText();
    const range = { start: document.offsetAt(params.range.start), end: document.offsetAt(params.range.end) };
    if (document.languageId === 'nix-machines') return this.edits(document, formatMachines(text, range));
    if (document.languageId === 'nix-conf') return this.edits(document, formatNixConf(text, range));
    return [];
  }

  async documentLinks(params: DocumentLinkParams): Promise<DocumentLink[]> {
    const open = await this.open(params.textDocument.uri);
    return open ? documentLinks(open.document, open.analysis) : [];
  }

  async inlayHints(params: InlayHintParams): Promise<InlayHint[]> {
    const settings = await this.context.settings.get(params.textDocument.uri);
    if (settings.inlayHints?.enabled === false) return [];
    const open = await this.open(params.textDocument.uri);
    if (!open) return [];
    const range = { start: open.document.offsetAt(params.range.start), end: open.document.offsetAt(params.range.end) };
    return inlayHints(open.document, open.analysis, range);
  }

  async executeCommand(params: ExecuteCommandParams): Promise<PinOutcome | undefined> {
    if (params.command !== pinHostKeyCommand) return undefined;
    const args = params.arguments?.[0] as PinHostKeyArguments | undefined;
    if (!args || typeof args.uri !== 'string' || typeof args.storeUri !== 'string')
      return { pinned: false, reason: 'no machine given' };
    return pinHostKey(args, {
      connection: this.connection,
      document: (uri) => this.documents.get(uri),
      analysis: (document) => this.checker.analysis(document),
      trusted: () => this.context.trusted,
      sshConfigFile: async (uri) => (await this.context.settings.get(uri)).sshConfigFile || undefined,
    });
  }
}
