// The builders' own NixOS configurations, when they are in the workspace too: a configuration
// is a .nix file that no other file imports (or a module a flake's `nixosConfigurations.<name>`
// lists) with everything it imports, named by its `networking.hostName` (with
// `networking.domain`) or the flake's name for it. What the checks need from it: its
// `nix.settings.trusted-users` (or the older `nix.trustedUsers`) and the groups it puts users in.
// Read from the syntax only: nothing of it is evaluated.
import { dirname, join, relative, resolve } from 'node:path';
import { findDeclarations, type OptionSetting } from './declarations';
import { attrPathNames, childrenOf, isExpression, parseNix, type SyntaxNode } from './nixSyntax';

/** One `trusted-users` setting of a configuration, in the file that holds it. */
export interface TrustedUsersSetting {
  file: string;
  /** The file's text, for the positions of the fix. */
  text: string;
  setting: OptionSetting;
}

export interface BuilderConfiguration {
  /** The file the configuration starts at (imported by no other). */
  file: string;
  /** The names it is reached by: its host name, that name with its domain, its flake names. */
  names: string[];
  /** Every file of it: the one it starts at and all it imports. */
  files: string[];
  trustedUsers: TrustedUsersSetting[];
  /** The groups `users.users.<name>.extraGroups` / `.group` put each user in. */
  groups: ReadonlyMap<string, string[]>;
}

/** How many imports deep a configuration is followed. */
const importDepth = 6;

interface FileFacts {
  settings: OptionSetting[];
  imports: string[];
  /** From a flake: each `nixosConfigurations.<name>`'s module files. */
  flakeModules: { name: string; files: string[] }[];
}

/** The configurations among `files` (absolute paths), read through `read`. */
export function builderConfigurations(
  files: readonly string[],
  read: (file: string) => string | undefined,
): BuilderConfiguration[] {
  const facts = new Map<string, FileFacts | undefined>();
  const factsOf = (file: string): FileFacts | undefined => {
    if (!facts.has(file)) {
      const text = read(file);
      facts.set(file, text === undefined ? undefined : fileFacts(file, text));
    }
    return facts.get(file);
  };
  const imported = new Set<string>();
  const flakeNames = new Map<string, string[]>();
  for (const file of files) {
    const found = factsOf(file);
    if (!found) continue;
    found.imports.forEach((i) => imported.add(i));
    for (const { name, files: modules } of found.flakeModules) {
      for (const module of modules) flakeNames.set(module, [...(flakeNames.get(module) ?? []), name]);
    }
  }
  const roots = [...new Set([...files.filter((f) => !imported.has(f)), ...flakeNames.keys()])];
  // Files only an import cycle reaches (NixOS takes each module once, so cycles are fine there):
  // the one that names the host starts its configuration.
  const covered = new Set(roots.flatMap((root) => closureOf(root, factsOf)));
  for (const file of files) {
    if (covered.has(file) || !factsOf(file)?.settings.some((s) => s.option === 'networking.hostName')) continue;
    roots.push(file);
    closureOf(file, factsOf).forEach((f) => covered.add(f));
  }
  const configurations: BuilderConfiguration[] = [];
  for (const root of roots) {
    const closure = closureOf(root, factsOf);
    const settings = closure.flatMap((file) => (factsOf(file)?.settings ?? []).map((setting) => ({ file, setting })));
    const valueOf = (option: string) =>
      settings.flatMap(({ setting }) =>
        setting.option === option && setting.value.kind === 'string' ? [setting.value.value] : [],
      );
    const hostNames = valueOf('networking.hostName');
    const domains = valueOf('networking.domain');
    const names = [
      ...hostNames,
      ...hostNames.flatMap((h) => domains.map((d) => `${h}.${d}`)),
      ...(flakeNames.get(root) ?? []),
    ];
    if (names.length === 0) continue;
    const trustedUsers = settings.flatMap(({ file, setting }) =>
      setting.option === 'nix.settings.trusted-users' || setting.option === 'nix.trustedUsers'
        ? [{ file, text: read(file) ?? '', setting }]
        : [],
    );
    configurations.push({
      file: root,
      names: [...new Set(names)],
      files: closure,
      trustedUsers,
      groups: groupsOf(settings),
    });
  }
  return configurations;
}

