// Nix source read by a maintained Nix grammar (the Lezer grammar of @replit/codemirror-lang-nix:
// pure JavaScript, bundled by esbuild, nothing loaded at run time), with the few walks over its
// tree that finding builders needs. Only `parser` is imported: the CodeMirror parts of that
// package are left out of the bundle (it is marked free of side effects).
import type { SyntaxNode, Tree } from '@lezer/common';
import { parser } from '@replit/codemirror-lang-nix';
import type { Span } from '../model/problem';

export type { SyntaxNode };

/**
 * The tree of `text`. The grammar's string tokenizer reads past the end when the text ends in
 * a backslash inside an unterminated string (a RangeError): that backslash escapes nothing, so
 * it is read as a space instead, which keeps every position; anything else it throws on reads
 * as nothing.
 */
export function parseNix(text: string): Tree {
  try {
    return parser.parse(text);
  } catch {
    try {
      return parser.parse(`${text.slice(0, -1)} `);
    } catch {
      return parser.parse('');
    }
  }
}

export function spanOf(node: SyntaxNode): Span {
  return { start: node.from, end: node.to };
}

/** The named children of a node, in text order (punctuation and keywords included). */
export function childrenOf(node: SyntaxNode): SyntaxNode[] {
  const children: SyntaxNode[] = [];
  for (let child = node.firstChild; child; child = child.nextSibling) children.push(child);
  return children;
}

/** Nodes that are expressions (not punctuation, keywords or comments). */
const notExpressions = new Set([
  '{',
  '}',
  '(',
  ')',
  '[',
  ']',
  'LineComment',
  'BlockComment',
  'with',
  'let',
  'in',
  'rec',
  'inherit',
  'assert',
  'or',
  '⚠',
]);

export function isExpression(node: SyntaxNode): boolean {
  return !notExpressions.has(node.name);
}

/**
 * The names of an attribute path (`nix.settings."trusted-users"`), or undefined when a part is
 * computed (`${name}`, a string with an interpolation): that path cannot be read without evaluating.
 */
export function attrPathNames(path: SyntaxNode, text: string): string[] | undefined {
  const names: string[] = [];
  for (const part of childrenOf(path)) {
    if (part.name === 'Identifier') names.push(text.slice(part.from, part.to));
    else if (part.name === 'String' && !part.getChild('Interpolation'))
      names.push(decodeString(text.slice(part.from + 1, part.to - 1)));
    else if (part.name === 'LineComment' || part.name === 'BlockComment') continue;
    else return undefined;
  }
  return names;
}

/**
 * The characters of a `"…"` string without interpolations, as Nix's lexer decodes them: `\n`,
 * `\r`, `\t` are control characters, any other escaped character stands for itself.
 */
export function decodeString(body: string): string {
  return body.replace(/\\([\s\S])/g, (_, c: string) => (c === 'n' ? '\n' : c === 'r' ? '\r' : c === 't' ? '\t' : c));
}

/** True when the grammar could not read part of `node` (Nix would refuse the file, or the grammar lacks a rule). */
export function hasSyntaxError(node: SyntaxNode): boolean {
  const cursor = node.cursor();
  const end = node.to;
  do {
    if (cursor.from >= end && cursor.from > node.from) break;
    if (cursor.type.isError) return true;
  } while (cursor.next() && cursor.from < end);
  return false;
}
