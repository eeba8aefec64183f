// Keeps every open machines file and nix.conf analysed and its diagnostics published. A machines
// file that a nix.conf includes with `builders = @FILE` is checked too, even when it is not open,
// because that is where Nix will read builders from. Stale work is dropped: a check waits for
// the messages already on their way, does not start for a version that is no longer current,
// and does not convert or publish a result a newer version has overtaken.
import { fileURLToPath, pathToFileURL } from 'node:url';
import { LSPErrorCodes, ResponseError, type Connection, type TextDocuments } from 'vscode-languageserver';
import { TextDocument } from 'vscode-languageserver-textdocument';
import { analyzeInSteps, lineMemo, type Analysis, type DocumentKind } from './analysis';
import type { LineMemo } from '../model/lineMemo';
import type { Diagnostic } from 'vscode-languageserver';
import { diagnosticsByLineToPublish, diagnosticsToPublish } from './publishedDiagnostics';
import { positionsFrom } from './linePositions';
import type { TextLine } from '../model/lineMemo';
import { fileIndex } from '../context/positions';
import type { ServerContext } from '../context/serverContext';
import { WatchedFiles } from '../context/watchedFiles';

function pathOf(uri: string): string | undefined {
  return uri.startsWith('file:') ? fileURLToPath(uri) : undefined;
}

/** Lets the event loop run: queued requests are answered, and a newer edit is read, first. */
function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

function kindOf(languageId: string): DocumentKind | undefined {
  return languageId === 'nix-machines' || languageId === 'nix-conf' ? languageId : undefined;
}

export class DocumentChecker {
  private readonly analyses = new Map<string, { version: number; analysis: Promise<Analysis> }>();
  /** For each nix.conf: the included machines files we published diagnostics for. */
  private readonly includedBy = new Map<string, Set<string>>();
  /** For each open document: what its last version read on each line, so an edit re-reads only its lines. */
  private readonly memos = new Map<string, LineMemo>();
  /** What each file's last publish held from its own text, so the builders' health can be added again. */
  private readonly published = new Map<string, Diagnostic[]>();
  /**
   * Documents checked before: their TextDocument keeps its line index up to date through
   * edits, so only a document's first publish (its open) takes positions from the parse's line
   * starts (linePositions.ts) rather than have TextDocument index a whole text first.
   */
  private readonly checkedBefore = new WeakSet<TextDocument>();
  /** The `@file`s and SSH keys the documents point at, read once until they change on disk (then all is checked again). */
  readonly files = new WatchedFiles(() => void this.recheck());

  constructor(
    private readonly connection: Connection,
    private readonly documents: TextDocuments<TextDocument>,
    private readonly context: ServerContext,
    /** The problems the last checks of the builders found, on their lines (healthDiagnostics.ts). */
    private readonly healthOf: (uri: string) => Diagnostic[] = () => [],
  ) {}

  /** Publishes a file's own diagnostics with its builders' health after them. */
  private async send(uri: string, diagnostics: Diagnostic[], version?: number): Promise<void> {
    this.published.set(uri, diagnostics);
    await this.connection.sendDiagnostics({
      uri,
      ...(version === undefined ? {} : { version }),
      diagnostics: [...diagnostics, ...this.healthOf(uri)],
    });
  }

  /** A builder's health changed: its file is published again with what it last held. */
  async healthChanged(uri: string): Promise<void> {
    await this.send(uri, this.published.get(uri) ?? []);
  }

  /** The analysis of an open document at its current version (computed once per version). */
  analysis(document: TextDocument): Promise<Analysis> | undefined {
    const kind = kindOf(document.languageId);
    if (!kind) return undefined;
    const cached = this.analyses.get(document.uri);
    if (cached && cached.version === document.version) return cached.analysis;
    const version = document.version;
    const stale = () => this.documents.get(document.uri)?.version !== version;
    let memo = this.memos.get(document.uri);
    if (memo === undefined) this.memos.set(document.uri, (memo = lineMemo()));
    const analysis = this.analyzeText(document.uri, document.getText(), kind, stale, memo);
    this.analyses.set(document.uri, { version, analysis });
    return analysis;
  }

