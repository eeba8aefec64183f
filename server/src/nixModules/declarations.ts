// Where a .nix file sets the options that make builders on NixOS and nix-darwin:
// `nix.buildMachines` (also written `nix = { buildMachines = …; }` or under `config.`),
// `nix.distributedBuilds`, `nix.settings.builders-use-substitutes`, `nix.settings.trusted-users`,
// `programs.ssh.extraConfig` and `programs.ssh.knownHosts`, each with the position of its name
// and value, and every builder entry with the position of each of its attributes.
import type { Span } from '../model/problem';
import { linuxBuilderSetting } from './linuxBuilder';
import { literalValue, type NixValue } from './nixValue';
import { attrPathNames, childrenOf, isExpression, parseNix, spanOf, type SyntaxNode } from './nixSyntax';

/** One attribute of a builder entry: `hostName = "builder";` or `inherit hostName;`. */
export interface EntryAttribute {
  name: string;
  nameSpan: Span;
  /** The value's expression; for `inherit x;` the name itself. */
  valueSpan: Span;
  value: NixValue;
}

/** One `{ hostName = …; … }` of a `nix.buildMachines` list. */
export interface DeclaredEntry {
  span: Span;
  /** By attribute name; the first binding wins (Nix rejects a second one anyway). */
  attributes: Map<string, EntryAttribute>;
}

/** An option set in the file: its name as written (the whole attribute path) and its value. */
export interface OptionSetting {
  /** The full option name, e.g. `nix.distributedBuilds`. */
  option: string;
  nameSpan: Span;
  valueSpan: Span;
  value: NixValue;
}

/** A `nix.buildMachines = …;` binding. */
export interface BuildMachinesSetting extends OptionSetting {
  entries: DeclaredEntry[];
  /** Parts of the list that are not `{ … }` literals (`map f hosts`, a name): known only by evaluating. */
  unknownParts: Span[];
  /**
   * The `{ … }` a function in those parts makes each builder from (`map (h: { hostName = h; })`,
   * a `let`-bound `mkBuilder = h: { … }`), or the entries of a `let`-bound list the part names
   * (`nix.buildMachines = builders;`): written like entries, known once the part is evaluated.
   */
  templates: EntryTemplate[];
}

/** The `{ … }` builders are made from, and the part of the list that uses it. */
export interface EntryTemplate {
  part: Span;
  entry: DeclaredEntry;
  /** For an entry of a list the part names: its place in that list (the builder it is). Undefined for a function's. */
  item?: number;
}

export interface NixModuleDeclarations {
  buildMachines: BuildMachinesSetting[];
  /** Every other option this extension reads, in text order. */
  settings: OptionSetting[];
}

const readOptions = [
  'nix.distributedBuilds',
  'nix.settings.builders-use-substitutes',
  'nix.settings.trusted-users',
  'programs.ssh.extraConfig',
  'programs.ssh.knownHosts',
  // What a builder's own configuration says about it (builderConfigurations.ts).
  'networking.hostName',
  'networking.domain',
  'nix.trustedUsers',
  'users.users',
  'imports',
  // nix-darwin's own builder (linuxBuilder.ts).
  'nix.linux-builder',
] as const;

/** Functions that wrap an option value with a priority or an order and leave it as it is. */
const valueWrappers = new Set(['mkForce', 'mkDefault', 'mkOverride', 'mkBefore', 'mkAfter', 'mkOrder', 'mkIf']);

/** Cheap test first: the language server only reads files that mention builders at all. */
export function mentionsBuildMachines(text: string): boolean {
  return text.includes('buildMachines') || text.includes('linux-builder');
}

