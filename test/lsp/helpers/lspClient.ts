// A real LSP client for the lsp tier: starts `node dist/server.js --stdio` (what any editor
// runs), answers its configuration requests from a settings object the test controls, and
// collects the diagnostics it publishes.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { pathToFileURL } from 'node:url';
import {
  ApplyWorkspaceEditRequest,
  CodeActionRequest,
  CompletionRequest,
  ConfigurationRequest,
  createProtocolConnection,
  DidChangeConfigurationNotification,
  DidChangeTextDocumentNotification,
  DidCloseTextDocumentNotification,
  DidOpenTextDocumentNotification,
  DocumentFormattingRequest,
  DocumentLinkRequest,
  DocumentRangeFormattingRequest,
  DocumentSymbolRequest,
  ExecuteCommandRequest,
  ExitNotification,
  HoverRequest,
  InlayHintRequest,
  InitializedNotification,
  InitializeRequest,
  PublishDiagnosticsNotification,
  RegistrationRequest,
  ShowMessageNotification,
  ShowMessageRequest,
  ShutdownRequest,
  StreamMessageReader,
  StreamMessageWriter,
  type ApplyWorkspaceEditParams,
  type ClientCapabilities,
  type CodeAction,
  type Command,
  type CompletionItem,
  type CompletionList,
  type Diagnostic,
  type DocumentLink,
  type DocumentSymbol,
  type Hover,
  type InlayHint,
  type MessageActionItem,
  type Position,
  type Range,
  type Registration,
  type ShowMessageParams,
  type ShowMessageRequestParams,
  type TextEdit,
  type ProtocolConnection,
  type PublishDiagnosticsParams,
} from 'vscode-languageserver-protocol/node';

const serverPath = join(__dirname, '../../../dist/server.js');

/** Called with every chunk written to or read from the server. */
export type Wire = (direction: 'to-server' | 'from-server', chunk: Buffer) => void;

export class LspClient {
  readonly connection: ProtocolConnection;
  readonly process: ChildProcessWithoutNullStreams;
  /** What the server reads as `nixBuilders.*`. */
  settings: Record<string, unknown> = { nixVersion: 'auto' };
  private readonly published = new Map<string, PublishDiagnosticsParams[]>();
  private readonly waiters: (() => void)[] = [];
  private versions = new Map<string, number>();
  stderr = '';
  /** How the test answers `window/showMessageRequest` (default: dismiss). */
  answerMessage: (params: ShowMessageRequestParams) => MessageActionItem | null = () => null;
  /** Every `window/showMessageRequest` and `window/showMessage` the server sent. */
  readonly messageRequests: ShowMessageRequestParams[] = [];
  readonly messages: ShowMessageParams[] = [];
  /** Every registration the server asked for (`client/registerCapability`), in order. */
  readonly registrations: Registration[] = [];
  /** Every `workspace/applyEdit` the server sent (answered as applied). */
  readonly appliedEdits: ApplyWorkspaceEditParams[] = [];

