// Everything about a command line is checked here, before a subcommand runs: the subcommand is
// known, each option is one it takes and is given once, options that exclude each other are not
// both given, every value is in range, and the operands are the ones it expects. A command line
// that passes runs as written; one that does not is a UsageError (exit 2) and nothing runs.
import { parseCommandLine, type AutoArg, type CliValues, type OptionName } from './options';
import { nixVersionChoice, outputFormat, timeoutSeconds, type OutputFormat } from './optionValues';
import { subcommandNamed, subcommands, type Subcommand } from './subcommands';
import { UsageError } from './usageError';

export type CommandLine =
  | { kind: 'version' }
  | { kind: 'help'; subcommand?: Subcommand }
  | {
      kind: 'run';
      subcommand: Subcommand;
      operands: string[];
      values: CliValues;
      /** `--arg`/`--argstr`, in the order given (build only). */
      autoArgs: AutoArg[];
      format: OutputFormat;
      timeoutSeconds: number | undefined;
      /** Worth saying on stderr, but not wrong (a Nix newer than the rules know). */
      notes: string[];
    };

/** Pairs of options that say opposite things: the user must choose. */
const exclusive: [OptionName, OptionName, string][] = [
  ['machines', 'builders', 'Give the machines one way: a file with --machines, or text with --builders'],
  ['on', 'distributed', '--on builds on that one machine, --distributed lets Nix spread the build: choose one'],
];

const spelled = (name: OptionName) => (name === 'attr' ? '-A/--attr' : `--${name}`);

export function readCommandLine(args: string[]): CommandLine {
  let parsed: ReturnType<typeof parseCommandLine>;
  try {
    parsed = parseCommandLine(args);
  } catch (error) {
    // Show the usage of the subcommand the user meant, when there is one among the words.
    if (error instanceof UsageError) error.subcommand ??= subcommands.find((s) => args.includes(s.name))?.name;
    throw error;
  }
  const { values, positionals, given, autoArgs } = parsed;
  const [name, ...operands] = positionals;
  if (values.version) return { kind: 'version' };
  if (name === undefined) {
    const option = given.find((g) => g.name !== 'help');
    if (option)
      throw new UsageError(
        `${option.rawName} is given without a subcommand`,
        `Start with one of ${subcommands.map((s) => s.name).join(', ')}, e.g. nix-builders ping ${option.rawName} …`,
      );
    return { kind: 'help' };
  }
  if (name === 'help')
    return operands[0] !== undefined && subcommandNamed(operands[0])
      ? { kind: 'help', subcommand: subcommandNamed(operands[0])! }
      : { kind: 'help' };
  const subcommand = subcommandNamed(name);
  if (subcommand === undefined) {
    throw new UsageError(
      `unknown subcommand '${name}'`,
      `The subcommands are ${subcommands.map((s) => s.name).join(', ')} (nix-builders --help says what each does)`,
    );
  }
  if (values.help) return { kind: 'help', subcommand };
  const wrong = (what: string, todo: string) => new UsageError(what, todo, subcommand.name);

  const seen = new Set<OptionName>();
  for (const { name: option, rawName } of given) {
    if (!subcommand.options.includes(option))
      throw wrong(`${subcommand.name} does not take ${rawName}`, `Its options are below`);
    // Like nix-build's, --arg and --argstr are given once per argument name.
    if (seen.has(option) && option !== 'arg' && option !== 'argstr')
      throw wrong(`${spelled(option)} is given more than once`, 'Give it once');
    seen.add(option);
  }
  for (const [a, b, todo] of exclusive)
    if (seen.has(a) && seen.has(b)) throw wrong(`${spelled(a)} and ${spelled(b)} are both given`, todo);
  for (const option of seen) {
    const value = values[option];
    if (value === '')
      throw wrong(`${spelled(option)} is given an empty value`, `Give ${spelled(option)} a value, or leave it out`);
  }

  if (subcommand.operands === 'none' && operands.length > 0) {
    throw wrong(
      `${subcommand.name} takes no FILE, but was given '${operands[0]}'`,
      subcommand.options.includes('machines')
        ? 'Give the machines with --machines FILE or --builders TEXT'
        : 'Its options are below',
    );
  }
  if (subcommand.operands === 'one-file' && operands.length !== 1) {
    throw operands.length === 0
      ? wrong(`${subcommand.name} needs a FILE`, 'Give a .nix file, a flake.nix or a .drv')
      : wrong(
          `${subcommand.name} takes one FILE, but was given ${operands.length}`,
          'Build one at a time, or make one .nix file that holds them all and pick with -A',
        );
  }
  const named = new Set<string>();
  for (const { kind, name } of autoArgs) {
    if (named.has(name))
      throw wrong(`the argument '${name}' is given more than once (--${kind} ${name})`, 'Give each argument one value');
    named.add(name);
  }
  if (subcommand.name === 'select' && values.system === undefined)
    throw wrong('select needs --system', 'Give the system of the derivation, e.g. --system x86_64-linux');

  const notes: string[] = [];
  if (values['nix-version'] !== undefined) {
    const choice = nixVersionChoice(values['nix-version']);
    if (choice.note) notes.push(choice.note);
  }
  return {
    kind: 'run',
    subcommand,
    operands,
    values,
    autoArgs,
    format: outputFormat(values.format),
    timeoutSeconds: values.timeout === undefined ? undefined : timeoutSeconds(values.timeout),
    notes,
  };
}