export function findDeclarations(text: string): NixModuleDeclarations {
  const found: NixModuleDeclarations = { buildMachines: [], settings: [] };
  const tree = parseNix(text);
  const visit = (node: SyntaxNode, prefix: string[]) => {
    // `rec { … }` is `rec` and the set: the set's bindings continue the same path.
    if (node.name === 'RecAttrSet') return void childrenOf(node).forEach((child) => visit(child, prefix));
    if (node.name === 'AttrSet') {
      for (const child of childrenOf(node)) {
        if (child.name === 'Bind') bind(child, prefix);
        else visit(child, []);
      }
      return;
    }
    for (const child of childrenOf(node)) visit(child, []);
  };
  const bind = (node: SyntaxNode, prefix: string[]) => {
    const pathNode = node.getChild('AttrPath');
    const value = childrenOf(node).find((c) => c.name !== 'AttrPath' && isExpression(c));
    const names = pathNode ? attrPathNames(pathNode, text) : undefined;
    if (!pathNode || !value) return;
    if (!names) return visit(value, []);
    const path = [...prefix, ...names];
    const option = optionName(path);
    if (option === 'nix.buildMachines') {
      const list = buildMachines(value, text);
      found.buildMachines.push({
        option,
        nameSpan: spanOf(pathNode),
        valueSpan: spanOf(value),
        value: literalValue(value, text),
        ...list,
      });
      return;
    }
    // `programs.ssh.knownHosts.builder.publicKey = …` is read as itself, under its full name.
    if (option !== undefined && readOptions.some((o) => option === o || option.startsWith(`${o}.`))) {
      found.settings.push({
        option,
        nameSpan: spanOf(pathNode),
        valueSpan: spanOf(value),
        value: literalValue(unwrapped(value, text), text),
      });
    }
    // `nix = { buildMachines = …; }`: the set's bindings continue the path.
    const inner = unwrapped(value, text);
    if (inner.name === 'AttrSet' || inner.name === 'RecAttrSet') visit(inner, path);
    else visit(value, []);
  };
  visit(tree.topNode, []);
  const linuxBuilder = linuxBuilderSetting(found.settings);
  if (linuxBuilder) found.buildMachines.push(linuxBuilder);
  return found;
}

/** The option a path names: a module's `config.nix.x` is `nix.x`. */
function optionName(path: string[]): string | undefined {
  const names = path[0] === 'config' ? path.slice(1) : path;
  return names.length > 0 ? names.join('.') : undefined;
}

/** The expression inside `( … )`, `with x; …`, `lib.mkForce …`, `lib.mkIf cond …`, `rec { … }`. */
function unwrapped(node: SyntaxNode, text: string): SyntaxNode {
  for (;;) {
    const parts = childrenOf(node).filter(isExpression);
    if ((node.name === 'Parenthesized' || node.name === 'RecAttrSet') && parts.length === 1) node = parts[0]!;
    else if (node.name === 'With' && parts.length === 2) node = parts[1]!;
    else if (node.name === 'App' && parts.length >= 2 && valueWrappers.has(functionName(parts[0]!, text)))
      node = parts[parts.length - 1]!;
    else return node;
  }
}

/** `lib.mkForce` → `mkForce`; `mkForce` → `mkForce`; an `App` of an `App` (mkOverride 10) → its head. */
function functionName(node: SyntaxNode, text: string): string {
  if (node.name === 'App') return functionName(childrenOf(node).filter(isExpression)[0] ?? node, text);
  const source = text.slice(node.from, node.to);
  return source.slice(source.lastIndexOf('.') + 1);
}

