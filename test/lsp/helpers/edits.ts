// Applying what the server sends back (text edits, workspace edits with created files) to texts
// the test holds, and finding positions by a marker, so each test can say "this becomes that".
import * as fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Position, TextEdit, WorkspaceEdit } from 'vscode-languageserver-protocol';
import { TextDocument } from 'vscode-languageserver-textdocument';

export function applyEdits(text: string, edits: TextEdit[]): string {
  return TextDocument.applyEdits(TextDocument.create('file:///x', 'plaintext', 1, text), edits);
}

/** The position of `marker` in `text` (its first character; add `offset` to move right). */
export function positionOf(text: string, marker: string, offset = 0): Position {
  const at = text.indexOf(marker);
  if (at < 0) throw new Error(`'${marker}' is not in ${JSON.stringify(text)}`);
  return TextDocument.create('file:///x', 'plaintext', 1, text).positionAt(at + offset);
}

export function positionAt(text: string, offset: number): Position {
  return TextDocument.create('file:///x', 'plaintext', 1, text).positionAt(offset);
}

/** The position just after `marker`. */
export const after = (text: string, marker: string): Position => positionOf(text, marker, marker.length);

/**
 * Applies a workspace edit: to the texts in `texts` (by URI), else to files on disk; created
 * files are created on disk. Returns the texts after the edit, by URI.
 */
export function applyWorkspaceEdit(edit: WorkspaceEdit, texts: Record<string, string>): Record<string, string> {
  const result = { ...texts };
  const textOf = (uri: string) => result[uri] ?? fs.readFileSync(fileURLToPath(uri), 'utf8');
  for (const [uri, edits] of Object.entries(edit.changes ?? {})) result[uri] = applyEdits(textOf(uri), edits);
  for (const change of edit.documentChanges ?? []) {
    if ('kind' in change) {
      if (change.kind !== 'create') throw new Error(`unexpected ${change.kind}`);
      const path = fileURLToPath(change.uri);
      if (!(fs.existsSync(path) && change.options?.ignoreIfExists)) fs.writeFileSync(path, '');
      result[change.uri] = fs.readFileSync(path, 'utf8');
    } else {
      result[change.textDocument.uri] = applyEdits(
        textOf(change.textDocument.uri),
        change.edits.filter((e): e is TextEdit => 'range' in e),
      );
    }
  }
  return result;
}
