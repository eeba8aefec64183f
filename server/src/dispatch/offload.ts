// Building one derivation on one chosen builder over our own pooled SSH connection, the way
// Nix's build hook does it but with the log live and every step measured:
//   connect       the pooled connection (host key verified by the connection layer, or nothing
//                 happens), while the .drv's closure is computed here;
//   copy-inputs   ask the builder which closure paths it lacks (one round trip), then stream
//                 `nix-store --export` of only those into its `nix-store --import`;
//   build         `nix-store --realise <drv>` there, its stderr streamed line by line;
//   copy-outputs  the outputs' runtime closure minus what this store has, streamed back with
//                 the builder's `nix-store --export` into our `nix-store --import`.
// The closure sent is the .drv's closure plus the outputs of its dependencies that this store
// already has (`--include-outputs`): the builder then builds only what nobody has built yet,
// and a chain of derivations goes over once. `nix-store --import` registers a path only once it
// has all of it, on either side, so a cancel or a dropped connection leaves nothing half-copied.
// Cancelling stops every command we started, on both sides (remoteProcess.ts explains how).
// Never throws: every failure is a cause and a message in the user's words (offloadCauses.ts).
import { readFile } from 'node:fs/promises';
import type { Client } from 'ssh2';
import type { Machine } from '../model/machines';
import { parseStoreUri } from '../model/storeUri';
import type { AskPassphrase } from '../ssh/keyring';
import { acquireMachine } from '../ssh/machineConnection';
import type { ConnectionPool, Lease } from '../ssh/pool';
import { assertStorePaths, exec, isStorePath, type ExecResult } from '../ssh/remoteCommand';
import { parseDerivation } from './derivation';
import { runLocal, startLocal, type LocalExit } from './localProcess';
import { classifyFailure, sshFailureCause, type Classified, type OffloadCause, type OffloadPhase } from './offloadCauses';
import { startRemote, type RemoteExit } from './remoteProcess';
import { nixStoreCommand, remoteNixStore, type RemoteNixStore } from './remoteNixStore';
import { ByteCounter, formatBytes, SkipPrefix, Tail } from './streamParts';

export type { OffloadCause, OffloadPhase } from './offloadCauses';

export interface OffloadOptions {
  /** The chosen machine (its store URI, column 3 key and column 8 host key are used). */
  machine: Machine;
  /** A store derivation, `/nix/store/…​.drv`, valid in the local store. */
  drvPath: string;
  /** The pool the probes use: a builder that was just probed is reached without a new login. */
  pool: ConnectionPool;
  sshConfigFile?: string;
  env?: NodeJS.ProcessEnv;
  /** Local builds go through a nix-daemon (only changes the advice for local refusals). */
  daemon?: boolean;
  askPassphrase?: AskPassphrase;
  /** builders-use-substitutes: the builder first fetches what it can from its own substituters. */
  useSubstitutes?: boolean;
  /** Cancel: stops the remote build and every copy; nothing half-imported stays behind. */
  signal?: AbortSignal;
  /** The build log, live, line by line (the builder's stderr). */
  onLog?: (line: string) => void;
  /** Each phase as it starts, with a detail such as `3 paths, 1.2 MiB`. */
  onPhase?: (phase: OffloadPhase, detail: string) => void;
}

export interface PhaseTime {
  phase: OffloadPhase;
  ms: number;
}

export type OffloadResult =
  | {
      ok: true;
      outputs: { name: string; path: string }[];
      /** Paths sent to the builder (only those it lacked). */
      copiedToBuilder: number;
      /** Paths brought back (only those this store lacked). */
      copiedBack: number;
      bytesToBuilder: number;
      bytesBack: number;
      phases: PhaseTime[];
      ms: number;
    }
  | { ok: false; cause: OffloadCause; message: string; logTail: string[]; phases: PhaseTime[] };

type Failure = Extract<OffloadResult, { ok: false }>;

/** How long a question to the builder (which paths it lacks, an output closure) may take. */
const queryTimeoutMs = 60_000;
/** With substitutes the question includes fetching from the builder's caches. */
const substituteTimeoutMs = 30 * 60_000;
const maxAnswerBytes = 64 * 1024 * 1024;
const addRootWarning = /^warning: you did not specify '--add-root'/;

