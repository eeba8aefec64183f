// Where the cursor is in a `nix.buildMachines` entry (or in the `{ … }` a function makes each
// builder from), for completion: on an attribute name (or where one can be typed), or in an
// attribute's value, bare or inside a string, in a list or not; or between the entries of the
// list, where a whole entry can be typed. Read from the grammar's tree,
// which keeps entries that are still being typed (`{ hostName = "b"; sys }`, an open string).
import type { Span } from '../model/problem';
import { findDeclarations, type DeclaredEntry, type NixModuleDeclarations } from './declarations';
import { attrPathNames, childrenOf, decodeString, isExpression, parseNix, type SyntaxNode } from './nixSyntax';

export type EntryPlace =
  /** In the `[ … ]` of `nix.buildMachines`, between entries: `token` is where a new one goes. */
  | { kind: 'list'; token: Span }
  | {
      kind: 'name';
      entry: DeclaredEntry;
      /** The name typed so far (empty at the cursor between bindings). */
      token: Span;
      /** A `=` follows the name already: complete the name alone. */
      hasEquals: boolean;
    }
  | {
      kind: 'value';
      entry: DeclaredEntry;
      /** The attribute whose value this is. */
      name: string;
      /** What an item replaces: the string's characters (`inString`), or the bare word typed. */
      token: Span;
      /** Inside `"…"`: items are the characters, without quotes. */
      inString: boolean;
      /** In a `[ … ]` value: one item of the list. */
      inList: boolean;
      /** No value written yet (`system = |`). */
      empty: boolean;
      /** The string items the list has already, besides the one under the cursor. */
      present: string[];
    };

/** The set node of `entry`: the `{ … }` itself (inside `rec`, its set). */
function setOf(node: SyntaxNode, entry: DeclaredEntry): boolean {
  return (
    (node.name === 'AttrSet' || node.name === 'RecAttrSet') &&
    (node.from === entry.span.start || node.parent?.from === entry.span.start)
  );
}

const wordCharacter = /[\w'.\-/~+:@]/;

export function entryPlace(text: string, offset: number): EntryPlace | undefined {
  const declarations = findDeclarations(text);
  const candidates = declarations.buildMachines.flatMap((s) => [...s.entries, ...s.templates.map((t) => t.entry)]);
  const inside = candidates.filter((e) => {
    const closed = text[e.span.end - 1] === '}';
    return e.span.start < offset && (closed ? offset < e.span.end : offset <= e.span.end);
  });
  const entry = inside.sort((a, b) => b.span.start - a.span.start)[0];
  if (!entry)
    return betweenEntries(text, offset, declarations)
      ? { kind: 'list', token: { start: offset, end: offset } }
      : undefined;

  // The child of the entry's set the cursor is in (or just after).
  let node: SyntaxNode | null = parseNix(text).resolveInner(offset, -1);
  let child: SyntaxNode | undefined;
  for (; node && !setOf(node, entry); node = node.parent) child = node;
  if (!node) return undefined;
  const between = { kind: 'name', entry, token: { start: offset, end: offset }, hasEquals: false } as const;
  if (!child || child.name === '{' || child.name === 'AttrSet') return between;
  if (child.name !== 'Bind') return undefined; // a comment, `inherit`, the closing brace
  if (offset >= child.to && text[child.to - 1] === ';') return between;

  const path = child.getChild('AttrPath');
  if (!path) return undefined;
  if (offset <= path.to) {
    const parts = childrenOf(path).filter((p) => p.name === 'Identifier' || p.name === 'String');
    const first = parts[0];
    const last = parts.at(-1);
    if (!first || !last || offset < first.from) return undefined;
    return {
      kind: 'name',
      entry,
      token: { start: first.from, end: last.to },
      hasEquals: /^\s*=/.test(text.slice(last.to)),
    };
  }
  const names = attrPathNames(path, text);
  const equals = text.indexOf('=', path.to);
  if (!names || names.length !== 1 || equals < 0 || equals >= offset) return undefined;
  return valuePlace(text, offset, entry, names[0]!, child, equals + 1);
}

function valuePlace(
  text: string,
  offset: number,
  entry: DeclaredEntry,
  name: string,
  bind: SyntaxNode,
  valueStart: number,
): EntryPlace | undefined {
  const value = childrenOf(bind).find((c) => c.name !== 'AttrPath' && isExpression(c));
  let string: SyntaxNode | undefined;
  let list: SyntaxNode | undefined;
  for (let at: SyntaxNode | null = innermost(bind, offset); at && at !== bind; at = at.parent) {
    if (at.name === 'Interpolation') return undefined; // `${…}` is Nix code, not characters
    if (!string && (at.name === 'String' || at.name === 'IndentedString') && !endsBefore(at, offset, text)) string = at;
    if (!list && at.name === 'List' && !endsBefore(at, offset, text)) list = at;
  }
  const present = (list ? childrenOf(list) : [])
    .filter((item) => item.name === 'String' && item.from !== string?.from && !item.getChild('Interpolation'))
    .map((item) => decodeString(text.slice(item.from + 1, item.to - 1)));
  const common = { kind: 'value', entry, name, inList: list !== undefined, present } as const;
  if (string) {
    const open = string.name === 'String' ? 1 : 2;
    if (offset < string.from + open) return undefined; // before the opening quote
    const lineEnd = text.indexOf('\n', offset);
    const quote = text.indexOf(string.name === 'String' ? '"' : "''", offset);
    const end = quote >= 0 && (lineEnd < 0 || quote <= lineEnd) ? quote : offset;
    return { ...common, token: { start: string.from + open, end }, inString: true, empty: false };
  }
  let start = offset;
  let end = offset;
  while (start > valueStart && wordCharacter.test(text[start - 1]!)) start--;
  while (end < text.length && wordCharacter.test(text[end]!)) end++;
  return {
    ...common,
    token: { start, end },
    inString: false,
    empty: value === undefined || (start === value.from && end >= value.to && list === undefined),
  };
}

/**
 * The cursor is right inside a `[ … ]` of a `nix.buildMachines` value, not in an item, nor in
 * a part that evaluation makes builders from (`map f [ … ]` lists hosts, not entries).
 */
function betweenEntries(text: string, offset: number, declarations: NixModuleDeclarations): boolean {
  const setting = declarations.buildMachines.find((s) => s.valueSpan.start < offset && offset < s.valueSpan.end);
  if (!setting || setting.unknownParts.some((p) => p.start <= offset && offset <= p.end)) return false;
  let node: SyntaxNode | null = parseNix(text).resolveInner(offset, 0);
  if (node.name === '[' || node.name === ']') node = node.parent;
  return node?.name === 'List' && node.from < offset && offset < node.to;
}

/** The cursor is just after `node`'s closing quote or bracket. */
function endsBefore(node: SyntaxNode, offset: number, text: string): boolean {
  const close = node.name === 'List' ? ']' : node.name === 'String' ? '"' : "''";
  const open = node.name === 'IndentedString' ? 2 : 1;
  return offset >= node.to && node.to - node.from >= open + close.length && text.endsWith(close, node.to);
}

/** The innermost node of `scope` at `offset`, the one just before it when the cursor ends a token. */
function innermost(scope: SyntaxNode, offset: number): SyntaxNode {
  let node = scope;
  for (;;) {
    const next: SyntaxNode | undefined = childrenOf(node).find((c) => c.from < offset && offset <= c.to);
    if (!next) return node;
    node = next;
  }
}
