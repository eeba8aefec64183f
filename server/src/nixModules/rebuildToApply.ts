// "Rebuild to apply": on NixOS and nix-darwin the machines file Nix reads is generated from the
// configuration when the system is built (a link into the Nix store, read-only), so what a
// configuration.nix declares now reaches Nix only after `nixos-rebuild switch` /
// `darwin-rebuild switch`. This compares the lines NixOS would render for the declared entries
// with the generated file and says which lines are new, gone or changed.
//
// Decided: on a machine whose machines file is not generated (missing, or a plain file: not
// NixOS or nix-darwin, or a configuration for another machine), nothing is compared and no
// diagnostic is shown: the declared builders apply wherever that configuration is built. The
// view's description says so in one sentence. Nor is anything compared while an entry is known
// only once the system is built (its line cannot be told): the view says it cannot compare.
import { lstatSync, realpathSync } from 'node:fs';
import { readTextOrUndefined } from '../context/readFile';
import { code, markdownText, plainText } from '../health/findingText';
import type { HealthFinding } from '../protocol';
import { moduleProblem, type NixModuleProblem } from './moduleProblem';
import type { NixModuleAnalysis } from './nixModuleAnalysis';

/** A machines file NixOS or nix-darwin generated: its path (as Nix reads it) and its text now. */
export interface GeneratedMachinesFile {
  path: string;
  text: string;
}

/**
 * The machines file at `path` when the system generated it: a symlink (NixOS: /etc/nix/machines
 * → /etc/static/nix/machines → the store) that resolves into the Nix store. Undefined otherwise.
 */
export function generatedMachinesFile(
  path: string,
  storeDir = process.env.NIX_STORE_DIR || '/nix/store',
): GeneratedMachinesFile | undefined {
  try {
    if (!lstatSync(path).isSymbolicLink()) return undefined;
    const target = realpathSync(path);
    if (!target.startsWith(`${storeDir}/`)) return undefined;
    const text = readTextOrUndefined(target);
    return text === undefined ? undefined : { path, text };
  } catch {
    return undefined; // missing or unreadable: nothing generated here to compare with
  }
}

export interface MachinesDifference {
  added: string[];
  gone: string[];
  changed: { from: string; to: string }[];
}

/** The lines of a machines file as NixOS writes them: one machine a line, no comments. */
export function machinesLines(text: string): string[] {
  return text
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'));
}

/** The builder a line is for: its first column, the store URI as written. */
const builderOf = (line: string) => line.split(/\s+/, 1)[0]!;

/**
 * What the generated lines would become with the declared ones. A line for the same builder
 * (first column) with other columns is changed; `alsoDeclared` are lines other files of the
 * workspace declare: a generated line for one of their builders is theirs to compare, not gone
 * just because this file does not have it.
 */
export function compareMachines(
  declared: readonly string[],
  generated: readonly string[],
  alsoDeclared: ReadonlySet<string> = new Set(),
): MachinesDifference {
  const left = [...generated];
  const unmatched: string[] = [];
  for (const line of declared) {
    const same = left.indexOf(line);
    if (same >= 0) left.splice(same, 1);
    else unmatched.push(line);
  }
  const elsewhere = new Set([...alsoDeclared].map(builderOf));
  const others = left.filter((line) => !elsewhere.has(builderOf(line)));
  const difference: MachinesDifference = { added: [], gone: [], changed: [] };
  for (const line of unmatched) {
    const before = others.findIndex((old) => builderOf(old) === builderOf(line));
    if (before >= 0) difference.changed.push({ from: others.splice(before, 1)[0]!, to: line });
    else difference.added.push(line);
  }
  difference.gone = others;
  return difference;
}

export function isSame(difference: MachinesDifference): boolean {
  return difference.added.length + difference.gone.length + difference.changed.length === 0;
}

/** The command that builds and activates the configuration, on the system this machine runs. */
export function rebuildCommand(localSystem: string): string {
  return localSystem.endsWith('-darwin') ? 'darwin-rebuild switch' : 'sudo nixos-rebuild switch';
}

function finding(id: string, severity: HealthFinding['severity'], title: string, message: string): HealthFinding {
  return { code: id, severity, title, message: plainText(message), markdown: markdownText(message) };
}

/** The finding on a declared source whose lines differ from the generated file; undefined when they are the same. */
export function rebuildToApplyFinding(
  fileName: string,
  generated: GeneratedMachinesFile,
  difference: MachinesDifference,
  localSystem: string,
): HealthFinding | undefined {
  if (isSame(difference)) return undefined;
  const command = rebuildCommand(localSystem);
  const counts = [
    difference.added.length > 0 ? `${difference.added.length} new` : '',
    difference.gone.length > 0 ? `${difference.gone.length} gone` : '',
    difference.changed.length > 0 ? `${difference.changed.length} changed` : '',
  ].filter(Boolean);
  const sentences = [
    `${generated.path}, generated when the system was last built, is not what ${fileName} declares now: Nix here still builds with the old lines.`,
    ...difference.added.map((line) => `New: ${code(line)}.`),
    ...difference.gone.map((line) => `Gone: ${code(line)}.`),
    ...difference.changed.map(({ from, to }) => `Changed: ${code(from)} becomes ${code(to)}.`),
    `Run ${code(command)} to apply the configuration.`,
  ];
  const found = finding('rebuild-to-apply', 'info', `Rebuild to apply (${counts.join(', ')})`, sentences.join(' '));
  found.action = { kind: 'copy-command', title: `Copy ${command}`, command };
  return found;
}

/** The finding on a declared source with entries known only once built: their lines cannot be compared. */
export function cannotCompareFinding(generated: GeneratedMachinesFile, unknown: number): HealthFinding {
  const entries = `${unknown} entr${unknown === 1 ? 'y is' : 'ies are'}`;
  return finding(
    'rebuild-to-apply-unknown',
    'info',
    `Cannot compare with ${generated.path}`,
    `${entries} known only once the system is built, so their lines cannot be compared with ${generated.path}. Rebuild the system to see them there.`,
  );
}

/**
 * The diagnostic on `nix.buildMachines` of an open file whose lines differ from the machines file
 * the system generated here (`machinesFile`: the one Nix reads); undefined when they are the
 * same, nothing was generated, or an entry is known only once the system is built.
 */
export function rebuildToApplyProblem(
  analysis: NixModuleAnalysis,
  fileName: string,
  machinesFile: string,
  otherLines: ReadonlySet<string>,
  localSystem: string,
): NixModuleProblem | undefined {
  const setting = analysis.declarations.buildMachines[0];
  const generated = setting && generatedMachinesFile(machinesFile);
  if (!setting || !generated) return undefined;
  const unknown =
    analysis.entries.some(({ rendered }) => rendered.unknown.length > 0) ||
    analysis.lists.some((l) => l.builders === undefined);
  if (unknown) return undefined;
  const lines = analysis.entries.map(({ rendered }) => rendered.line);
  const difference = compareMachines(lines, machinesLines(generated.text), otherLines);
  const found = rebuildToApplyFinding(fileName, generated, difference, localSystem);
  return found && moduleProblem('nixos-rebuild-to-apply', setting.nameSpan, `${found.title}. ${found.message}`);
}