/**
 * Which closure paths the builder lacks, the paths on stdin. Prints nothing else, so anything
 * before the first path line is the login shell's own output (see `noise`).
 */
const QUERY_MISSING = 'set -f; exec "$@" --check-validity --print-invalid $(cat)';
/**
 * The same with builders-use-substitutes: the builder first substitutes the missing paths it
 * can (never .drv files: they are not substitutable), then says what it still lacks. Failures
 * to substitute are expected (paths nobody has cached) and only mean those paths are sent.
 */
const QUERY_MISSING_AFTER_SUBSTITUTING = [
  'set -f',
  'missing=$("$@" --check-validity --print-invalid $(cat)) || exit',
  'fetch=',
  'for p in $missing; do case $p in *.drv) ;; *) fetch="$fetch $p" ;; esac; done',
  'if [ -n "$fetch" ]; then "$@" --realise --keep-going $fetch >/dev/null 2>&1 || :; fi',
  'exec "$@" --check-validity --print-invalid $missing',
].join('\n');
/** The runtime closure of the outputs (paths on stdin), then `@@sizes`, then each one's NAR size. */
const REQUISITES_WITH_SIZES = 'set -f; paths=$("$@" --query --requisites $(cat)) || exit; printf "%s\\n" $paths; echo @@sizes; exec "$@" --query --size $paths';

interface Killable {
  kill(): Promise<void>;
}

export async function offload(options: OffloadOptions): Promise<OffloadResult> {
  const run = new Offload(options);
  try {
    return await run.run();
  } catch (error) {
    return run.unexpected(error);
  } finally {
    run.dispose();
  }
}

class Offload {
  private readonly phases: PhaseTime[] = [];
  private current: { phase: OffloadPhase; started: number } | undefined;
  private readonly active = new Set<Killable>();
  private killing: Promise<unknown> | undefined;
  private lease: Lease | undefined;
  private readonly env: NodeJS.ProcessEnv;
  private readonly started = Date.now();
  /** The last log lines, whatever command they came from (for the tail of a cancelled build). */
  private readonly recent = new Tail(25);

  constructor(private readonly o: OffloadOptions) {
    this.env = o.env ?? process.env;
    o.signal?.addEventListener('abort', this.onAbort, { once: true });
  }

  private readonly onAbort = () => {
    this.killing = Promise.all([...this.active].map((process) => process.kill()));
  };

  private get aborted(): boolean {
    return this.o.signal?.aborted === true;
  }

  dispose(): void {
    this.o.signal?.removeEventListener('abort', this.onAbort);
    this.lease?.release();
    this.lease = undefined;
  }

