// A machine written back as one machines line, from its parsed columns: what we hand Nix
// instead of the text the user wrote. The user's row may carry what Nix reads differently from
// us (a `#`, a `;`, columns after the eighth, an `@`), so Nix gets only what we understood,
// and the text is read back with our parser to make sure it means exactly those machines.

import { parseBuilders, type Machine } from './machines';
import type { VersionRules } from './nixVersion';

/** `a,b`, or `-` for an empty list (Nix's "unset"). */
const list = (items: readonly string[]) => (items.length === 0 ? '-' : items.join(','));

/** The eight columns of `machine`, defaults as `-`, the store URI as Nix opens it. */
export function machineLine(machine: Machine): string {
  return [
    machine.storeUri,
    machine.usesLocalSystem ? '-' : list(machine.systems),
    machine.sshKey ?? '-',
    String(machine.maxJobs),
    String(machine.speedFactor),
    list(machine.supportedFeatures),
    list(machine.mandatoryFeatures),
    machine.publicHostKey ?? '-',
  ].join(' ');
}

/** The fields that hold what Nix reads of a machine (not where it was written). */
const meaningFields = [
  'storeUri',
  'systems',
  'usesLocalSystem',
  'sshKey',
  'maxJobs',
  'speedFactor',
  'supportedFeatures',
  'mandatoryFeatures',
  'publicHostKey',
  'valid',
] as const satisfies readonly (keyof Machine)[];

/** What Nix reads of a machine, for comparing a machine with its line read back. */
function meaning(machine: Machine): unknown {
  return JSON.stringify(meaningFields.map((field) => machine[field]));
}

export interface BuildersText {
  /** The lines of `accepted`, joined with `\n`. */
  text: string;
  accepted: Machine[];
  /** Machines whose line would not read back as the same machine (a column holding `#` or `;`). */
  refused: { machine: Machine; code: 'line-not-reread'; reason: string }[];
}

/**
 * The builders text of `machines`: each machine's `machineLine`, kept only when reading it back
 * (same Nix version rules, same local system) gives the same machine; then the whole text is
 * read back once more, and must give exactly the accepted machines (else nothing is accepted).
 */
export function buildersTextOf(
  machines: readonly Machine[],
  rules: VersionRules,
  localSystem: string | undefined,
): BuildersText {
  const reread = (text: string) => parseBuilders(text, rules, localSystem === undefined ? {} : { localSystem });
  const accepted: Machine[] = [];
  const lines: string[] = [];
  const refused: BuildersText['refused'] = [];
  for (const machine of machines) {
    const line = machineLine(machine);
    const back = reread(line);
    if (
      /[\n;#]/.test(line) ||
      back.problems.length > 0 ||
      back.machines.length !== 1 ||
      meaning(back.machines[0]!) !== meaning(machine)
    ) {
      refused.push({
        machine,
        code: 'line-not-reread',
        reason: `written back as one line ('${line}'), Nix would read it as something else (a column holds '#', ';' or a newline), so it is not handed to Nix. Remove those characters from the line.`,
      });
      continue;
    }
    accepted.push(machine);
    lines.push(line);
  }
  const text = lines.join('\n');
  const whole = reread(text);
  const same =
    whole.problems.length === 0 &&
    whole.machines.length === accepted.length &&
    whole.machines.every((m, i) => meaning(m) === meaning(accepted[i]!));
  if (!same) {
    return {
      text: '',
      accepted: [],
      refused: [
        ...refused,
        ...accepted.map((machine) => ({
          machine,
          code: 'line-not-reread' as const,
          reason:
            'the builders text written for Nix does not read back as the same machines, so none of it is handed to Nix.',
        })),
      ],
    };
  }
  return { text, accepted, refused };
}
