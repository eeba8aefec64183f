// The value of an expression when it is written out as a literal (a string, a number, a list of
// literals, …), read from the syntax tree without evaluating anything: what an untrusted
// workspace gets. Anything else (`pkgs.stdenv.hostPlatform.system`, a `let` name, an
// interpolation) is `unknown` here, with its text, for the evaluation step or for the user.
import type { Span } from '../model/problem';
import { childrenOf, decodeString, hasSyntaxError, isExpression, spanOf, type SyntaxNode } from './nixSyntax';

export type NixValue =
  | { kind: 'string'; value: string }
  | { kind: 'path'; value: string }
  | { kind: 'int'; value: bigint }
  | { kind: 'float'; value: number }
  | { kind: 'bool'; value: boolean }
  | { kind: 'null' }
  | { kind: 'list'; items: { value: NixValue; span: Span }[] }
  | { kind: 'attrs' }
  | { kind: 'unknown'; expression: string };

/** `node` read as a literal; `unknown` with the expression's text when it is not one. */
export function literalValue(node: SyntaxNode, text: string): NixValue {
  const source = text.slice(node.from, node.to);
  const unknown: NixValue = { kind: 'unknown', expression: source };
  if (hasSyntaxError(node)) return unknown;
  switch (node.name) {
    case 'String':
      return node.getChild('Interpolation') ? unknown : { kind: 'string', value: decodeString(source.slice(1, -1)) };
    case 'IndentedString':
      return indentedString(node, source) ?? unknown;
    case 'Integer':
      return { kind: 'int', value: BigInt(source) };
    case 'Float':
      return { kind: 'float', value: Number(source) };
    case 'Boolean':
      return { kind: 'bool', value: source === 'true' };
    case 'Null':
      return { kind: 'null' };
    case 'Path':
      return node.getChild('Interpolation') ? unknown : { kind: 'path', value: source };
    case 'AttrSet':
    case 'RecAttrSet':
      return { kind: 'attrs' };
    case 'Parenthesized': {
      const inner = childrenOf(node).find(isExpression);
      return inner ? literalValue(inner, text) : unknown;
    }
    case 'UnaryExpr': {
      // `-2`: the grammar reads the minus as an operator, as Nix does (0 - 2).
      const operand = childrenOf(node).find(isExpression);
      if (!source.startsWith('-') || !operand) return unknown;
      const value = literalValue(operand, text);
      if (value.kind === 'int') return { kind: 'int', value: -value.value };
      if (value.kind === 'float') return { kind: 'float', value: -value.value };
      return unknown;
    }
    case 'List':
      return {
        kind: 'list',
        items: childrenOf(node)
          .filter(isExpression)
          .map((item) => ({ value: literalValue(item, text), span: spanOf(item) })),
      };
    default:
      return unknown;
  }
}

/**
 * A one-line `''…''` string without interpolations: its escapes (`'''`, `''$`, `''\n`) read as
 * Nix reads them. A string over several lines loses its common indentation in Nix: that is left
 * to evaluation rather than guessed here.
 */
function indentedString(node: SyntaxNode, source: string): NixValue | undefined {
  if (node.getChild('Interpolation')) return undefined;
  const body = source.slice(2, -2);
  if (body.includes('\n')) return undefined;
  const value = body.replace(/''(\\[\s\S]|'|\$)/g, (_, escape: string) =>
    escape === "'" ? "''" : escape === '$' ? '$' : decodeString(escape),
  );
  return { kind: 'string', value };
}

/** The value as Nix's `toString` writes it, for the columns NixOS renders with `toString`. */
export function nixToString(value: NixValue): string | undefined {
  switch (value.kind) {
    case 'string':
    case 'path':
      return value.value;
    case 'int':
      return value.value.toString();
    // Nix writes a float with C's `%f` (std::to_string): six decimals.
    case 'float':
      return Number.isFinite(value.value) ? value.value.toFixed(6) : undefined;
    case 'bool':
      return value.value ? '1' : '';
    case 'null':
      return '';
    default:
      return undefined;
  }
}

/** How a value is named in messages: its type as the NixOS module system names it. */
export function typeName(value: NixValue): string {
  return {
    string: 'a string',
    path: 'a path',
    int: 'an integer',
    float: 'a float',
    bool: 'a Boolean',
    null: 'null',
    list: 'a list',
    attrs: 'an attribute set',
    unknown: 'not known before evaluation',
  }[value.kind];
}
