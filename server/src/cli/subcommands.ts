// The subcommands of `nix-builders`: what each one is for, which options and operands it takes.
// The usage text and the command-line checks both read this table, so the help never offers an
// option that a subcommand would then refuse.
import type { OptionName } from './options';

export type SubcommandName = 'check' | 'ping' | 'select' | 'build';

export interface Subcommand {
  name: SubcommandName;
  /** What follows `nix-builders` in the usage; continuation lines are aligned by the usage. */
  synopsis: string;
  about: string;
  options: readonly OptionName[];
  /** FILE operands: any number (check), none, or exactly one (build). */
  operands: 'files' | 'none' | 'one-file';
}

export const subcommands: readonly Subcommand[] = [
  {
    name: 'check',
    synopsis: 'check [FILE...] [--nix-version V] [--format text|json]',
    about: `Check machines files and nix.conf files as Nix reads them: Nix's own errors and the
mistakes it lets through. Without FILE, checks the nix.conf chain Nix reads here and
the machines files its builders setting leads to. Exits 1 when there is an error.`,
    options: ['nix-version', 'format'],
    operands: 'files',
  },
  {
    name: 'ping',
    synopsis: `ping [--machines FILE | --builders TEXT] [--ssh-config FILE] [--timeout S]
[--nix-version V] [--format text|json]`,
    about: `Check every builder over SSH, in parallel, the way Nix will reach it: host key, login,
Nix on the remote PATH, shell noise, trust, system and features. Without --machines or
--builders, the builders Nix reads here. Exits 1 when any builder is unusable, 3 when
one could not be checked at all or there is none to check (it says what it read).`,
    options: ['machines', 'builders', 'ssh-config', 'timeout', 'nix-version', 'format'],
    operands: 'none',
  },
  {
    name: 'select',
    synopsis: `select --system S [--features a,b] [--machines FILE | --builders TEXT]
[--nix-version V] [--format text|json]`,
    about: `The machine Nix would pick for a derivation of system S needing features a,b, and for
every machine why (not). Nothing is built. Exits 1 when no machine fits.`,
    options: ['system', 'features', 'machines', 'builders', 'nix-version', 'format'],
    operands: 'none',
  },
  {
    name: 'build',
    synopsis: `build FILE [-A ATTR] [--arg NAME EXPR] [--argstr NAME S] [--on HOST | --distributed]
[--machines FILE | --builders TEXT] [--ssh-config FILE]
[--nix-version V] [--format text|json]`,
    about: `Build FILE (.nix, flake.nix or .drv) on the machine Nix would pick (or HOST), with the
log on stderr and the output paths on the last lines of stdout. --distributed hands the
whole graph to Nix's own remote builds over all the machines. A key with a passphrase is
asked for on the terminal. Ctrl+C cancels.`,
    options: [
      'attr',
      'arg',
      'argstr',
      'on',
      'distributed',
      'machines',
      'builders',
      'ssh-config',
      'nix-version',
      'format',
    ],
    operands: 'one-file',
  },
];

export function subcommandNamed(name: string): Subcommand | undefined {
  return subcommands.find((s) => s.name === name);
}