  private async analyzeText(
    uri: string,
    text: string,
    kind: DocumentKind,
    stale: () => boolean = () => false,
    memo?: LineMemo,
  ): Promise<Analysis> {
    const { target } = await this.context.nixHere(uri);
    // The document changed meanwhile: nobody needs this version's analysis, stop it.
    const stopIfStale = () => {
      if (stale())
        throw new ResponseError(LSPErrorCodes.ContentModified, `${uri} changed before its version was analysed`);
    };
    stopIfStale();
    return analyzeInSteps(
      text,
      kind,
      pathOf(uri),
      target,
      async () => {
        await yieldToEventLoop();
        stopIfStale();
      },
      memo,
      this.files,
    );
  }

  /** The lines the document's memo read this version in (their starts are the LSP lines of a text without `\r`). */
  private linesOf(uri: string, analysis: Analysis): readonly TextLine[] | undefined {
    const builders = analysis.builders;
    return builders !== undefined && this.memos.get(uri)?.made(builders) ? builders.lines : undefined;
  }

  async check(document: TextDocument): Promise<void> {
    // TextDocuments updates a document in place: keep the version this check is for.
    const version = document.version;
    const stale = () => this.documents.get(document.uri)?.version !== version;
    // Two hops: the connection reads one message per turn of the loop, so an edit sent right
    // after this one is read by then, and this version's check never starts.
    await yieldToEventLoop();
    await yieldToEventLoop();
    if (stale()) return;
    const pending = this.analysis(document);
    if (!pending) return;
    let analysis: Analysis;
    try {
      analysis = await pending;
    } catch (error) {
      if (error instanceof ResponseError && error.code === LSPErrorCodes.ContentModified) return; // a newer check publishes
      // Never let one document take the server down: say so in the log and keep serving.
      this.connection.console.error(
        `Could not check ${document.uri}: ${error instanceof Error ? error.stack : String(error)}`,
      );
      return;
    }
    // A newer version may have arrived while we waited: its own check publishes.
    if (stale()) return;
    const files = fileIndex((file) => this.files.readText(file));
    // As the lines keep them when the memo read it: an edit converts only the lines it changed.
    const diagnostics =
      analysis.problemsByLine === undefined
        ? diagnosticsToPublish(analysis.problems, document, files)
        : diagnosticsByLineToPublish(
            analysis.problemsByLine,
            this.checkedBefore.has(document) ? document : positionsFrom(document, this.linesOf(document.uri, analysis)),
            files,
          );
    this.checkedBefore.add(document);
    await this.send(document.uri, diagnostics, version);
    if (analysis.kind === 'nix-conf') await this.checkIncludedMachinesFiles(document.uri, analysis, stale);
  }

  private async checkIncludedMachinesFiles(confUri: string, analysis: Analysis, stale: () => boolean): Promise<void> {
    const now = new Set<string>();
    for (const include of analysis.builders?.includes ?? []) {
      if (stale()) return; // the newer version's check does this
      if (include.status !== 'read' || include.file !== undefined) continue;
      const uri = pathToFileURL(include.path).toString();
      if (this.documents.get(uri)) continue; // open: checked as itself
      const text = this.files.readText(include.path);
      if (text === undefined) continue;
      const included = await this.analyzeText(uri, text, 'nix-machines');
      const document = TextDocument.create(uri, 'nix-machines', 0, text);
      now.add(uri);
      await this.send(
        uri,
        diagnosticsToPublish(
          included.problems,
          document,
          fileIndex((file) => this.files.readText(file)),
        ),
      );
    }
    for (const uri of this.includedBy.get(confUri) ?? []) {
      if (!now.has(uri) && !this.documents.get(uri)) await this.send(uri, []);
    }
    this.includedBy.set(confUri, now);
  }

  /** Forgets a closed document; clears its diagnostics unless a nix.conf still includes it. */
  async close(uri: string): Promise<void> {
    this.analyses.delete(uri);
    this.memos.delete(uri);
    this.context.settings.forget(uri);
    const stillIncluded = [...this.includedBy.values()].some((uris) => uris.has(uri));
    if (!stillIncluded) await this.send(uri, []);
    for (const included of this.includedBy.get(uri) ?? []) {
      if (!this.documents.get(included)) await this.send(included, []);
    }
    this.includedBy.delete(uri);
  }

  /** Files on disk or settings changed: everything open is checked again. */
  async recheckAll(): Promise<void> {
    this.files.forget();
    await this.recheck();
  }

  /** A file the documents point at changed on disk (the watcher forgot it): everything open is checked again. */
  private async recheck(): Promise<void> {
    this.analyses.clear();
    await Promise.all(this.documents.all().map((document) => this.check(document)));
  }
}