/** The entries of a `nix.buildMachines` value: lists, joined with `++`, each `{ … }` read. */
function buildMachines(
  value: SyntaxNode,
  text: string,
): { entries: DeclaredEntry[]; unknownParts: Span[]; templates: EntryTemplate[] } {
  const entries: DeclaredEntry[] = [];
  const unknownParts: Span[] = [];
  const templates: EntryTemplate[] = [];
  const unknown = (node: SyntaxNode) => {
    const part = spanOf(node);
    unknownParts.push(part);
    const named = unwrapped(node, text);
    const list = named.name === 'Identifier' ? boundValue(named, text) : undefined;
    if (list?.name === 'List') {
      childrenOf(list)
        .filter(isExpression)
        .forEach((item, index) => {
          const set = unwrapped(item, text);
          if (set.name === 'AttrSet') templates.push({ part, entry: entry(set, text), item: index });
        });
    } else templates.push(...templatesIn(node, text).map((made) => ({ part, entry: made })));
  };
  const collect = (node: SyntaxNode) => {
    node = unwrapped(node, text);
    const parts = childrenOf(node).filter(isExpression);
    if (node.name === 'List') {
      for (const item of parts) {
        const inner = unwrapped(item, text);
        if (inner.name === 'AttrSet' || inner.name === 'RecAttrSet') entries.push(entry(inner, text));
        else unknown(item);
      }
    } else if (
      node.name === 'BinaryExpr' &&
      parts.length === 2 &&
      text.slice(parts[0]!.to, parts[1]!.from).trim().replace(/#.*$/gm, '').trim() === '++'
    ) {
      collect(parts[0]!);
      collect(parts[1]!);
    } else unknown(node);
  };
  collect(value);
  return { entries, unknownParts, templates };
}

/**
 * The entries functions in `part` return: a function written there (`h: { … }`), or one a name
 * there is bound to by an enclosing `let` or `rec { … }` (`mkBuilder`, not followed further).
 */
function templatesIn(part: SyntaxNode, text: string): DeclaredEntry[] {
  const found: DeclaredEntry[] = [];
  const seen = new Set<number>();
  const fromFunction = (fn: SyntaxNode) => {
    const result = functionResult(fn, text);
    if (result && !seen.has(result.from)) {
      seen.add(result.from);
      found.push(entry(result, text));
    }
  };
  const visit = (node: SyntaxNode) => {
    if (node.name === 'Function') return fromFunction(node);
    if (node.name === 'Identifier') {
      const bound = boundValue(node, text);
      if (bound?.name === 'Function') fromFunction(bound);
      return;
    }
    childrenOf(node).forEach(visit);
  };
  visit(part);
  return found;
}

/** The `{ … }` a function returns, through `let … in`, `with`, parentheses and more arguments. */
function functionResult(fn: SyntaxNode, text: string): SyntaxNode | undefined {
  let node: SyntaxNode | undefined = fn;
  for (let depth = 0; node && depth < 50; depth++) {
    node = unwrapped(node, text);
    if (node.name === 'AttrSet' || node.name === 'RecAttrSet')
      return node.name === 'AttrSet' ? node : (node.getChild('AttrSet') ?? undefined);
    if (node.name !== 'Function' && node.name !== 'Let') return undefined;
    node = childrenOf(node).filter(isExpression).at(-1);
  }
  return undefined;
}

/** The value an enclosing `let` (or `rec { … }`) binds `name` to. */
function boundValue(name: SyntaxNode, text: string): SyntaxNode | undefined {
  const wanted = text.slice(name.from, name.to);
  for (let scope = name.parent; scope; scope = scope.parent) {
    const binds =
      scope.name === 'Let'
        ? childrenOf(scope)
        : scope.name === 'RecAttrSet'
          ? childrenOf(scope.getChild('AttrSet') ?? scope)
          : [];
    for (const bind of binds) {
      if (bind.name !== 'Bind') continue;
      const path = bind.getChild('AttrPath');
      const names = path && attrPathNames(path, text);
      if (names?.length === 1 && names[0] === wanted)
        return childrenOf(bind).find((c) => c.name !== 'AttrPath' && isExpression(c));
    }
  }
  return undefined;
}

function entry(set: SyntaxNode, text: string): DeclaredEntry {
  const attributes = new Map<string, EntryAttribute>();
  const add = (attribute: EntryAttribute) => {
    if (!attributes.has(attribute.name)) attributes.set(attribute.name, attribute);
  };
  const children = childrenOf(set);
  for (let i = 0; i < children.length; i++) {
    const child = children[i]!;
    if (child.name === 'Bind') {
      const pathNode = child.getChild('AttrPath');
      const names = pathNode && attrPathNames(pathNode, text);
      const value = childrenOf(child).find((c) => c.name !== 'AttrPath' && isExpression(c));
      if (!pathNode || !names || names.length !== 1 || !value) continue;
      add({
        name: names[0]!,
        nameSpan: spanOf(pathNode),
        valueSpan: spanOf(value),
        value: literalValue(unwrapped(value, text), text),
      });
    } else if (child.name === 'inherit') {
      // `inherit a b;` and `inherit (src) a b;`: the names up to the next binding, from a scope
      // this file alone does not give.
      let j = i + 1;
      let from = '';
      if (children[j]?.name === '(') {
        const open = children[j]!;
        while (j < children.length && children[j]!.name !== ')') j++;
        from = `(${text.slice(open.to, children[j]?.from ?? open.to)}).`;
        j++;
      }
      for (; j < children.length && (children[j]!.name === 'Identifier' || children[j]!.name === 'String'); j++) {
        const name = children[j]!;
        const written = text.slice(name.from, name.to);
        add({
          name: written.replace(/^"|"$/g, ''),
          nameSpan: spanOf(name),
          valueSpan: spanOf(name),
          value: { kind: 'unknown', expression: `${from}${written}` },
        });
      }
      i = j - 1;
    }
  }
  return { span: spanOf(set), attributes };
}
