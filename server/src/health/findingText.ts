// A finding's words in the two forms they are shown in: plain text (the CLI, error boxes) and
// Markdown (the tree's tooltip renders the message as Markdown). A message marks what the user
// may copy (commands, config lines, file contents, what the builder printed) with `code`; in
// Markdown that becomes a code span, shown verbatim, and everything else is escaped, so that
// `[[ $- == *i* ]] || return` keeps its asterisks and text from a builder cannot become a link or
// markup. In plain text a code span is written between backticks, the usual way.

/** Private-use characters that delimit a code span inside a message while it is built. */
const OPEN = '\uE000';
const CLOSE = '\uE001';
const markers = /[\uE000\uE001]/g;

/** Marks `text` as something to copy, shown verbatim. Newlines become spaces (a span is one line). */
export function code(text: string): string {
  return `${OPEN}${text.replace(markers, '').replace(/\r?\n/g, ' ')}${CLOSE}`;
}

/** Text from outside (a builder's output, a file name) that must not open or close a code span. */
export function outside(text: string): string {
  return text.replace(markers, '');
}

export interface TextPart {
  code: boolean;
  text: string;
}

/** The message cut into its prose and its code spans, in order. */
export function partsOf(message: string): TextPart[] {
  const parts: TextPart[] = [];
  let rest = message;
  while (rest.length > 0) {
    const open = rest.indexOf(OPEN);
    if (open === -1) {
      parts.push({ code: false, text: rest.replace(markers, '') });
      break;
    }
    if (open > 0) parts.push({ code: false, text: rest.slice(0, open).replace(markers, '') });
    const close = rest.indexOf(CLOSE, open + 1);
    const end = close === -1 ? rest.length : close;
    parts.push({ code: true, text: rest.slice(open + 1, end).replace(markers, '') });
    rest = close === -1 ? '' : rest.slice(close + 1);
  }
  return parts.filter((part) => part.text !== '');
}

export function plainText(message: string): string {
  return partsOf(message)
    .map((part) => (part.code ? `\`${part.text}\`` : part.text))
    .join('');
}

/** Every ASCII punctuation character may be backslash-escaped in CommonMark, and then is literal. */
const escapeProse = (text: string) => text.replace(/[!-/:-@[-`{-~]/g, (char) => `\\${char}`).replace(/\r?\n/g, ' ');

/**
 * A CommonMark code span of `text`: fenced by one more backtick than its longest run of them,
 * and padded with a space where it starts or ends with a backtick or a space (the renderer
 * strips one space from each end when both are there).
 */
function codeSpan(text: string): string {
  const longest = Math.max(0, ...(text.match(/`+/g) ?? []).map((run) => run.length));
  const fence = '`'.repeat(longest + 1);
  const pad = /^[` ]|[` ]$/.test(text) ? ' ' : '';
  return `${fence}${pad}${text}${pad}${fence}`;
}

export function markdownText(message: string): string {
  return partsOf(message)
    .map((part) => (part.code ? codeSpan(part.text) : escapeProse(part.text)))
    .join('');
}
