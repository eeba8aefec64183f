// Distributed mode: the whole derivation graph handed to Nix's own remote-build machinery, which
// spreads independent derivations over all the given builders (each one to the machine its
// build hook picks) and copies what each needs. We run the local
//   nix-build <drv> --builders <text> -j0 --no-out-link --log-format internal-json
//             --option substituters ''
// and read its structured log for progress and for where each derivation went. `-j0` forbids
// local builds, so everything goes to a builder or fails. Substituters are off unless asked for
// (as in the tests, which have no internet); with `useSubstitutes` Nix fetches what caches have
// and the builders fetch their inputs from theirs (builders-use-substitutes).
// Cancelling sends SIGTERM to nix-build, which stops its build hooks; the builders' `nix-store
// --serve` (ssh://) and `nix-daemon --stdio` (ssh-ng://) see their session go and kill the build
// (checked on the lab: nothing left on either builder). Under a multi-user install the
// nix-daemon runs the hooks as root: root's ssh config applies, not `sshConfigFile`, and the
// daemon ignores `--builders` from users it does not trust (explained when it happens).
import { readFile } from 'node:fs/promises';
import { isStorePath } from '../ssh/remoteCommand';
import { parseDerivation } from './derivation';
import { startLocal } from './localProcess';
import { NixLogFollower, type BuildProgress } from './nixInternalLog';
import { Tail } from './streamParts';
import { noMachineWords } from '../model/nixMessages';
import { detectLocalMachine, localMachine } from '../localMachine/localMachine';
import type { LocalMachineInfo } from '../protocol';
import { buildersVerdict, onDaemonBuildersFailed } from './distributedTrust';

export type DistributedProgress = BuildProgress;

export interface DistributedOptions {
  /** A store derivation, `/nix/store/…​.drv`. */
  drvPath: string;
  /** A builders text (machines lines joined by newlines or `;`), as for Nix's `builders`. */
  builders: string;
  /** Given to ssh under Nix as `-F <file>` (added to NIX_SSHOPTS). */
  sshConfigFile?: string;
  env?: NodeJS.ProcessEnv;
  /** Let Nix use substituters (and builders theirs); default off. */
  useSubstitutes?: boolean;
  signal?: AbortSignal;
  /** Log lines: Nix's messages and every build's log, as Nix shows them. */
  onLog?: (line: string) => void;
  onProgress?: (progress: DistributedProgress) => void;
  /** The nix-build program (default `nix-build` from PATH). */
  nixBuild?: string;
  /** This machine as localMachine/ sees it (default: detected once per process). */
  localMachine?: LocalMachineInfo;
}

export type DistributedResult =
  | { ok: true; outputs: { name: string; path: string }[]; builtOn: Record<string, string>; ms: number }
  | { ok: false; message: string; logTail: string[]; cancelled: boolean };

