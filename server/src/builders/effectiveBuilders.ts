// The builders Nix would use on this machine, each with the file and line it is written on:
// the `builders` setting of the nix.conf chain (the last one applied wins), else the default
// `@/etc/nix/machines`; followed by the machines files of the workspace, which Nix only uses
// when a nix.conf points at them. (The builders declared in .nix files are BuilderList's: they
// may need evaluating.)
import { createHash } from 'node:crypto';
import { accessSync, constants, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { parseBuilders, type Machine, type ParsedBuilders } from '../model/machines';
import type { ConfSetting } from '../model/nixConf';
import { machineLabel } from '../model/storeUri';
import type { BuilderMachine, BuildersSource, MachineLocation, MachinesFile } from '../protocol';
import { readFileAsNixDoes, readTextOrUndefined } from '../context/readFile';
import { fileIndex, indexed } from '../context/positions';
import type { TextDocument } from 'vscode-languageserver-textdocument';
import type { NixTarget } from '../context/target';
import type { ConfiguredProbeSsh } from '../health/probe';
import { confSources, defaultBuilders, readConfSource, type ConfSource } from './configChain';
import { findMachinesFiles } from './workspaceMachines';

/** A machine the probes and the selector work on, with the view's description of it. */
export interface Builder {
  info: BuilderMachine;
  machine: Machine;
  /** A declared builder's configuration's own ssh settings (programs.ssh), given the user's ssh config: checked through them. */
  configuredSsh?: (userConfig: string | undefined) => ConfiguredProbeSsh;
}

export interface EffectiveBuilders {
  sources: BuildersSource[];
  /** Every builder of every source, by id. */
  builders: Map<string, Builder>;
  machinesFile: MachinesFile;
}

interface Text {
  file: string | undefined;
  text: string;
}

/** A listing's file reader: each file read (and indexed for positions) once. */
type Files = (file: string) => TextDocument | undefined;

/** A nix.conf of the chain or an included file: never a FIFO or a device, never over the cap. */
const textOf = readTextOrUndefined;

/** Describes `machine`; `outer` is the text its spans are in when it is not from an `@file`. */
function describe(
  machine: Machine,
  outer: TextDocument,
  outerFile: string | undefined,
  files: Files,
  sourceId: string,
  index: number,
): BuilderMachine {
  const file = machine.file ?? outerFile;
  const text = machine.file ? files(machine.file) : outer;
  const position = text?.positionAt(machine.rowSpan.start);
  // The id follows the line's content, not its number, so unrelated edits keep items stable.
  const id = `${sourceId}#${createHash('sha1').update(`${file}\0${machine.row}\0${index}`).digest('hex').slice(0, 12)}`;
  return builderInfo(
    machine,
    id,
    file && position ? { file, line: position.line, character: position.character } : undefined,
  );
}

/** The view's description of `machine`, under `id`, shown at `location`. */
export function builderInfo(machine: Machine, id: string, location: MachineLocation | undefined): BuilderMachine {
  return {
    id,
    uri: machine.storeUri,
    label: machineLabel(machine.storeUri),
    systems: machine.systems,
    maxJobs: machine.maxJobs,
    speedFactor: machine.speedFactor,
    supportedFeatures: machine.supportedFeatures,
    mandatoryFeatures: machine.mandatoryFeatures,
    hasHostKey: machine.publicHostKey !== undefined,
    sshKey: machine.sshKey,
    valid: machine.valid,
    location,
  };
}

function firstError(parsed: ParsedBuilders): string | undefined {
  const error = parsed.problems.find((p) => p.severity === 'error');
  return error ? (error.nixMessage ?? error.message) : undefined;
}

function source(
  base: Omit<BuildersSource, 'machines' | 'error'>,
  parsed: ParsedBuilders,
  outer: Text,
  files: Files,
  all: Map<string, Builder>,
): BuildersSource {
  const outerText = indexed(outer.text);
  const machines = parsed.machines.map((machine, index) => {
    const info = describe(machine, outerText, outer.file, files, base.id, index);
    all.set(info.id, { info, machine });
    return info;
  });
  return { ...base, machines, error: firstError(parsed) };
}

/** The `builders` setting Nix ends up with across the nix.conf chain, and the text it is in. */
function lastBuildersSetting(
  target: NixTarget,
  sources: ConfSource[],
): { setting: ConfSetting; from: ConfSource; outer: Text } | undefined {
  let found: { setting: ConfSetting; from: ConfSource; outer: Text } | undefined;
  for (const from of sources) {
    const read = readConfSource(from, target);
    if (read === undefined) continue;
    const { text, conf } = read;
    if (conf.builders) {
      const settingFile = conf.builders.file ?? from.path;
      const outerText = conf.builders.file ? (textOf(conf.builders.file) ?? '') : text;
      found = { setting: conf.builders, from, outer: { file: settingFile, text: outerText } };
    }
  }
  return found;
}

export function effectiveBuilders(
  target: NixTarget,
  workspaceFolders: string[],
  env: NodeJS.ProcessEnv = process.env,
): EffectiveBuilders {
  const all = new Map<string, Builder>();
  const sources: BuildersSource[] = [];
  const options = { readFile: readFileAsNixDoes, localSystem: target.localSystem };
  const files = fileIndex(textOf);

  const chain = confSources(env);
  const fromConf = lastBuildersSetting(target, chain);
  if (fromConf?.setting.builders) {
    const where = fromConf.outer.file ?? fromConf.from.name;
    sources.push(
      source(
        {
          id: `conf:${where}`,
          kind: fromConf.from.path === undefined ? 'nix-config-env' : 'nix-conf',
          label: fromConf.from.path === undefined ? 'NIX_CONFIG' : where,
          description: `builders = ${fromConf.setting.value}`,
          file: fromConf.outer.file,
          usedByNix: true,
        },
        fromConf.setting.builders,
        fromConf.outer,
        files,
        all,
      ),
    );
  } else {
    // No nix.conf sets builders: Nix reads its default, `@/etc/nix/machines`.
    const parsed = parseBuilders(defaultBuilders, target.rules, options);
    sources.push(
      source(
        {
          id: 'default',
          kind: 'default-machines',
          label: defaultBuilders.slice(1),
          description: 'the default: no nix.conf sets builders',
          file: defaultBuilders.slice(1),
          usedByNix: true,
        },
        parsed,
        { file: undefined, text: defaultBuilders },
        files,
        all,
      ),
    );
  }

  const machinesFile = machinesFileOf(fromConf === undefined ? undefined : fromConf.setting.builders);

  const alreadyShown = new Set(sources.flatMap((s) => s.machines.map((m) => m.location?.file)).filter(Boolean));
  for (const folder of workspaceFolders) {
    for (const file of findMachinesFiles(folder)) {
      if (alreadyShown.has(file)) continue;
      const text = textOf(file);
      if (text === undefined) continue;
      const parsed = parseBuilders(text, target.rules, { ...options, path: file });
      sources.push(
        source(
          {
            id: `workspace:${file}`,
            kind: 'workspace',
            label: file,
            description: 'a machines file in the workspace; Nix uses it only if nix.conf includes it',
            file,
            usedByNix: false,
          },
          parsed,
          { file, text },
          files,
          all,
        ),
      );
    }
  }
  return { sources, builders: all, machinesFile };
}

/** The machines file Nix reads here, without listing the builders (a configuration.nix is compared with it). */
export function machinesFileHere(target: NixTarget, env: NodeJS.ProcessEnv = process.env): MachinesFile {
  return machinesFileOf(lastBuildersSetting(target, confSources(env))?.setting.builders);
}

/**
 * The machines file Nix reads here: the first `@file` written in the builders setting Nix ends
 * up with (not one an included file includes), else the default `/etc/nix/machines` (which
 * Nix reads only when no nix.conf sets builders).
 */
function machinesFileOf(setting: ParsedBuilders | undefined): MachinesFile {
  const include = setting?.includes.find((i) => i.file === undefined && i.path !== '');
  const path = include?.path ?? defaultBuilders.slice(1);
  const exists = isFile(path);
  return {
    path,
    readByNix: include !== undefined || setting === undefined,
    exists,
    writable: canWrite(exists ? path : dirname(path)),
  };
}

function isFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

function canWrite(path: string): boolean {
  try {
    accessSync(path, constants.W_OK);
    return true;
  } catch {
    return false;
  }
}
