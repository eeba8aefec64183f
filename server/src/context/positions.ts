// Offsets in a text to LSP positions (UTF-16 code units, as LSP counts by default). The line
// index is vscode-languageserver-textdocument's own: built once per text, then each position is
// a binary search, so placing every machine of a large file stays linear.
import { TextDocument } from 'vscode-languageserver-textdocument';

/** A text that answers position questions; keep it while placing many spans in the same text. */
export function indexed(text: string): TextDocument {
  return TextDocument.create('untitled:positions', 'plaintext', 0, text);
}

/** Reads files once per use: the same included file is placed against many times. */
export function fileIndex(read: (file: string) => string | undefined): (file: string) => TextDocument | undefined {
  const seen = new Map<string, TextDocument | undefined>();
  return (file) => {
    if (!seen.has(file)) {
      const text = read(file);
      seen.set(file, text === undefined ? undefined : indexed(text));
    }
    return seen.get(file);
  };
}
