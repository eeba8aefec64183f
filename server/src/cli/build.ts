// `nix-builders build FILE [-A attr] [--on HOST | --distributed]`: evaluate, pick the machine
// Nix would pick (or HOST), offload over SSH with the log on stderr, and print the output paths
// on the last lines of stdout (or one JSON document). Ctrl+C cancels the remote build.
import { derivationOf } from '../dispatch/currentDerivation';
import { buildDistributed } from '../dispatch/distributed';
import { buildForUntrustedUser } from '../dispatch/untrustedBuild';
import { nothingLeftMessage, type LeftOut } from '../dispatch/distributedMachines';
import { offload } from '../dispatch/offload';
import { selectMachine } from '../dispatch/select';
import { lintMachine } from '../model/lint/index';
import { machineLabel, parseStoreUri } from '../model/storeUri';
import { unusableReason } from '../model/usableMachine';
import { ConnectionPool } from '../ssh/pool';
import type { ChosenMachines } from './machinesOption';
import type { OutputFormat } from './options';
import { passphrasePrompt } from './passphrasePrompt';
import { candidatesOf } from './select';
import { distributedChoice } from './distributedChoice';

export interface BuildCliOptions {
  file: string;
  attr: string | undefined;
  on: string | undefined;
  distributed: boolean;
  sshConfigFile: string | undefined;
  format: OutputFormat;
}

interface Outcome {
  ok: boolean;
  builtOn?: string;
  outputs?: { name: string; path: string }[];
  cause?: string;
  message?: string;
  ms: number;
  /** Distributed builds: the machines not handed to Nix, and why. */
  leftOut?: LeftOut[];
}

function report(outcome: Outcome, format: OutputFormat): number {
  if (format === 'json') process.stdout.write(`${JSON.stringify(outcome, null, 2)}\n`);
  else if (outcome.ok) {
    process.stderr.write(`Built on ${outcome.builtOn} in ${(outcome.ms / 1000).toFixed(1)} s.\n`);
    for (const output of outcome.outputs ?? []) process.stdout.write(`${output.path}\n`);
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

export async function runBuild(chosen: ChosenMachines, options: BuildCliOptions): Promise<number> {
  const started = Date.now();
  const abort = new AbortController();
  const onInterrupt = () => {
    process.stderr.write('\nCancelling the build…\n');
    abort.abort();
  };
  process.once('SIGINT', onInterrupt);
  try {
    const source = await derivationOf(options.file, options.attr);
    if (!source.ok) {
      const message = 'error' in source ? source.error : `${options.file} holds several derivations: choose one with -A (${source.needsAttribute.join(', ')})`;
      return report({ ok: false, cause: 'evaluation', message, ms: Date.now() - started }, options.format);
    }
    const log = (line: string) => process.stderr.write(`${line}\n`);
    if (options.distributed) {
      const machines = await distributedChoice(chosen, options.sshConfigFile, log);
      const leftOut = machines.leftOut.length > 0 ? { leftOut: machines.leftOut } : {};
      if (machines.used.length === 0) return report({ ok: false, cause: 'no-machine', message: nothingLeftMessage(machines.leftOut), ms: Date.now() - started, ...leftOut }, options.format);
      log(`Handing ${machines.used.length} ${machines.used.length === 1 ? 'builder' : 'builders'} to Nix: ${machines.used.map((m) => m.storeUri).join(', ')}`);
      const result = await buildDistributed({
        drvPath: source.drvPath,
        builders: machines.text,
        ...(options.sshConfigFile ? { sshConfigFile: options.sshConfigFile } : {}),
        signal: abort.signal,
        onLog: log,
      });
      return report(
        result.ok
          ? { ok: true, builtOn: 'distributed', outputs: result.outputs, ms: Date.now() - started, ...leftOut }
          : { ok: false, cause: abort.signal.aborted ? 'cancelled' : 'build-failed', message: result.message, ms: Date.now() - started, ...leftOut },
        options.format,
      );
    }
    // A user the nix-daemon does not trust: through the daemon's builders, or trust named first.
    const untrusted = await buildForUntrustedUser({ drvPath: source.drvPath, on: options.on === undefined ? 'best' : { uri: options.on }, signal: abort.signal, onLog: log });
    if (untrusted !== undefined) return report(untrusted.ok ? { ...untrusted, ms: Date.now() - started } : { ok: false, cause: untrusted.cause, message: untrusted.message, ms: Date.now() - started }, options.format);
    let index: number;
    if (options.on !== undefined) {
      index = chosen.machines.findIndex((m) => names(m.storeUri, options.on!));
      if (index < 0) return report({ ok: false, cause: 'no-machine', message: `no machine named '${options.on}' in ${chosen.from}`, ms: Date.now() - started }, options.format);
    } else {
      const needs = { system: source.derivation.system, requiredFeatures: source.derivation.requiredSystemFeatures };
      // The selector skips the machines this extension refuses (as `down`), so the next best builds.
      const candidates = candidatesOf(chosen).map((c, i) => {
        const unusable = unusableReason(chosen.machines[i]!, lintMachine(chosen.machines[i]!, chosen.target));
        return unusable === undefined ? c : { ...c, down: `refused (${unusable.code}): ${unusable.reason}` };
      });
      const selection = selectMachine(candidates, needs, chosen.target.rules);
      if (!selection.chosen) {
        const why = selection.verdicts.map((v) => `${machineLabel(v.candidate.uri)}: ${v.reason}`).join('; ');
        return report({ ok: false, cause: 'no-machine', message: `no machine fits ${needs.system}${why ? ` (${why})` : ''}`, ms: Date.now() - started }, options.format);
      }
      index = Number(selection.chosen.id);
    }
    const machine = chosen.machines[index]!;
    const unusable = unusableReason(machine, lintMachine(machine, chosen.target));
    if (unusable !== undefined) return report({ ok: false, cause: 'machine-unusable', message: `${machine.storeUri} is not used (${unusable.code}): ${unusable.reason}`, ms: Date.now() - started }, options.format);
    process.stderr.write(`Building ${source.drvPath} on ${machine.storeUri}\n`);
    const pool = new ConnectionPool({ idleMs: 1000 });
    const passphrase = passphrasePrompt();
    try {
      const result = await offload({
        machine,
        drvPath: source.drvPath,
        pool,
        ...(options.sshConfigFile ? { sshConfigFile: options.sshConfigFile } : {}),
        daemon: chosen.local.daemon,
        askPassphrase: passphrase.ask,
        signal: abort.signal,
        onLog: log,
        onPhase: (phase, detail) => process.stderr.write(`» ${phase}${detail ? `: ${detail}` : ''}\n`),
      });
      return report(
        result.ok
          ? { ok: true, builtOn: machine.storeUri, outputs: result.outputs, ms: Date.now() - started }
          : result.cause === 'auth' && passphrase.untypable.size > 0
            ? { ok: false, cause: 'passphrase-needed', message: passphraseNeeded([...passphrase.untypable]), ms: Date.now() - started }
            : { ok: false, cause: result.cause, message: result.message, ms: Date.now() - started },
        options.format,
      );
    } finally {
      pool.close();
    }
  } finally {
    process.removeListener('SIGINT', onInterrupt);
  }
}
