// An attribute's value expression together with the scope it is written in, as one expression
// real Nix can evaluate on its own: the `let` bindings, `rec` sets and `with`s around it are
// copied as written, and every function argument (`{ config, pkgs, lib, ... }:`) is bound to a
// `throw`, so what needs the configuration or nixpkgs fails instead of being guessed.
import { childrenOf, isExpression, parseNix, type SyntaxNode } from './nixSyntax';
import type { Span } from '../model/problem';

/** What a value that needs a function argument throws: the evaluator reports it as unknown. */
const unknownMarker = 'nix-builders: known only when the system is built';

/**
 * `expression` (by default the text at `span`) wrapped in the scope of the node at `span` in
 * `text`; undefined when no node is exactly there.
 */
export function scopedExpression(
  text: string,
  span: Span,
  expression = text.slice(span.start, span.end),
): string | undefined {
  let node: SyntaxNode | null = parseNix(text).resolveInner(span.start, 1);
  while (node && !(node.from === span.start && node.to === span.end)) node = node.parent;
  if (!node) return undefined;
  expression = `(${expression})`;
  for (let child: SyntaxNode = node, parent = node.parent; parent; child = parent, parent = parent.parent) {
    expression = wrapped(parent, child, text, expression);
  }
  return expression;
}

/** `expression` (written where `child` of `scope` is) with the names `scope` binds for it. */
function wrapped(scope: SyntaxNode, child: SyntaxNode, text: string, expression: string): string {
  const parts = childrenOf(scope);
  switch (scope.name) {
    case 'Let': {
      const from = parts.find((p) => p.name === 'let');
      const to = parts.find((p) => p.name === 'in');
      return from && to ? `let ${text.slice(from.to, to.from)} in ${expression}` : expression;
    }
    case 'RecAttrSet': {
      const set = parts.find((p) => p.name === 'AttrSet');
      return set ? `let ${text.slice(set.from + 1, set.to - 1)} in ${expression}` : expression;
    }
    case 'With': {
      const [namespace, body] = parts.filter(isExpression);
      return namespace && body && body.from === child.from
        ? `with (${text.slice(namespace.from, namespace.to)}); ${expression}`
        : expression;
    }
    case 'Function': {
      const body = parts.filter(isExpression).at(-1);
      if (!body || body.from !== child.from) return expression;
      const names = parts.flatMap((p) =>
        p.name === 'Identifier' && p.from !== body.from ? [p] : p.name === 'Formal' ? [p.getChild('Identifier')!] : [],
      );
      const throws = names
        .map((n) => `${text.slice(n.from, n.to)} = throw ${JSON.stringify(unknownMarker)};`)
        .join(' ');
      return throws ? `let ${throws} in ${expression}` : expression;
    }
    default:
      return expression;
  }
}