  async run(): Promise<OffloadResult> {
    const { machine, drvPath } = this.o;
    const uri = machine.storeUri;
    if (!drvPath.endsWith('.drv') || !isStorePath(drvPath)) {
      return this.fail({ cause: 'local-store', message: `'${drvPath}' is not a store derivation (/nix/store/…​.drv). Instantiate the expression first (nix-instantiate).` });
    }
    const scheme = parseStoreUri(uri).scheme;
    if (scheme !== 'ssh' && scheme !== 'ssh-ng') {
      return this.fail({ cause: 'connection', message: `${uri} is not an SSH builder (ssh:// or ssh-ng://), so there is nothing to offload to. Use Distributed mode for other stores.` });
    }
    if (this.aborted) return this.cancelled();

    let outputs: { name: string; path: string }[];
    try {
      outputs = parseDerivation(await readFile(drvPath, 'utf8')).outputs;
    } catch (error) {
      return this.fail({ cause: 'local-store', message: `Cannot read the derivation ${drvPath}: ${messageOf(error)}. Instantiate it again (nix-instantiate) and retry.` });
    }
    if (outputs.length === 0 || outputs.some((output) => output.path === '')) {
      return this.fail({ cause: 'local-store', message: `${drvPath} has outputs whose paths are only known after the build (content-addressed). Offload cannot copy those yet; use Distributed mode.` });
    }
    const outputPaths = outputs.map((output) => output.path);
    assertStorePaths(outputPaths);

    // Nix builds nothing when the outputs are already here; neither do we.
    const localValid = await runLocal('nix-store', ['--check-validity', '--print-invalid', ...outputPaths], { env: this.env, ...this.signalOption() });
    if (this.aborted) return this.cancelled();
    if (localValid.code !== 0) return this.failLocal('copy-inputs', localValid);
    if (pathLines(localValid.stdout).length === 0) {
      this.log(`${outputPaths.join(', ')} already in the local store: nothing to build.`);
      return { ok: true, outputs, copiedToBuilder: 0, copiedBack: 0, bytesToBuilder: 0, bytesBack: 0, phases: this.phases, ms: Date.now() - this.started };
    }

    // Phase: connect, with the local closure computed meanwhile.
    this.begin('connect', uri);
    const [leased, closure] = await Promise.all([
      acquireMachine(this.o.pool, machine, {
        env: this.env,
        ...(this.o.sshConfigFile === undefined ? {} : { sshConfigFile: this.o.sshConfigFile }),
        ...(this.o.askPassphrase === undefined ? {} : { askPassphrase: this.o.askPassphrase }),
        ...this.signalOption(),
      }),
      this.localClosure(drvPath, new Set(outputPaths)),
    ]);
    if (leased.ok) this.lease = leased.lease;
    if (this.aborted) return this.cancelled();
    if (!leased.ok) return this.fail(sshFailureCause(leased.failure, uri));
    if ('failed' in closure) return this.failLocal('copy-inputs', closure.failed);
    this.end();

    const client = leased.lease.connection.client;
    const user = leased.lease.connection.host.user;
    const store = remoteNixStore(uri);

    // Phase: copy-inputs.
    this.begin('copy-inputs');
    const query = await exec(client, ['/bin/sh', '-c', this.o.useSubstitutes ? QUERY_MISSING_AFTER_SUBSTITUTING : QUERY_MISSING, 'sh', ...nixStoreCommand(store)], {
      stdin: closure.paths.map((path) => `${path}\n`).join(''),
      timeoutMs: this.o.useSubstitutes ? substituteTimeoutMs : queryTimeoutMs,
      maxOutputBytes: maxAnswerBytes,
      ...this.signalOption(),
    });
    if (this.aborted) return this.cancelled();
    const queryFailure = this.remoteExecFailure(query, 'copy-inputs', user);
    if (queryFailure) return this.fail(queryFailure, query.stderr.split('\n'));
    const answer = readMissing(query.stdout, new Set(closure.paths));
    const missing = answer.missing;
    let bytesToBuilder = 0;
    if (missing.length > 0) {
      const planned = missing.reduce((sum, path) => sum + (closure.sizes.get(path) ?? 0), 0);
      this.phase('copy-inputs', `${count(missing.length, 'path')}, ${formatBytes(planned)}`);
      const copied = await this.copyToBuilder(client, store, missing, user);
      if ('failure' in copied) return copied.failure;
      bytesToBuilder = copied.bytes;
    } else {
      this.phase('copy-inputs', `0 paths: ${uri} has the whole closure`);
    }
    this.end();

    // Phase: build.
    this.begin('build', `${nameOf(drvPath)} on ${uri}`);
    const realise = [...nixStoreCommand(store), '--realise', drvPath];
    if (!this.o.useSubstitutes) realise.push('--option', 'substituters', '');
    const build = this.track(
      await startRemote(client, realise, {
        // Nix warns that a path realised without --add-root may be collected; that is about our
        // invocation, not the user's build, and the outputs are copied back right away.
        onStderrLine: (line) => {
          if (!addRootWarning.test(line)) this.log(line);
        },
      }),
    );
    build.channel.on('data', () => undefined);
    const built = await build.done;
    this.active.delete(build);
    if (this.aborted) return this.cancelled();
    if (built.code !== 0) return this.failRemote('build', built, user);
    this.end();

    // Phase: copy-outputs.
    this.begin('copy-outputs');
    const requisites = await exec(client, ['/bin/sh', '-c', REQUISITES_WITH_SIZES, 'sh', ...nixStoreCommand(store)], {
      stdin: outputPaths.map((path) => `${path}\n`).join(''),
      timeoutMs: queryTimeoutMs,
      maxOutputBytes: maxAnswerBytes,
      ...this.signalOption(),
    });
    if (this.aborted) return this.cancelled();
    const requisitesFailure = this.remoteExecFailure(requisites, 'copy-outputs', user);
    if (requisitesFailure) return this.fail(requisitesFailure, requisites.stderr.split('\n'));
    const runtime = readPathsWithSizes(requisites.stdout);
    assertStorePaths(runtime.paths);
    const here = await runLocal('nix-store', ['--check-validity', '--print-invalid', ...runtime.paths], { env: this.env, ...this.signalOption() });
    if (this.aborted) return this.cancelled();
    if (here.code !== 0) return this.failLocal('copy-outputs', here);
    const lacking = pathLines(here.stdout).filter((path) => runtime.sizes.has(path));
    let bytesBack = 0;
    if (lacking.length > 0) {
      const planned = lacking.reduce((sum, path) => sum + (runtime.sizes.get(path) ?? 0), 0);
      this.phase('copy-outputs', `${count(lacking.length, 'path')}, ${formatBytes(planned)}`);
      const copied = await this.copyBack(client, store, lacking, answer.noise, user);
      if ('failure' in copied) return copied.failure;
      bytesBack = copied.bytes;
    } else {
      this.phase('copy-outputs', '0 paths: this store has them');
    }
    const check = await runLocal('nix-store', ['--check-validity', '--print-invalid', ...outputPaths], { env: this.env });
    if (check.code !== 0 || pathLines(check.stdout).length > 0) {
      return this.fail({ cause: 'local-store', message: `The build succeeded on ${uri}, but ${pathLines(check.stdout).join(', ') || 'its outputs'} did not arrive in the local store. Build again; if it persists, check the local store (nix-store --verify).` }, check.stderrTail);
    }
    this.end();
    return {
      ok: true,
      outputs,
      copiedToBuilder: missing.length,
      copiedBack: lacking.length,
      bytesToBuilder,
      bytesBack,
      phases: this.phases,
      ms: Date.now() - this.started,
    };
  }