  /** `wire` sees every byte of the LSP stream in both directions, as a verbose trace would. */
  /** `runAs` wraps the server's command line (e.g. to run it as another user). */
  constructor(
    env: NodeJS.ProcessEnv = process.env,
    wire?: Wire,
    runAs?: (command: string, args: string[]) => [string, string[]],
  ) {
    const [command, args] = (runAs ?? ((c: string, a: string[]) => [c, a] as [string, string[]]))(process.execPath, [
      serverPath,
      '--stdio',
    ]);
    this.process = spawn(command, args, { env });
    this.process.stderr.on('data', (chunk) => (this.stderr += chunk));
    let toServer: NodeJS.WritableStream = this.process.stdin;
    if (wire) {
      this.process.stdout.on('data', (chunk: Buffer) => wire('from-server', chunk));
      const tap = new PassThrough();
      tap.on('data', (chunk: Buffer) => wire('to-server', chunk));
      tap.pipe(this.process.stdin);
      toServer = tap;
    }
    this.connection = createProtocolConnection(
      new StreamMessageReader(this.process.stdout),
      new StreamMessageWriter(toServer),
    );
    this.connection.onRequest(ConfigurationRequest.type, (params) => params.items.map(() => this.settings));
    this.connection.onRequest(RegistrationRequest.type, (params) => {
      this.registrations.push(...params.registrations);
    });
    this.connection.onRequest(ShowMessageRequest.type, (params) => {
      this.messageRequests.push(params);
      return this.answerMessage(params);
    });
    this.connection.onNotification(ShowMessageNotification.type, (params) => void this.messages.push(params));
    this.connection.onRequest(ApplyWorkspaceEditRequest.type, (params) => {
      this.appliedEdits.push(params);
      return { applied: true };
    });
    this.connection.onNotification(PublishDiagnosticsNotification.type, (params) => {
      const list = this.published.get(params.uri) ?? [];
      list.push(params);
      this.published.set(params.uri, list);
      this.waiters.splice(0).forEach((wake) => wake());
    });
    this.connection.listen();
  }

  /** `env` is the server's environment (NIX_CONF_DIR, HOME, …); `folders` the workspace folders. */
  /** `initializationOptions` (e.g. `{ trusted: true }`) and `capabilities` are merged into the defaults. */
  static async start(
    options: {
      env?: NodeJS.ProcessEnv;
      folders?: string[];
      initializationOptions?: unknown;
      capabilities?: ClientCapabilities;
      wire?: Wire;
      runAs?: (command: string, args: string[]) => [string, string[]];
    } = {},
  ): Promise<LspClient> {
    const client = new LspClient(options.env, options.wire, options.runAs);
    await client.connection.sendRequest(InitializeRequest.type, {
      processId: process.pid,
      rootUri: null,
      workspaceFolders: options.folders
        ? options.folders.map((folder) => ({ uri: pathToFileURL(folder).toString(), name: folder }))
        : null,
      capabilities: {
        workspace: {
          configuration: true,
          didChangeConfiguration: { dynamicRegistration: true },
          workspaceEdit: { documentChanges: true, resourceOperations: ['create'] },
          ...options.capabilities?.workspace,
        },
        textDocument: {
          documentSymbol: { hierarchicalDocumentSymbolSupport: true },
          completion: { completionItem: { snippetSupport: true } },
          codeAction: {
            codeActionLiteralSupport: { codeActionKind: { valueSet: ['quickfix', 'refactor'] } },
            disabledSupport: true,
          },
          ...options.capabilities?.textDocument,
        },
        window: { showMessage: {} },
      },
      ...(options.initializationOptions !== undefined ? { initializationOptions: options.initializationOptions } : {}),
    });
    await client.connection.sendNotification(InitializedNotification.type, {});
    return client;
  }

  async open(path: string, languageId: 'nix-machines' | 'nix-conf' | 'nix', text: string): Promise<string> {
    const uri = pathToFileURL(path).toString();
    this.versions.set(uri, 1);
    this.published.delete(uri);
    await this.connection.sendNotification(DidOpenTextDocumentNotification.type, {
      textDocument: { uri, languageId, version: 1, text },
    });
    return uri;
  }

  /** Replaces the whole text; returns the new version. */
  async change(uri: string, text: string): Promise<number> {
    const version = (this.versions.get(uri) ?? 1) + 1;
    this.versions.set(uri, version);
    await this.connection.sendNotification(DidChangeTextDocumentNotification.type, {
      textDocument: { uri, version },
      contentChanges: [{ text }],
    });
    return version;
  }

  /** Replaces `range` with `text`, as VS Code sends an edit (incremental sync); returns the new version. */
  async changeRange(
    uri: string,
    range: { start: { line: number; character: number }; end: { line: number; character: number } },
    text: string,
  ): Promise<number> {
    const version = (this.versions.get(uri) ?? 1) + 1;
    this.versions.set(uri, version);
    await this.connection.sendNotification(DidChangeTextDocumentNotification.type, {
      textDocument: { uri, version },
      contentChanges: [{ range, text }],
    });
    return version;
  }

