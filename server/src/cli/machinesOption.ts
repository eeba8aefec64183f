// Which machines a subcommand works on, the same way in every subcommand: `--machines FILE`,
// `--builders TEXT` (as Nix's --builders), or what Nix itself reads here (the nix.conf chain).
import { confSources } from '../builders/configChain';
import type { LocalNix } from '../context/localNix';
import { parseBuilders, type Machine } from '../model/machines';
import { readFileAsNixDoes, readUserFile, whyNotRead } from '../context/readFile';
import type { ServerContext } from '../context/serverContext';
import type { NixTarget } from '../context/target';
import type { MachinesFile } from '../protocol';
import type { CliValues } from './options';
import { UsageError } from './usageError';

export interface ChosenMachines {
  /** The machines Nix reads (lines it rejects left out: see `rejected`). */
  machines: Machine[];
  /** Machine lines Nix rejects (`valid: false`): a build refuses them by name. */
  rejected: Machine[];
  /** Where they came from, for messages. */
  from: string;
  /** What was read and why (for "nothing to check"): the option, the nix.conf line, or Nix's default and whether it exists. */
  readFrom: string;
  target: NixTarget;
  local: LocalNix;
  /** Nix would reject the list (the first error), if so. */
  error: string | undefined;
}

export async function chooseMachines(values: CliValues, context: ServerContext): Promise<ChosenMachines> {
  const { local, target } = await context.nixHere();
  const options = { readFile: readFileAsNixDoes, localSystem: target.localSystem };
  const fromText = (text: string, from: string, readFrom: string, path?: string): ChosenMachines => {
    const parsed = parseBuilders(text, target.rules, { ...options, ...(path ? { path } : {}) });
    const error = parsed.problems.find((p) => p.severity === 'error');
    return {
      machines: parsed.machines.filter((m) => m.valid),
      rejected: parsed.machines.filter((m) => !m.valid),
      from,
      readFrom,
      target,
      local,
      error: error ? (error.nixMessage ?? error.message) : undefined,
    };
  };
  if (values.machines !== undefined) {
    const read = readUserFile(values.machines);
    if (read.kind !== 'text')
      throw new UsageError(
        `cannot read ${values.machines} (${whyNotRead(read)})`,
        'Check the path given to --machines',
      );
    return fromText(read.text, values.machines, `${values.machines} (given with --machines)`, values.machines);
  }
  if (values.builders !== undefined) return fromText(values.builders, '--builders', 'the text given with --builders');
  // Loaded only here: Nix's own builders chain brings the .nix grammar (builders declared in
  // modules), which --machines and --builders never need.
  const { effectiveBuilders } = await import('../builders/effectiveBuilders.js');
  const effective = effectiveBuilders(target, []);
  const used = effective.sources.filter((source) => source.usedByNix);
  const machines = [...effective.builders.values()]
    .filter((b) => used.some((s) => s.machines.includes(b.info)))
    .map((b) => b.machine);
  const readFrom =
    used
      .map((s) =>
        s.kind === 'default-machines' ? defaultSourceInWords(effective.machinesFile) : `${s.label} (${s.description})`,
      )
      .join(', ') || 'nix.conf';
  return {
    machines: machines.filter((m) => m.valid),
    rejected: machines.filter((m) => !m.valid),
    from: used.map((s) => s.label).join(', ') || 'nix.conf',
    readFrom,
    target,
    local,
    error: used.find((s) => s.error)?.error,
  };
}

/** Nix's default machines file, and the nix.conf files that leave it the default. */
function defaultSourceInWords(file: MachinesFile): string {
  const confs = confSources().map((s) => s.name);
  return `${file.path}${file.exists ? '' : ', which does not exist'} (Nix's default: builders is not set in ${confs.join(', ')})`;
}
