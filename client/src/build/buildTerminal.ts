// A build as a VS Code task in its own terminal: the log streams in live, closing the terminal
// cancels the build, and the terminal stays after the build so the log can be read.
import * as vscode from 'vscode';

export class BuildTerminal implements vscode.Pseudoterminal {
  private readonly written = new vscode.EventEmitter<string>();
  private readonly closed = new vscode.EventEmitter<number | void>();
  readonly onDidWrite = this.written.event;
  readonly onDidClose = this.closed.event;
  private opened: () => void = () => {};
  /** Resolves when VS Code has opened the terminal (lines written before then would be lost). */
  readonly ready = new Promise<void>((resolve) => (this.opened = resolve));

  constructor(private readonly onUserClose: () => void) {}

  open(): void {
    this.opened();
  }

  close(): void {
    this.onUserClose();
  }

  line(text: string): void {
    // A terminal wants \r\n; build logs come with \n only.
    this.written.fire(`${text.replace(/\r?\n/g, '\r\n')}\r\n`);
  }

  /** A line in the terminal's own colour, for our messages between the log lines. */
  note(text: string): void {
    this.line(`\x1b[36m${text}\x1b[0m`);
  }

  error(text: string): void {
    this.line(`\x1b[31m${text}\x1b[0m`);
  }

  finish(code: number): void {
    this.closed.fire(code);
  }
}
