// The NixOS configurations in the workspace's folders (builderConfigurations.ts), for the
// checks that compare a builder entry with the builder's own configuration. An open document is
// read as the editor has it, any other file from disk; the list is read again after a change
// (a .nix document edited, files changed on disk).
import { fileURLToPath } from 'node:url';
import type { TextDocuments } from 'vscode-languageserver';
import type { TextDocument } from 'vscode-languageserver-textdocument';
import { findMachinesFiles } from '../builders/workspaceMachines';
import { readTextOrUndefined } from '../context/readFile';
import { builderConfigurations, type BuilderConfiguration } from './builderConfigurations';

/** How many .nix files of a folder are read, and how deep (a nixpkgs checkout has 40 000). */
const maxNixFiles = 500;
const maxDepth = 5;

export class WorkspaceConfigurations {
  private folders: string[] = [];
  private current: { roots: string; configurations: BuilderConfiguration[] } | undefined;

  constructor(private readonly documents: TextDocuments<TextDocument>) {}

  setFolders(folders: readonly { uri: string }[] | null | undefined): void {
    this.folders = (folders ?? []).filter((f) => f.uri.startsWith('file:')).map((f) => fileURLToPath(f.uri));
    this.changed();
  }

  /** Something may have changed: read everything again next time. */
  changed(): void {
    this.current = undefined;
  }

  /** The configurations for a document at `file`: in the workspace folders, or in its own folder when outside them. */
  for(file: string | undefined): BuilderConfiguration[] {
    const inside = file !== undefined && this.folders.some((f) => file.startsWith(`${f}/`));
    const roots = inside || file === undefined ? this.folders : [file.slice(0, file.lastIndexOf('/')) || '/'];
    const key = roots.join('\0');
    if (this.current?.roots !== key) {
      const files = roots.flatMap((root) =>
        findMachinesFiles(root, maxDepth, maxNixFiles, (name) => name.endsWith('.nix')),
      );
      this.current = { roots: key, configurations: builderConfigurations(files, (path) => this.read(path)) };
    }
    return this.current.configurations;
  }

  private read(path: string): string | undefined {
    const open = this.documents.all().find((d) => d.uri.startsWith('file:') && fileURLToPath(d.uri) === path);
    return open ? open.getText() : readTextOrUndefined(path);
  }
}