function closureOf(root: string, factsOf: (file: string) => FileFacts | undefined): string[] {
  const seen = new Set<string>();
  const walk = (file: string, depth: number) => {
    if (seen.has(file) || depth > importDepth) return;
    seen.add(file);
    for (const next of factsOf(file)?.imports ?? []) walk(next, depth + 1);
  };
  walk(root, 0);
  return [...seen];
}

function groupsOf(settings: { setting: OptionSetting }[]): Map<string, string[]> {
  const groups = new Map<string, string[]>();
  for (const { setting } of settings) {
    const [users, users2, name, attribute] = setting.option.split('.');
    if (users !== 'users' || users2 !== 'users' || name === undefined) continue;
    const add = (group: string) => groups.set(name, [...(groups.get(name) ?? []), group]);
    if (attribute === 'group' && setting.value.kind === 'string') add(setting.value.value);
    if (attribute === 'extraGroups' && setting.value.kind === 'list')
      for (const item of setting.value.items) if (item.value.kind === 'string') add(item.value.value);
  }
  return groups;
}

/** A path literal of `file` (`./remote-builder.nix`, `./hosts/builder`) as the file Nix imports. */
function importedFile(file: string, path: string): string | undefined {
  if (path.startsWith('<') || path.startsWith('~')) return undefined;
  const target = resolve(dirname(file), path);
  return target.endsWith('.nix') ? target : join(target, 'default.nix');
}

function fileFacts(file: string, text: string): FileFacts {
  const settings = findDeclarations(text).settings;
  const imports = settings.flatMap((s) =>
    s.option === 'imports' && s.value.kind === 'list'
      ? s.value.items.flatMap((i) => (i.value.kind === 'path' ? [importedFile(file, i.value.value)] : []))
      : [],
  );
  return {
    settings,
    imports: imports.filter((i): i is string => i !== undefined),
    flakeModules: file.endsWith('flake.nix') ? flakeModules(file, text) : [],
  };
}

/**
 * `nixosConfigurations.<name> = nixpkgs.lib.nixosSystem { modules = [ ./a.nix … ]; }` (also
 * written `nixosConfigurations = { <name> = …; }`): each name's module files.
 */
function flakeModules(file: string, text: string): { name: string; files: string[] }[] {
  const found: { name: string; files: string[] }[] = [];
  const visit = (node: SyntaxNode, prefix: string[]) => {
    for (const child of childrenOf(node)) {
      if (child.name !== 'Bind') {
        visit(child, child.name === 'AttrSet' || child.name === 'RecAttrSet' ? prefix : []);
        continue;
      }
      const path = child.getChild('AttrPath');
      const names = path && attrPathNames(path, text);
      const value = childrenOf(child).find((c) => c.name !== 'AttrPath' && isExpression(c));
      if (!names || !value) continue;
      const full = [...prefix, ...names];
      const at = full.lastIndexOf('nixosConfigurations');
      if (at >= 0 && at === full.length - 2) found.push({ name: full.at(-1)!, files: modulesIn(file, value, text) });
      else visit(value, value.name === 'AttrSet' || value.name === 'RecAttrSet' ? full : []);
    }
  };
  visit(parseNix(text).topNode, []);
  return found;
}

/** The path items of the first `modules = [ … ]` inside `node`. */
function modulesIn(file: string, node: SyntaxNode, text: string): string[] {
  const cursor = node.cursor();
  do {
    if (cursor.name !== 'Bind') continue;
    const bind = cursor.node;
    const path = bind.getChild('AttrPath');
    if (!path || attrPathNames(path, text)?.join('.') !== 'modules') continue;
    const list = childrenOf(bind).find((c) => c.name === 'List');
    if (!list) return [];
    return childrenOf(list)
      .filter((item) => item.name === 'Path')
      .flatMap((item) => importedFile(file, text.slice(item.from, item.to)) ?? []);
  } while (cursor.next() && cursor.from < node.to);
  return [];
}

/** How a configuration's file is named in messages: relative to the file that asks, when near. */
export function shownPath(file: string, from: string): string {
  const near = relative(dirname(from), file);
  return near.startsWith('../../..') ? file : near;
}