  async close(uri: string): Promise<void> {
    await this.connection.sendNotification(DidCloseTextDocumentNotification.type, { textDocument: { uri } });
  }

  async changeSettings(settings: Record<string, unknown>): Promise<void> {
    this.settings = settings;
    await this.connection.sendNotification(DidChangeConfigurationNotification.type, { settings: {} });
  }

  /** Every publish for `uri` so far, oldest first. */
  publishes(uri: string): PublishDiagnosticsParams[] {
    return this.published.get(uri) ?? [];
  }

  /** The first diagnostics published for `uri` that satisfy `accept` (default: any, for the latest version). */
  async diagnostics(
    uri: string,
    accept: (params: PublishDiagnosticsParams) => boolean = () => true,
    timeoutMs = 10_000,
  ): Promise<Diagnostic[]> {
    const deadline = Date.now() + timeoutMs;
    const expected = this.versions.get(uri);
    for (;;) {
      const match = this.publishes(uri).find(
        (p) => (p.version === undefined || expected === undefined || p.version === expected) && accept(p),
      );
      if (match) return match.diagnostics;
      const left = deadline - Date.now();
      if (left <= 0)
        throw new Error(
          `no diagnostics for ${uri} within ${timeoutMs} ms (got ${JSON.stringify(this.publishes(uri))}); server stderr: ${this.stderr}`,
        );
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  async symbols(uri: string): Promise<DocumentSymbol[]> {
    return (await this.connection.sendRequest(DocumentSymbolRequest.type, {
      textDocument: { uri },
    })) as DocumentSymbol[];
  }

  async completion(uri: string, position: Position): Promise<CompletionItem[]> {
    const result = await this.connection.sendRequest(CompletionRequest.type, { textDocument: { uri }, position });
    return Array.isArray(result) ? result : ((result as CompletionList | null)?.items ?? []);
  }

  async hover(uri: string, position: Position): Promise<Hover | null> {
    return this.connection.sendRequest(HoverRequest.type, { textDocument: { uri }, position });
  }

  async codeActions(uri: string, range: Range, diagnostics: Diagnostic[]): Promise<CodeAction[]> {
    const result = await this.connection.sendRequest(CodeActionRequest.type, {
      textDocument: { uri },
      range,
      context: { diagnostics },
    });
    return (result ?? []).filter((a): a is CodeAction => !('command' in a && typeof a.command === 'string'));
  }

  async formatting(uri: string): Promise<TextEdit[]> {
    return (
      (await this.connection.sendRequest(DocumentFormattingRequest.type, {
        textDocument: { uri },
        options: { tabSize: 2, insertSpaces: true },
      })) ?? []
    );
  }

  async rangeFormatting(uri: string, range: Range): Promise<TextEdit[]> {
    return (
      (await this.connection.sendRequest(DocumentRangeFormattingRequest.type, {
        textDocument: { uri },
        range,
        options: { tabSize: 2, insertSpaces: true },
      })) ?? []
    );
  }

  async documentLinks(uri: string): Promise<DocumentLink[]> {
    return (await this.connection.sendRequest(DocumentLinkRequest.type, { textDocument: { uri } })) ?? [];
  }

  async inlayHints(uri: string, range: Range): Promise<InlayHint[]> {
    return (await this.connection.sendRequest(InlayHintRequest.type, { textDocument: { uri }, range })) ?? [];
  }

  async executeCommand(command: Command): Promise<unknown> {
    return this.connection.sendRequest(ExecuteCommandRequest.type, {
      command: command.command,
      arguments: command.arguments ?? [],
    });
  }

  async stop(): Promise<void> {
    try {
      await this.connection.sendRequest(ShutdownRequest.type);
      await this.connection.sendNotification(ExitNotification.type);
    } finally {
      this.connection.dispose();
      this.process.kill();
    }
  }
}
