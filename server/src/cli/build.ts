// `nix-builders build FILE [-A attr] [--arg NAME EXPR] [--argstr NAME S] [--on HOST | --distributed]`: evaluate, pick the machine
// Nix would pick (or HOST), offload over SSH with the log on stderr, and print the output paths
// on the last lines of stdout (or one JSON document). Ctrl+C cancels the remote build.
import { connectAhead, likelyMachine } from '../dispatch/connectAhead';
import type { DerivationSource } from '../dispatch/currentDerivation';
import { buildCandidate, failedBuild, noMachineFits, runBuild, type BuildPlace } from '../dispatch/runBuild';
import { selectMachine } from '../dispatch/select';
import { machineLabel, parseStoreUri } from '../model/storeUri';
import type { BuildOutcome } from '../protocol';
import { ConnectionPool } from '../ssh/pool';
import { distributedChoice } from './distributedChoice';
import type { ChosenMachines } from './machinesOption';
import type { AutoArg, OutputFormat } from './options';
import { passphrasePrompt } from './passphrasePrompt';

export interface BuildCliOptions {
  file: string;
  attr: string | undefined;
  /** --arg / --argstr for a .nix file's function. */
  autoArgs: AutoArg[];
  on: string | undefined;
  distributed: boolean;
  sshConfigFile: string | undefined;
  format: OutputFormat;
}

/** What `--format json` prints, and the text report reads: the protocol's outcome, as the CLI has always said it. */
function cliOutcome(outcome: BuildOutcome): Record<string, unknown> {
  const leftOut = outcome.leftOut ? { leftOut: outcome.leftOut } : {};
  return outcome.ok
    ? {
        ok: true,
        summary: outcome.summary,
        builtOn: outcome.builtOn,
        builtBy: outcome.builtBy,
        outputs: outcome.outputs,
        ms: outcome.ms,
        ...leftOut,
      }
    : { ok: false, cause: outcome.cause, message: outcome.message, ms: outcome.ms, ...leftOut };
}

function report(outcome: BuildOutcome, format: OutputFormat): number {
  if (format === 'json') process.stdout.write(`${JSON.stringify(cliOutcome(outcome), null, 2)}\n`);
  else if (outcome.ok) {
    process.stderr.write(`${outcome.summary}\n`);
    for (const output of outcome.outputs) process.stdout.write(`${output.path}\n`);
  } else process.stderr.write(`nix-builders: ${outcome.cause}: ${outcome.message}\n`);
  return outcome.ok ? 0 : 1;
}

/** The login failed for want of a passphrase nobody could type: the user's to fix, not the builder's. */
function passphraseNeeded(keyFiles: string[]): string {
  const keys = keyFiles.join(', ');
  return `Nothing was built: the key ${keys} has a passphrase and there is no terminal to ask for it (the builder accepts the key). Load it into ssh-agent first (ssh-add ${keyFiles[0]}) and run again, or run nix-builders in a terminal.`;
}

/** Does `wanted` name this machine: its URI, user@host, or host. */
function names(uri: string, wanted: string): boolean {
  const { host } = parseStoreUri(uri);
  return uri === wanted || machineLabel(uri) === wanted || host === wanted;
}

/** The machine `--on NAME` names, if any. */
const namedMachine = (chosen: ChosenMachines, on: string) => chosen.machines.find((m) => names(m.storeUri, on));

/** Where the command line says to build: `--distributed`, `--on NAME`, or the machine Nix would pick. */
function placeOf(
  chosen: ChosenMachines,
  options: BuildCliOptions,
  needs: { system: string; requiredFeatures: readonly string[] },
  log: (line: string) => void,
): BuildPlace {
  if (options.distributed) return { distributed: () => distributedChoice(chosen, options.sshConfigFile, log) };
  if (options.on !== undefined) {
    const machine = namedMachine(chosen, options.on);
    return machine ? { machine } : { none: `no machine named '${options.on}' in ${chosen.from}` };
  }
  // The machines this extension refuses count as down, so the next best builds.
  const candidates = chosen.machines.map((machine, index) => buildCandidate(String(index), machine, chosen.target));
  const selection = selectMachine(candidates, needs, chosen.target.rules);
  if (selection.chosen) return { machine: chosen.machines[Number(selection.chosen.id)]! };
  return {
    none: noMachineFits(
      needs.system,
      selection.verdicts.map((v) => ({ label: machineLabel(v.candidate.uri), reason: v.reason })),
    ),
  };
}

/** Nix's evaluation of the file, started before this module was even loaded (cli.ts). */
export interface StartedEvaluation {
  result: Promise<DerivationSource>;
  /** Stops it: the command ended before it needed it. */
  abort(): void;
}

/**
 * The build. `machines` is still being read and Nix still evaluating; the connection to the
 * machine the build will most likely go to starts as soon as the machines are known
 * (connectAhead.ts), so that none of the three waits for another. A usage error in reading the
 * machines (an unreadable --machines file) still ends the command before anything is built.
 */
export async function runBuildCommand(
  machines: Promise<ChosenMachines>,
  evaluation: StartedEvaluation,
  options: BuildCliOptions,
): Promise<number> {
  const started = Date.now();
  const abort = new AbortController();
  const onInterrupt = () => {
    process.stderr.write('\nCancelling the build…\n');
    abort.abort();
  };
  process.once('SIGINT', onInterrupt);
  const pool = new ConnectionPool({ idleMs: 1000 });
  let letGoEarlyConnection = () => undefined as void;
  // Once the build is over, a connect ahead still in flight serves nobody (see the finally).
  const over = new AbortController();
  try {
    const chosen = await machines;
    if (!options.distributed)
      letGoEarlyConnection = connectAhead(
        options.on !== undefined
          ? namedMachine(chosen, options.on)
          : likelyMachine(
              chosen.machines.map((machine) => ({ machine })),
              chosen.target,
            ),
        {
          pool,
          target: chosen.target,
          sshConfigFile: options.sshConfigFile,
          daemon: chosen.local.daemon,
          signal: over.signal,
        },
      );
    const source = await evaluation.result;
    if (!source.ok) {
      const message =
        'error' in source
          ? source.error
          : `${options.file} holds several derivations: choose one with -A (${source.needsAttribute.join(', ')})`;
      return report(failedBuild('', started, 'evaluation', message), options.format);
    }
    const log = (line: string) => process.stderr.write(`${line}\n`);
    const passphrase = passphrasePrompt();
    const needs = { system: source.derivation.system, requiredFeatures: source.derivation.requiredSystemFeatures };
    const outcome = await runBuild({
      ...(options.on !== undefined ? { picked: options.on } : {}),
      buildId: '',
      drvPath: source.drvPath,
      on: placeOf(chosen, options, needs, log),
      target: chosen.target,
      sshConfigFile: options.sshConfigFile,
      daemon: chosen.local.daemon,
      pool,
      askPassphrase: passphrase.ask,
      signal: abort.signal,
      onLog: log,
      onPhase: (phase, detail) => process.stderr.write(`» ${phase}${detail ? `: ${detail}` : ''}\n`),
      started,
    });
    // A login that failed for a passphrase nobody could type is the user's to fix: say how.
    if (outcome.cause === 'auth' && passphrase.untypable.size > 0)
      return report(
        { ...outcome, cause: 'passphrase-needed', message: passphraseNeeded([...passphrase.untypable]) },
        options.format,
      );
    return report(outcome, options.format);
  } finally {
    evaluation.abort();
    over.abort();
    letGoEarlyConnection();
    pool.close();
    process.removeListener('SIGINT', onInterrupt);
  }
}
