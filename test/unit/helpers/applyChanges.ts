// The formatter's changes applied to a text, as an editor applies a TextEdit[]: the tests read
// the formatted file this way.
import type { TextChange } from '../../../server/src/language/formatting';

/** Applies changes (non-overlapping, any order) to a text. */
export function applyChanges(text: string, changes: readonly TextChange[]): string {
  let result = '';
  let at = 0;
  for (const change of [...changes].sort((a, b) => a.start - b.start)) {
    result += text.slice(at, change.start) + change.newText;
    at = change.end;
  }
  return result + text.slice(at);
}
