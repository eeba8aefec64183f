// The builders declared in the workspace's .nix files (`nix.buildMachines` of a NixOS or
// nix-darwin configuration), for the Remote Builders view next to what Nix reads now: each one
// as the machine NixOS would write to /etc/nix/machines, checkable and buildable like any other,
// and placed at its entry in the .nix file. Entries with a value known only once the system is
// built (`pkgs.stdenv.hostPlatform.system`) are counted, not guessed.
import { createHash } from 'node:crypto';
import { basename } from 'node:path';
import { builderInfo, type Builder } from '../builders/effectiveBuilders';
import { findMachinesFiles } from '../builders/workspaceMachines';
import { readTextOrUndefined } from '../context/readFile';
import { indexed } from '../context/positions';
import type { NixTarget } from '../context/target';
import { parseBuilders } from '../model/machines';
import type { BuilderMachine, BuildersSource } from '../protocol';
import { findDeclarations, mentionsBuildMachines } from './declarations';
import { renderEntry } from './renderedLine';

/** How many .nix files of a folder are read for builders (a nixpkgs checkout has 40 000). */
const maxNixFiles = 500;

/** A source per .nix file of `folders` that declares builders; each machine goes into `all` by id. */
export function declaredBuilders(target: NixTarget, folders: string[], all: Map<string, Builder>): BuildersSource[] {
  const sources: BuildersSource[] = [];
  for (const folder of folders) {
    for (const file of findMachinesFiles(folder, 4, maxNixFiles, (name) => name.endsWith('.nix'))) {
      const text = readTextOrUndefined(file);
      if (text === undefined || !mentionsBuildMachines(text)) continue;
      const source = declaredIn(file, text, target, all);
      if (source) sources.push(source);
    }
  }
  return sources;
}

function declaredIn(
  file: string,
  text: string,
  target: NixTarget,
  all: Map<string, Builder>,
): BuildersSource | undefined {
  const entries = findDeclarations(text).buildMachines.flatMap((setting) => setting.entries);
  if (entries.length === 0) return undefined;
  const id = `declared:${file}`;
  const positions = indexed(text);
  const machines: BuilderMachine[] = [];
  let unknown = 0;
  entries.forEach((entry, index) => {
    const rendered = renderEntry(entry, target.version);
    if (rendered.unknown.length > 0) {
      unknown++;
      return;
    }
    const parsed = parseBuilders(rendered.line, target.rules, {
      readFile: () => undefined,
      localSystem: target.localSystem,
    });
    const machine = parsed.machines[0];
    if (parsed.machines.length !== 1 || !machine) return;
    const position = positions.positionAt(entry.span.start);
    // The id follows the rendered line, not the position: edits elsewhere in the file keep the item.
    const machineId = `${id}#${createHash('sha1').update(`${rendered.line}\0${index}`).digest('hex').slice(0, 12)}`;
    const valid = machine.valid && parsed.problems.every((p) => p.severity !== 'error');
    const info = builderInfo({ ...machine, valid }, machineId, {
      file,
      line: position.line,
      character: position.character,
    });
    all.set(info.id, { info, machine });
    machines.push(info);
  });
  const count = `${entries.length} builder${entries.length === 1 ? '' : 's'} declared`;
  const notKnown = unknown > 0 ? ` (${unknown} known only once the system is built: not shown)` : '';
  return {
    id,
    kind: 'workspace',
    label: `${basename(file)} — ${count}`,
    description: `${count} in nix.buildMachines${notKnown}. NixOS and nix-darwin write them to /etc/nix/machines when the system is rebuilt; until then Nix here does not use them.`,
    file,
    usedByNix: false,
    machines,
    error: undefined,
  };
}