  /** The .drv's closure plus the outputs this store has of its dependencies, with NAR sizes. */
  private async localClosure(drvPath: string, ownOutputs: Set<string>): Promise<{ paths: string[]; sizes: Map<string, number> } | { failed: LocalExit }> {
    const requisites = await runLocal('nix-store', ['--query', '--requisites', '--include-outputs', drvPath], { env: this.env, ...this.signalOption() });
    if (requisites.code !== 0) return { failed: requisites };
    // The derivation's own outputs are what we are about to build (some may be valid already).
    const paths = pathLines(requisites.stdout).filter((path) => !ownOutputs.has(path));
    assertStorePaths(paths);
    const sizes = new Map<string, number>();
    if (paths.length === 0) return { paths, sizes };
    const sized = await runLocal('nix-store', ['--query', '--size', ...paths], { env: this.env, ...this.signalOption() });
    // Sizes only feed the progress detail; a failure here is not worth stopping for.
    if (sized.code === 0) {
      const numbers = sized.stdout.split('\n').filter((line) => line.trim() !== '').map(Number);
      paths.forEach((path, index) => sizes.set(path, numbers[index] ?? 0));
    }
    return { paths, sizes };
  }

  /** Local `nix-store --export` streamed into the builder's `nix-store --import`. */
  private async copyToBuilder(client: Client, store: RemoteNixStore, paths: string[], user: string): Promise<{ bytes: number } | { failure: Failure }> {
    const remote = this.track(await startRemote(client, [...nixStoreCommand(store), '--import'], { onStderrLine: (line) => this.log(line) }));
    remote.channel.on('data', () => undefined);
    const local = this.track(startLocal('nix-store', ['--export', ...paths], { env: this.env, stdout: 'pipe', onStderrLine: (line) => this.log(line) }));
    const counter = new ByteCounter();
    local.stdout!.pipe(counter).pipe(remote.channel);
    const [localExit, remoteExit] = await Promise.all([
      local.done,
      // The builder refused (an untrusted user, a full disk): stop exporting into a closed channel.
      remote.done.then((exit) => {
        if (exit.code !== 0) void local.kill();
        return exit;
      }),
    ]);
    this.active.delete(remote);
    this.active.delete(local);
    if (this.aborted) return { failure: await this.cancelled() };
    if (remoteExit.code !== 0) return { failure: this.failRemote('copy-inputs', remoteExit, user) };
    if (localExit.code !== 0) return { failure: this.failLocal('copy-inputs', localExit) };
    return { bytes: counter.bytes };
  }

