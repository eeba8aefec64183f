// The options of `nix-builders`, one table for every subcommand, so an option means the same
// wherever it appears. Parsing turns Node's parser errors into the CLI's own usage errors.
import { parseArgs } from 'node:util';
import type { AutoArg } from '../dispatch/currentDerivation';
import { UsageError } from './usageError';
export type { OutputFormat } from './optionValues';

const cliOptions = {
  'nix-version': { type: 'string' },
  format: { type: 'string' },
  machines: { type: 'string' },
  builders: { type: 'string' },
  'ssh-config': { type: 'string' },
  timeout: { type: 'string' },
  system: { type: 'string' },
  features: { type: 'string' },
  attr: { type: 'string', short: 'A' },
  // Two words each (NAME VALUE): taken off the command line before parseArgs (autoArgsOf).
  arg: { type: 'string', multiple: true },
  argstr: { type: 'string', multiple: true },
  on: { type: 'string' },
  distributed: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
  version: { type: 'boolean', short: 'V' },
} as const;

export type OptionName = keyof typeof cliOptions;

export type CliValues = ReturnType<typeof parse>['values'];

export type { AutoArg } from '../dispatch/currentDerivation';

export interface ParsedCommandLine {
  values: CliValues;
  positionals: string[];
  autoArgs: AutoArg[];
  /** Every option as written, in order: to find repeated ones and ones a subcommand does not take. */
  given: { name: OptionName; rawName: string }[];
}

function parse(args: string[]) {
  return parseArgs({ args, options: cliOptions, allowPositionals: true, strict: true, tokens: true });
}

const takesValue = (arg: string) => {
  const long = /^--([a-z-]+)$/.exec(arg)?.[1];
  const short = /^-([A-Za-z])$/.exec(arg)?.[1];
  const option = Object.entries(cliOptions).find(
    ([name, spec]) => name === long || ('short' in spec && spec.short === short),
  );
  return option !== undefined && option[1].type === 'string';
};

/**
 * Takes `--arg NAME VALUE` and `--argstr NAME VALUE` off the command line (Node's parser knows
 * no option with two values). A VALUE may start with '-' (`--arg n -1`), as Nix allows; an
 * option's own value and everything after `--` are left as they are.
 */
function autoArgsOf(args: string[]): { rest: string[]; autoArgs: AutoArg[]; given: ParsedCommandLine['given'] } {
  const rest: string[] = [];
  const autoArgs: AutoArg[] = [];
  const given: ParsedCommandLine['given'] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === '--') {
      rest.push(...args.slice(i));
      break;
    }
    if (arg === '--arg' || arg === '--argstr') {
      const kind = arg === '--arg' ? 'arg' : 'argstr';
      const name = args[i + 1];
      const value = args[i + 2];
      const what = kind === 'arg' ? 'EXPR' : 'STRING';
      if (name === undefined || value === undefined)
        throw new UsageError(`${arg} needs a NAME and a ${what}`, `Write ${arg} NAME ${what}, as nix-build takes it`);
      if (!/^[A-Za-z_][A-Za-z0-9_'-]*$/.test(name))
        throw new UsageError(
          `${arg} '${name}' is not a Nix argument name`,
          `Write ${arg} NAME ${what}: NAME is the name of an argument of the function in FILE`,
        );
      autoArgs.push({ kind, name, value });
      given.push({ name: kind, rawName: arg });
      i += 2;
      continue;
    }
    rest.push(arg);
    // An option's value is its own, even when it reads '--arg'.
    if (takesValue(arg) && args[i + 1] !== undefined) rest.push(args[++i]!);
  }
  return { rest, autoArgs, given };
}

/** Throws a UsageError on an unknown option, a missing value or a value given to a switch. */
export function parseCommandLine(commandLine: string[]): ParsedCommandLine {
  const { rest: args, autoArgs, given: autoGiven } = autoArgsOf(commandLine);
  // `--timeout -1` is a negative number, not an option: hand it over as `--timeout=-1` (`-A-1`), so the
  // value check (not the parser's "ambiguous" complaint) says what is wrong with it.
  const joined: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    const next = args[i + 1];
    if (takesValue(arg) && next !== undefined && /^-[\d.]/.test(next)) {
      joined.push(arg.startsWith('--') ? `${arg}=${next}` : `${arg}${next}`);
      i++;
    } else joined.push(arg);
  }
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(joined);
  } catch (error) {
    const { code, message } = error as NodeJS.ErrnoException;
    const option = /'(-[^' ]*)/.exec(message)?.[1] ?? 'an option';
    if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION')
      throw new UsageError(`unknown option '${option}'`, 'nix-builders --help lists the options');
    if (/does not take an argument/.test(message))
      throw new UsageError(`${option} takes no value`, `Write ${option} alone`);
    throw new UsageError(
      `${option} needs a value`,
      `Write ${option} VALUE, or ${option}=VALUE for a value that starts with '-'`,
    );
  }
  const given = (parsed.tokens ?? []).flatMap((token) =>
    token.kind === 'option' ? [{ name: token.name as OptionName, rawName: token.rawName }] : [],
  );
  return { values: parsed.values, positionals: parsed.positionals, autoArgs, given: [...given, ...autoGiven] };
}