const ansi = /\u001b\[[0-9;]*[A-Za-z]/g;

/** NIX_SSHOPTS with `-F file` appended (ssh takes the last -F). Nix splits it on whitespace. */
function sshOpts(env: NodeJS.ProcessEnv, sshConfigFile: string | undefined): string | undefined | Error {
  if (sshConfigFile === undefined) return env.NIX_SSHOPTS;
  if (/\s/.test(sshConfigFile))
    return new Error(
      `the ssh config path '${sshConfigFile}' contains whitespace, which NIX_SSHOPTS cannot carry (Nix splits it on spaces). Move the file to a path without spaces.`,
    );
  return `${env.NIX_SSHOPTS ?? ''} -F ${sshConfigFile}`.trim();
}

export async function buildDistributed(options: DistributedOptions): Promise<DistributedResult> {
  const started = Date.now();
  const tail = new Tail(25);
  const failed = (message: string, cancelled = false): DistributedResult => ({
    ok: false,
    message,
    logTail: tail.get(),
    cancelled,
  });
  const log = (line: string) => {
    const clean = line.replace(ansi, '');
    tail.push(clean);
    try {
      options.onLog?.(clean);
    } catch {
      // A listener's failure is not the build's.
    }
  };

  if (!options.drvPath.endsWith('.drv') || !isStorePath(options.drvPath))
    return failed(`'${options.drvPath}' is not a store derivation (/nix/store/…​.drv).`);
  // An untrusted user's --builders never reaches the daemon's build: know it before building.
  const local =
    options.localMachine ?? (options.env ? await detectLocalMachine({ env: options.env }) : await localMachine());
  const verdict = buildersVerdict(local);
  if (verdict.kind === 'refused') return failed(verdict.message);
  if (verdict.kind === 'daemon-builders') log(verdict.message);
  if (options.builders.trim() === '' && verdict.kind === 'honoured')
    return failed(
      'No builders were given, and with -j0 nothing may build locally. Add a builder (or check that one is healthy).',
    );
  let outputs: { name: string; path: string }[];
  try {
    outputs = parseDerivation(await readFile(options.drvPath, 'utf8')).outputs;
  } catch (error) {
    return failed(
      `Cannot read the derivation ${options.drvPath}: ${error instanceof Error ? error.message : String(error)}.`,
    );
  }
  const env: NodeJS.ProcessEnv = { ...(options.env ?? process.env) };
  const opts = sshOpts(env, options.sshConfigFile);
  if (opts instanceof Error) return failed(`Cannot pass the ssh config to Nix: ${opts.message}`);
  if (opts !== undefined) env.NIX_SSHOPTS = opts;
  if (options.signal?.aborted) return failed('Cancelled before the build started.', true);

  const builders = verdict.kind === 'daemon-builders' ? [] : ['--builders', options.builders];
  const args = [options.drvPath, ...builders, '-j0', '--no-out-link', '--log-format', 'internal-json'];
  if (options.useSubstitutes) args.push('--option', 'builders-use-substitutes', 'true');
  else args.push('--option', 'substituters', '');

  const follower = new NixLogFollower(log, (progress) => {
    try {
      options.onProgress?.(progress);
    } catch {
      // A listener's failure is not the build's.
    }
  });
  const child = startLocal(options.nixBuild ?? 'nix-build', args, {
    env,
    stdout: 'collect',
    onStderrLine: (line) => follower.push(line),
    tailLines: 1,
  });
  const onAbort = () => void child.kill();
  options.signal?.addEventListener('abort', onAbort, { once: true });
  const exit = await child.done;
  options.signal?.removeEventListener('abort', onAbort);

  if (options.signal?.aborted)
    return failed(
      `Cancelled: nix-build and its builds on the builders were stopped${Object.keys(follower.builtOn).length ? ` (${Object.keys(follower.builtOn).length} had started)` : ''}.`,
      true,
    );
  if (exit.error !== undefined) return failed(`Cannot run nix-build: ${exit.error}. Is Nix installed and on the PATH?`);
  if (exit.code !== 0) {
    const why = explain(
      follower.errors.map((error) => error.replace(ansi, '')),
      tail.get(),
      exit.code,
      exit.signal,
    );
    return failed(verdict.kind === 'daemon-builders' ? onDaemonBuildersFailed(local, why) : why);
  }

  const printed = new Set(
    exit.stdout
      .split('\n')
      .map((line) => line.trim())
      .filter((line) => isStorePath(line)),
  );
  const built = outputs.filter((output) => printed.has(output.path));
  return {
    ok: true,
    outputs: built.length > 0 ? built : outputs,
    builtOn: { ...follower.builtOn },
    ms: Date.now() - started,
  };
}

/** The failure in the user's words: Nix's last error, and what its vaguest ones really mean. */
export function explain(
  errors: readonly string[],
  tail: readonly string[],
  code: number | null,
  signal: NodeJS.Signals | null,
): string {
  // Nix 2.30+ colours the reason (`Reason: \e[31;1m…`): read the words without colours.
  const all = [...errors, ...tail].join('\n').replace(ansi, '');
  const lastError = (errors[errors.length - 1] ?? tail[tail.length - 1] ?? `nix-build ended with ${code ?? signal}`)
    .replace(ansi, '')
    .replace(/^error:\s*/, '');
  // Nix 2.30+ puts why on the next line (`Cannot build '…'.` then `Reason: …`); 2.21-2.29 lay one
  // message out over indented lines: read it as one line.
  const lines = lastError
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '');
  const reason = lines.find((line) => line.startsWith('Reason: '));
  const last = /^Unable to start any build;$/.test(lines[0] ?? '')
    ? lines.slice(0, 2).join(' ')
    : reason !== undefined
      ? `${lines[0]!} ${reason}`
      : (lines[0] ?? lastError.trim());
  const cannot = [
    ...new Set(
      all
        .split('\n')
        .filter((line) => /cannot build on '/.test(line))
        .map((line) => line.trim()),
    ),
  ];
  if (/ignoring the (client-specified|user-specified) setting 'builders'|ignoring untrusted/.test(all)) {
    return `The nix-daemon ignored the builders we gave it, because your user is not in its trusted-users: ${last}. Add your user to trusted-users in /etc/nix/nix.conf (then restart the nix-daemon), or put the builders in /etc/nix/machines.`;
  }
  if (noMachineWords.test(all)) {
    const why =
      cannot.length > 0
        ? ` The builders said: ${cannot.join(' ')}`
        : ' No builder has the system and features a derivation needs, or none could be reached.';
    return `Nix could not hand a derivation to any builder (it says: ${last}).${why}`;
  }
  return `The distributed build failed: ${last}.`;
}