  /** The builder's `nix-store --export` streamed into the local `nix-store --import`. */
  private async copyBack(client: Client, store: RemoteNixStore, paths: string[], noise: Buffer, user: string): Promise<{ bytes: number } | { failure: Failure }> {
    const local = this.track(startLocal('nix-store', ['--import'], { env: this.env, stdin: 'pipe', stdout: 'collect', onStderrLine: (line) => this.log(line) }));
    const remote = this.track(await startRemote(client, [...nixStoreCommand(store), '--export'], { pathsOnStdin: paths, onStderrLine: (line) => this.log(line) }));
    const counter = new ByteCounter();
    remote.channel.pipe(new SkipPrefix(noise)).pipe(counter).pipe(local.stdin!);
    const [remoteExit, localExit] = await Promise.all([
      remote.done,
      // Our store refused (a signature, a full disk): the export would block on a full window.
      local.done.then((exit) => {
        if (exit.code !== 0) void remote.kill();
        return exit;
      }),
    ]);
    this.active.delete(remote);
    this.active.delete(local);
    if (this.aborted) return { failure: await this.cancelled() };
    if (remoteExit.code !== 0) return { failure: this.failRemote('copy-outputs', remoteExit, user) };
    if (localExit.code !== 0) {
      // A greeting we could not strip garbles the stream: say so rather than "bad archive".
      const garbled = noise.length > 0 && localExit.stderrTail.some((line) => /not a valid|bad archive|input doesn't look like/i.test(line));
      if (garbled) {
        return { failure: this.fail({ cause: 'remote-nix', message: `The login shell on ${this.o.machine.storeUri} prints text (${JSON.stringify(noise.toString('utf8').trim().slice(0, 80))}) that garbles the copy back. Make ~/.bashrc (or the shell's startup file) print nothing for non-interactive sessions.` }, localExit.stderrTail) };
      }
      return { failure: this.failLocal('copy-outputs', localExit) };
    }
    return { bytes: counter.bytes };
  }

  private track<T extends Killable>(process: T): T {
    this.active.add(process);
    if (this.aborted) {
      const kill = process.kill();
      this.killing = Promise.all([this.killing, kill]);
    }
    return process;
  }

  private signalOption(): { signal?: AbortSignal } {
    return this.o.signal === undefined ? {} : { signal: this.o.signal };
  }

  private log(line: string): void {
    this.recent.push(line);
    try {
      this.o.onLog?.(line);
    } catch {
      // A listener's failure is not the build's.
    }
  }

  private phase(phase: OffloadPhase, detail: string): void {
    try {
      this.o.onPhase?.(phase, detail);
    } catch {
      // A listener's failure is not the build's.
    }
  }

  /** Starts timing a phase; `onPhase` hears of it now when the detail is known, else later. */
  private begin(phase: OffloadPhase, detail?: string): void {
    this.current = { phase, started: Date.now() };
    if (detail !== undefined) this.phase(phase, detail);
  }

  private end(): void {
    if (this.current === undefined) return;
    this.phases.push({ phase: this.current.phase, ms: Date.now() - this.current.started });
    this.current = undefined;
  }

  private fail(classified: Classified, logTail: readonly string[] = []): Failure {
    this.end();
    const tail = [...logTail];
    while (tail.length > 0 && tail[tail.length - 1]!.trim() === '') tail.pop();
    return { ok: false, cause: classified.cause, message: classified.message, logTail: tail, phases: this.phases };
  }

  private failRemote(phase: OffloadPhase, exit: RemoteExit, user: string): Failure {
    return this.fail(
      classifyFailure({ side: 'builder', phase, builder: this.o.machine.storeUri, user, code: exit.code, signal: exit.signal, lost: exit.lost, stderrTail: exit.stderrTail, daemon: this.o.daemon === true }),
      exit.stderrTail,
    );
  }

  private failLocal(phase: OffloadPhase, exit: LocalExit): Failure {
    return this.fail(
      classifyFailure({ side: 'local', phase, builder: this.o.machine.storeUri, user: '', code: exit.code, signal: exit.signal, stderrTail: exit.error ? [exit.error] : exit.stderrTail, daemon: this.o.daemon === true }),
      exit.stderrTail,
    );
  }

  /** A short remote command that did not answer as it should; undefined when it did. */
  private remoteExecFailure(result: ExecResult, phase: OffloadPhase, user: string): Classified | undefined {
    const uri = this.o.machine.storeUri;
    if (result.error !== undefined) return { cause: 'connection', message: `Lost the connection to ${uri} while ${phase === 'copy-inputs' ? 'asking which inputs it lacks' : 'asking for the output closure'}: ${result.error}. Check the builder, then build again.` };
    if (result.timedOut) return { cause: 'connection', message: `${uri} did not answer within ${Math.round((this.o.useSubstitutes && phase === 'copy-inputs' ? substituteTimeoutMs : queryTimeoutMs) / 1000)} s. Check the builder's load and its Nix.` };
    if (result.code === 0) return undefined;
    return classifyFailure({ side: 'builder', phase, builder: uri, user, code: result.code, signal: result.signal, lost: result.code === null && result.signal === null, stderrTail: result.stderr.split('\n').slice(-25), daemon: this.o.daemon === true });
  }

  async cancelled(): Promise<Failure> {
    const phase = this.current?.phase;
    await this.killing;
    return this.fail({
      cause: 'cancelled',
      message: phase === undefined
        ? 'Cancelled before anything was sent to the builder.'
        : `Cancelled while ${phase === 'connect' ? 'connecting' : phase === 'copy-inputs' ? 'copying the inputs' : phase === 'build' ? 'building' : 'copying the outputs back'}: the commands on ${this.o.machine.storeUri} were stopped, and no path is left half-copied in either store.`,
    }, this.recent.get());
  }

  /**
   * An exception we did not turn into a value on the spot. Once connected, that is the SSH
   * connection failing under us (a channel that would not open); before, a local problem.
   */
  unexpected(error: unknown): Failure {
    if (this.lease !== undefined) {
      return this.fail({
        cause: 'connection',
        message: `Lost the connection to ${this.o.machine.storeUri}, or it refused another session (${messageOf(error)}). Check the builder (its sshd's MaxSessions), then build again.`,
      });
    }
    return this.fail({ cause: 'local-store', message: `The offload stopped before connecting: ${messageOf(error)}.` });
  }
}

/** Lines of a command's stdout that are store paths. */
function pathLines(stdout: string): string[] {
  return stdout.split('\n').map((line) => line.trim()).filter((line) => line !== '' && isStorePath(line));
}

/**
 * The builder's answer to QUERY_MISSING: the paths it lacks, and the text its login shell
 * printed first (a greeting in ~/.bashrc), which then also precedes its `--export` stream.
 */
export function readMissing(stdout: string, asked: ReadonlySet<string>): { missing: string[]; noise: Buffer } {
  const lines = stdout.split('\n');
  const missing: string[] = [];
  let noiseEnd: number | undefined;
  let offset = 0;
  for (const line of lines) {
    if (asked.has(line.trim())) {
      noiseEnd ??= offset;
      missing.push(line.trim());
    }
    offset += line.length + 1;
  }
  const noise = stdout.slice(0, noiseEnd ?? stdout.length);
  return { missing, noise: Buffer.from(noise, 'utf8') };
}

/** REQUISITES_WITH_SIZES's answer. */
function readPathsWithSizes(stdout: string): { paths: string[]; sizes: Map<string, number> } {
  const at = stdout.lastIndexOf('@@sizes\n');
  const paths = pathLines(at === -1 ? stdout : stdout.slice(0, at));
  const numbers = at === -1 ? [] : stdout.slice(at + '@@sizes\n'.length).split('\n').filter((line) => line.trim() !== '').map(Number);
  const sizes = new Map<string, number>();
  paths.forEach((path, index) => sizes.set(path, numbers[index] ?? 0));
  return { paths, sizes };
}

const count = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;
const nameOf = (storePath: string) => storePath.slice(storePath.lastIndexOf('/') + 34);
const messageOf = (error: unknown) => (error instanceof Error ? error.message : String(error)).split('\n')[0]!.slice(0, 300);
