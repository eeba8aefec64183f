// The NixOS (and nix-darwin) module's own problems with a file's builders: its assertion
// (neither `system` nor `systems`), its option types and names, and `nix.distributedBuilds`
// off or unset (NixOS writes /etc/nix/machines anyway and sets `builders` to null; nix-darwin
// warns "nix.distributedBuilds is not enabled, build machines won't be configured.").
import { nearest } from '../model/nearest';
import type { DeclaredEntry, NixModuleDeclarations } from './declarations';
import { entryOptions } from './entryOptions';
import { moduleProblem, type NixModuleProblem } from './moduleProblem';
import { typeName } from './nixValue';
import { protocolProblem } from './protocolValues';
import { linuxBuilderProblems } from './linuxBuilder';

export function moduleProblems(declarations: NixModuleDeclarations, text: string): NixModuleProblem[] {
  const found: NixModuleProblem[] = [];
  for (const setting of declarations.buildMachines) {
    for (const entry of setting.entries) found.push(...entryProblems(entry));
  }
  found.push(...linuxBuilderProblems(declarations.settings));
  found.push(...distributedBuildsProblems(declarations, text));
  return found;
}

function entryProblems(entry: DeclaredEntry): NixModuleProblem[] {
  const found: NixModuleProblem[] = [];
  const opening = { start: entry.span.start, end: entry.span.start + 1 };
  for (const attribute of entry.attributes.values()) {
    const option = entryOptions[attribute.name];
    if (!option) {
      const suggestion = nearest(attribute.name, Object.keys(entryOptions));
      found.push(
        moduleProblem(
          'nixos-unknown-attribute',
          attribute.nameSpan,
          `A builder has no attribute \`${attribute.name}\`: NixOS stops with "The option \`nix.buildMachines.*.${attribute.name}' does not exist."${suggestion ? ` Did you mean \`${suggestion}\`?` : ''}`,
          suggestion ? { title: `Rename to ${suggestion}`, span: attribute.nameSpan, newText: suggestion } : undefined,
        ),
      );
      continue;
    }
    if (attribute.name === 'protocol') {
      const problem = protocolProblem(attribute);
      if (problem) found.push(problem);
      continue;
    }
    const value = attribute.value;
    if (value.kind === 'unknown' || option.accepts(value)) continue;
    const hint =
      value.kind === 'path'
        ? ` Write it as a string ("${value.value}"): a path would be copied into the world-readable Nix store.`
        : '';
    found.push(
      moduleProblem(
        'nixos-wrong-type',
        attribute.valueSpan,
        `\`${attribute.name}\` is ${typeName(value)}${value.kind === 'string' ? ` ("${value.value}")` : ''}: NixOS stops with "A definition for option \`nix.buildMachines.*.${attribute.name}' is not of type \`${option.type}'."${hint}`,
      ),
    );
  }
  const hostName = entry.attributes.get('hostName');
  if (!hostName)
    found.push(
      moduleProblem(
        'nixos-host-name-missing',
        opening,
        'This builder has no `hostName`: NixOS stops with "The option `nix.buildMachines.*.hostName\' is used but not defined."',
      ),
    );
  const system = entry.attributes.get('system');
  const systems = entry.attributes.get('systems');
  const systemUnset = !system || system.value.kind === 'null';
  const systemsEmpty = !systems || (systems.value.kind === 'list' && systems.value.items.length === 0);
  if (systemUnset && systemsEmpty) {
    const name = hostName?.value.kind === 'string' ? ` ${hostName.value.value}` : '';
    found.push(
      moduleProblem(
        'nixos-no-system',
        system?.nameSpan ?? systems?.nameSpan ?? opening,
        `Builder${name} has neither \`system\` nor \`systems\`: the system does not build ("At least one system type (via system or systems) must be set for every build machine."). Add \`system = "x86_64-linux";\` (or the builder's system).`,
      ),
    );
  } else if (!systemUnset && system.value.kind !== 'unknown' && systems && !systemsEmpty) {
    found.push(
      moduleProblem(
        'nixos-systems-ignored',
        systems.nameSpan,
        '`system` is set too, and wins: NixOS writes only `system` in the machines line, and this list is not used.',
      ),
    );
  }
  return found;
}

function distributedBuildsProblems(declarations: NixModuleDeclarations, text: string): NixModuleProblem[] {
  // nix-darwin's linux-builder turns distributed builds on itself.
  const declared = declarations.buildMachines.filter(
    (s) => s.option === 'nix.buildMachines' && (s.entries.length > 0 || s.unknownParts.length > 0),
  );
  if (declared.length === 0) return [];
  const settings = declarations.settings.filter((s) => s.option === 'nix.distributedBuilds');
  const off = settings.find((s) => s.value.kind === 'bool' && !s.value.value);
  if (off) {
    return [
      moduleProblem(
        'nixos-distributed-builds-off',
        off.valueSpan,
        'Distributed builds are off: NixOS still writes /etc/nix/machines, but sets `builders` to null, so no build uses these builders (nix-darwin: "nix.distributedBuilds is not enabled, build machines won\'t be configured."). Set `nix.distributedBuilds = true;`.',
        { title: 'Set nix.distributedBuilds = true', span: off.valueSpan, newText: 'true' },
      ),
    ];
  }
  if (settings.length > 0) return [];
  const first = declared[0]!;
  // Written the way the file names buildMachines: `nix.distributedBuilds` next to
  // `nix.buildMachines`, `distributedBuilds` inside `nix = { … }`, on a line of its own before it.
  const name = text.slice(first.nameSpan.start, first.nameSpan.end).replace(/buildMachines$/, 'distributedBuilds');
  const lineStart = text.lastIndexOf('\n', first.nameSpan.start - 1) + 1;
  const indent = /^[ \t]*/.exec(text.slice(lineStart))![0];
  const onItsOwnLine = text.slice(lineStart, first.nameSpan.start).trim() === '';
  const insertion = onItsOwnLine
    ? { start: lineStart, end: lineStart }
    : { start: first.nameSpan.start, end: first.nameSpan.start };
  return [
    moduleProblem(
      'nixos-distributed-builds-unset',
      first.nameSpan,
      '`nix.distributedBuilds` is not set in this file, and it is off by default: unless another module of the configuration sets it to true, no build uses these builders. Add `nix.distributedBuilds = true;`.',
      {
        title: `Add ${name} = true`,
        span: insertion,
        newText: onItsOwnLine ? `${indent}${name} = true;\n` : `${name} = true; `,
      },
    ),
  ];
}
