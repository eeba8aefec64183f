// Building one derivation on one chosen builder over our own pooled SSH connection, the way
// Nix's build hook does it (one `nix-store --serve --write` on the builder, every remote step a
// command on it: serveSession.ts) but with the log live and every step measured:
//   connect       the pooled connection (host key verified by the connection layer, or nothing
//                 happens), while the .drv's closure is computed here; then the session (or
//                 the one kept open on that connection by the last offload);
//   copy-inputs   ask the builder which closure paths it lacks (and whether it has the outputs)
//                 in one round trip, then import only those there: .drv files written here,
//                 anything else as a local `nix-store --export`, streamed in;
//   build         BuildPaths of the .drv, the session's stderr streamed line by line as the
//                 log; then the outputs' runtime closure (QueryClosure);
//   copy-outputs  that closure minus what this store has, as path infos and NARs from the
//                 session, written as an export into our `nix-store --import` (started with
//                 the build).
// The session's program is remote-program (or the nix-store next to an ssh-ng:// daemon) with
// remote-store honoured (remoteNixStore.ts); each local command an argument list, no shell.
// The closure sent is the .drv's closure plus the outputs of its dependencies that this store
// already has (`--include-outputs`): the builder then builds only what nobody has built yet,
// and a chain of derivations goes over once. `nix-store --import` registers a path only once it
// has all of it, on either side, so a cancel or a dropped connection leaves nothing half-copied.
// Cancelling stops every command we started, on both sides (remoteProcess.ts explains how: the
// session's nix-store is started with its PID line), and a session stopped is never kept.
// A lost connection (it closed, its keepalives went unanswered, or its sshd stopped taking
// commands) ends the offload at once, whatever stage waits on it: every local command is killed
// with its process group, every channel let go, the connection discarded from the pool, and the
// result is `connection-lost`. No command of ours outlives the offload: a local `nix-store
// --import` left waiting on a dead stream holds the store's big-lock (and keeps a CLI alive).
// Never throws: every failure is a cause and a message in the user's words (offloadCauses.ts).
import { readFile } from 'node:fs/promises';
import { Readable } from 'node:stream';
import type { Machine } from '../model/machines';
import { traced, tracePhase } from '../context/timingTrace';
import { parseStoreUri } from '../model/storeUri';
import type { AskPassphrase } from '../ssh/keyring';
import { acquireMachine } from '../ssh/machineConnection';
import type { ConnectionPool, Lease } from '../ssh/pool';
import { assertStorePaths, isStorePath } from '../ssh/remoteCommand';
import { parseDerivation } from './derivation';
import { runLocal, startLocal, type LocalExit, type LocalProcess } from './localProcess';
import {
  classifyFailure,
  connectionLost,
  sshFailureCause,
  type Classified,
  type OffloadCause,
  type OffloadPhase,
} from './offloadCauses';
import { log } from '../context/log';
import { printable } from '../health/nixProtocol';
import type { RemoteExit } from './remoteProcess';
import { remoteNixStore, type RemoteNixStore } from './remoteNixStore';
import { derivationsExport } from './exportStream';
import {
  keepSession,
  openServeSession,
  ProtocolError,
  takeKeptSession,
  type ServeBuildOptions,
  type ServeSession,
} from './serveSession';
import { formatBytes, Tail } from './streamParts';

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
  /** The Nix followed here hands the URI's port to ssh as `-p` (2.31+, `rules.portInUri`). */
  portInUri?: boolean;
  /** builders-use-substitutes: the builder first fetches what it can from its own substituters. */
  useSubstitutes?: boolean;
  /** This machine's max-silent-time, timeout, max-build-log-size, keep-failed (buildSettings.ts). */
  buildOptions?: ServeBuildOptions;
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
      /** The outputs were in the local store already: nothing was built, no builder was needed. */
      alreadyHere: boolean;
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

/** An export of no paths: just the end marker (a zero 64-bit word), which imports nothing. */
const EMPTY_EXPORT = Buffer.alloc(8);

interface Killable {
  kill(): Promise<void>;
  /** A remote command whose connection is gone: let go of it without signalling anyone. */
  abandon?(): void;
}

export async function offload(options: OffloadOptions): Promise<OffloadResult> {
  const run = new Offload(options);
  try {
    // Whichever comes first: the stages' own end, or the connection going under them. Then the
    // stage in flight may still be waiting on a channel that will never speak again; what it
    // started is stopped (dispose) and whatever it says later is ignored.
    return await Promise.race([run.run().catch((error: unknown) => run.unexpected(error)), run.connectionGone]);
  } catch (error) {
    return run.unexpected(error);
  } finally {
    await run.dispose();
  }
}

class Offload {
  private readonly phases: PhaseTime[] = [];
  private current: { phase: OffloadPhase; started: number } | undefined;
  private readonly active = new Set<Killable>();
  private killing: Promise<unknown> | undefined;
  private lease: Lease | undefined;
  /** The builder's `nix-store --serve --write`, once open. */
  private session: ServeSession | undefined;
  /** The session was one kept from an earlier offload on this connection. */
  private sessionKept = false;
  /** The pooled connection refused a command and this offload took a new one. */
  private reconnected = false;
  /** What the builder did to the connection (`stopped answering (…)`), once it was lost. */
  private lostBecause: string | undefined;
  /** The connection cannot be used again (lost, or its sshd refused a command): discard it. */
  private broken = false;
  /** Returned (dispose ran): whatever starts or closes from now on is not this offload's news. */
  private finished = false;
  private stopWatching: () => void = () => undefined;
  private resolveGone: (failure: Failure) => void = () => undefined;
  /** Settles with `connection-lost` once the connection went and every command was stopped. */
  readonly connectionGone = new Promise<Failure>((resolve) => {
    this.resolveGone = resolve;
  });
  private readonly env: NodeJS.ProcessEnv;
  private readonly started = Date.now();
  /** The last log lines, whatever command they came from (for the tail of a cancelled build). */
  private readonly recent = new Tail(25);

  constructor(private readonly o: OffloadOptions) {
    this.env = o.env ?? process.env;
    o.signal?.addEventListener('abort', this.onAbort, { once: true });
  }

  private readonly onAbort = () => this.stopAll();

  private get aborted(): boolean {
    return this.o.signal?.aborted === true;
  }

  /** Stops every command still running: remote ones are abandoned once the connection is gone. */
  private stopAll(): void {
    const stopping = [...this.active].map((process) => this.stop(process));
    this.killing = Promise.all([this.killing, ...stopping]);
  }

  private stop(process: Killable): Promise<void> {
    this.active.delete(process);
    if (this.lostBecause !== undefined && process.abandon !== undefined) {
      process.abandon();
      return Promise.resolve();
    }
    return process.kill();
  }

  /** The connection closed under us: stop everything, then answer connection-lost. */
  private readonly onConnectionClosed = (lostBecause: string | undefined) => {
    if (this.finished || this.lostBecause !== undefined) return;
    this.lostBecause = lostBecause ?? 'was closed on this side';
    this.broken = true;
    const phase = this.current?.phase ?? 'connect';
    this.stopAll();
    void Promise.resolve(this.killing).then(() =>
      this.resolveGone(this.fail(connectionLost(this.o.machine.storeUri, phase, this.lostBecause), this.recent.get())),
    );
  };

  /**
   * Ends the offload: whatever still runs stops and is waited for (a command a failed stage
   * left behind, one started late after a loss): a live child of ours would keep the store's
   * lock and the process. Then the connection goes back to the pool, or is discarded if broken.
   */
  async dispose(): Promise<void> {
    this.o.signal?.removeEventListener('abort', this.onAbort);
    this.stopAll();
    await this.killing;
    this.finished = true;
    this.stopWatching();
    if (this.broken) this.lease?.discard();
    else this.lease?.release();
    this.lease = undefined;
  }

  async run(): Promise<OffloadResult> {
    const { machine, drvPath } = this.o;
    const uri = machine.storeUri;
    if (!drvPath.endsWith('.drv') || !isStorePath(drvPath)) {
      return this.fail({
        cause: 'local-store',
        message: `'${drvPath}' is not a store derivation (/nix/store/…​.drv). Instantiate the expression first (nix-instantiate).`,
      });
    }
    const scheme = parseStoreUri(uri).scheme;
    if (scheme !== 'ssh' && scheme !== 'ssh-ng') {
      return this.fail({
        cause: 'connection',
        message: `${uri} is not an SSH builder (ssh:// or ssh-ng://), so there is nothing to offload to. Use Distributed mode for other stores.`,
      });
    }
    if (this.aborted) return this.cancelled();

    let outputs: { name: string; path: string }[];
    try {
      outputs = parseDerivation(await readFile(drvPath, 'utf8')).outputs;
    } catch (error) {
      return this.fail({
        cause: 'local-store',
        message: `Cannot read the derivation ${drvPath}: ${messageOf(error)}. Instantiate it again (nix-instantiate) and retry.`,
      });
    }
    if (outputs.length === 0 || outputs.some((output) => output.path === '')) {
      return this.fail({
        cause: 'local-store',
        message: `${drvPath} has outputs whose paths are only known after the build (content-addressed). Offload cannot copy those yet; use Distributed mode.`,
      });
    }
    const outputPaths = outputs.map((output) => output.path);
    assertStorePaths(outputPaths);

    // Phase: connect, with the local closure computed meanwhile.
    this.begin('connect', uri);
    const [leased, closure] = await Promise.all([
      acquireMachine(this.o.pool, machine, this.connectOptions()),
      this.localClosure(drvPath, new Set(outputPaths)),
    ]);
    if (leased.ok) {
      this.lease = leased.lease;
      this.stopWatching = leased.lease.connection.onClose(this.onConnectionClosed);
    }
    if (this.aborted) return this.cancelled();
    // Nix builds nothing when the outputs are already here, whatever the builder's state.
    if (!('failed' in closure) && closure.built) {
      this.end();
      this.log(`${outputPaths.join(', ')} already in the local store: nothing to build.`);
      return {
        ok: true,
        outputs,
        alreadyHere: true,
        copiedToBuilder: 0,
        copiedBack: 0,
        bytesToBuilder: 0,
        bytesBack: 0,
        phases: this.phases,
        ms: Date.now() - this.started,
      };
    }
    if (!leased.ok) return this.fail(sshFailureCause(leased.failure, uri));
    if ('failed' in closure) return this.failLocal('copy-inputs', closure.failed);
    this.end();

    const user = leased.lease.connection.host.user;
    const store = remoteNixStore(uri);

    // Phase: copy-inputs. One `nix-store --serve --write` for every remote step from here on.
    this.begin('copy-inputs');
    const opened = await traced('serve session', () => this.openSession(store, user, true));
    if ('failure' in opened) return opened.failure;
    // Two questions in one round trip: which inputs it lacks (substituting first with
    // builders-use-substitutes, as Nix's copyPaths asks), and whether it has the outputs (only
    // for the log: it then builds nothing).
    const timeoutMs = this.o.useSubstitutes ? substituteTimeoutMs : queryTimeoutMs;
    const questions = (on: ServeSession) =>
      traced('closure query (builder)', async () => {
        const [inputs, outputsThere] = await Promise.all([
          on.queryValidPaths(closure.paths, this.o.useSubstitutes === true, timeoutMs),
          on.queryValidPaths(outputPaths, false, timeoutMs),
        ]);
        return { inputs, outputs: outputsThere };
      });
    let session = opened;
    let valid: { answer: { inputs: string[]; outputs: string[] } } | { failure: Failure };
    try {
      valid = { answer: await questions(session) };
    } catch (error) {
      if (!this.sessionKept || this.aborted || this.lostBecause !== undefined) {
        valid = { failure: await this.sessionFailure(session, 'copy-inputs', user, error) };
      } else {
        // The kept session ended while it waited (nothing was sent on it): a new one, as if
        // none had been kept. Never the user's error.
        this.active.delete(session.process);
        void session.process.kill();
        const fresh = await this.openSession(store, user, false);
        if ('failure' in fresh) return fresh.failure;
        session = fresh;
        valid = await this.ask('copy-inputs', user, () => questions(fresh));
      }
    }
    if ('failure' in valid) return valid.failure;
    const has = new Set(valid.answer.inputs);
    const missing = closure.paths.filter((path) => !has.has(path));
    // Store derivations (what an edit usually leaves to send) are written here from their files
    // (exportStream.ts); unreadable here (a store elsewhere than its paths say), or anything
    // else, goes through a local `nix-store --export`.
    const written = missing.every((path) => path.endsWith('.drv'))
      ? await derivationsExport(missing).catch(() => undefined)
      : undefined;
    if (missing.length === 0) this.phase('copy-inputs', `0 paths: ${uri} has the whole closure`);
    else {
      const planned = written?.length ?? (await this.narSizes(missing));
      this.phase('copy-inputs', `${count(missing.length, 'path')}, ${formatBytes(planned)}`);
    }
    const sent =
      missing.length === 0
        ? { bytes: 0 }
        : await traced('copy in', () => this.copyToBuilder(session, missing, written, user));
    if ('failure' in sent) return sent.failure;
    this.end();

    // Phase: build. All the derivation's outputs, with this machine's build options, as Nix's
    // hook sends them (the builder never substitutes here: opServe turns substitution off).
    this.begin('build', `${nameOf(drvPath)} on ${uri}`);
    // The builder's nix-store --serve builds at verbosity "error" (opServe's getBuildSettings):
    // its log is the build's own output. The line Nix's client prints for a hook build starts it.
    if (valid.answer.outputs.length < outputPaths.length) this.log(`building '${drvPath}' on '${uri}'...`);
    // Our import starts now, so its start-up is not waited for after the build. It registers
    // nothing until a whole path has come, and is stopped like any command of ours otherwise.
    const localImport = this.track(
      startLocal('nix-store', ['--import'], {
        env: this.env,
        stdin: 'pipe',
        stdout: 'collect',
        onStderrLine: (line) => this.log(line),
      }),
    );
    const built = await this.ask('build', user, () =>
      traced('remote build', () => session.buildPaths([drvPath], this.o.buildOptions)),
    );
    if ('failure' in built) return built.failure;
    if (built.answer.status !== 0) {
      // The message is Nix's error as its terminal shows it: colours off, `error:` in front.
      const said = withoutColours(built.answer.message)
        .split('\n')
        .map((line, index) => (index === 0 && !/^\s*error:/.test(line) ? `error: ${line}` : line));
      const tail = [...this.recent.get(), ...said];
      this.finishSession(session, store);
      return this.fail(
        classifyFailure({
          side: 'builder',
          phase: 'build',
          builder: uri,
          user,
          code: built.answer.status,
          signal: null,
          stderrTail: tail,
          daemon: this.o.daemon === true,
        }),
        tail,
      );
    }
    const runtime = await this.ask('build', user, () => session.queryClosure(outputPaths, queryTimeoutMs));
    if ('failure' in runtime) return runtime.failure;
    assertStorePaths(runtime.answer);
    this.end();

    // Phase: copy-outputs. Which of them this store lacks is known without asking it again: an
    // output's runtime closure lies within the derivation's own outputs and the inputs' closure,
    // and `closure.here` is every path of that closure this store had (their outputs included).
    // A path it gained since is imported again, which Nix skips; one it lost since fails the
    // import, as it would have after the question too. Our import is already running.
    this.begin('copy-outputs');
    const lacking = [...new Set(runtime.answer)].filter((path) => !closure.here.has(path));
    this.phase('copy-outputs', lacking.length > 0 ? count(lacking.length, 'path') : '0 paths: this store has them');
    const brought = await this.copyBack(session, localImport, lacking, user);
    if ('failure' in brought) return brought.failure;
    // Every output is either one this store had or one the import just registered.
    const arrived = new Set(pathLines(brought.imported));
    const absent = outputPaths.filter((path) => lacking.includes(path) && !arrived.has(path));
    if (absent.length > 0) {
      return this.fail({
        cause: 'local-store',
        message: `The build succeeded on ${uri}, but ${absent.join(', ')} did not arrive in the local store. Build again; if it persists, check the local store (nix-store --verify).`,
      });
    }
    this.end();
    this.finishSession(session, store);
    return {
      ok: true,
      outputs,
      alreadyHere: false,
      copiedToBuilder: missing.length,
      copiedBack: lacking.length,
      bytesToBuilder: sent.bytes,
      bytesBack: brought.bytes,
      phases: this.phases,
      ms: Date.now() - this.started,
    };
  }

  /**
   * The .drv's closure plus the outputs this store has of its dependencies (`paths`; `here` with
   * the derivation's own outputs that are here too), whether
   * the derivation's own outputs are all here already (`built`).
   */
  private async localClosure(
    drvPath: string,
    ownOutputs: Set<string>,
  ): Promise<{ paths: string[]; here: Set<string>; built: boolean } | { failed: LocalExit }> {
    const requisites = await traced('closure query (local)', () =>
      runLocal('nix-store', ['--query', '--requisites', '--include-outputs', drvPath], {
        env: this.env,
        ...this.signalOption(),
      }),
    );
    if (requisites.code !== 0) return { failed: requisites };
    const all = pathLines(requisites.stdout);
    // --include-outputs lists the derivation's own outputs when they are valid here.
    const built = [...ownOutputs].every((path) => all.includes(path));
    const paths = all.filter((path) => !ownOutputs.has(path));
    assertStorePaths(paths);
    return { paths, here: new Set(all), built };
  }

  /**
   * The builder's `nix-store --serve --write`, greeted. A login shell's greeting before it is
   * skipped (and said in the log); a program that ended says why in its exit and stderr.
   */
  private async openSession(
    store: RemoteNixStore,
    user: string,
    takeKept: boolean,
  ): Promise<ServeSession | { failure: Failure }> {
    const uri = this.o.machine.storeUri;
    const connection = this.lease!.connection;
    const key = sessionKey(store);
    const kept = takeKept && this.reusable ? takeKeptSession(connection, key) : undefined;
    this.sessionKept = kept !== undefined;
    if (kept !== undefined) {
      kept.onLog = (line) => this.log(line);
      this.session = kept;
      this.track(kept.process);
      return kept;
    }
    let opened: Awaited<ReturnType<typeof openServeSession>>;
    try {
      opened = await openServeSession(connection.client, store, {
        timeoutMs: queryTimeoutMs,
        onLog: (line) => this.log(line),
      });
    } catch (error) {
      // A pooled connection whose sshd no longer starts commands (its session half gone, as
      // after its monitor was killed): nothing was sent on it, so a new connection, once.
      if (!this.lease!.reused || this.reconnected || this.aborted || this.lostBecause !== undefined) throw error;
      this.reconnected = true;
      const again = await this.reconnect();
      if (again !== undefined) return { failure: again };
      return this.openSession(store, user, false);
    }
    if (opened.ok) {
      this.session = opened.session;
      this.track(opened.session.process);
      if (opened.session.noise.length > 0)
        log.info(
          `${uri}: its login shell printed ${JSON.stringify(printable(opened.session.noise).slice(0, 80))} before nix-store --serve greeted (skipped; real Nix fails with "protocol mismatch" there)`,
        );
      return opened.session;
    }
    if (this.aborted) return { failure: await this.cancelled() };
    if (opened.exit !== undefined) return { failure: this.failRemote('copy-inputs', opened.exit, user) };
    if (opened.error.reason === 'timeout') return { failure: this.fail(notAnswering(uri, queryTimeoutMs)) };
    return {
      failure: this.fail({
        cause: 'remote-nix',
        message: `'nix-store --serve' protocol mismatch from ${uri}${opened.got ? `, got '${opened.got.slice(0, 80)}'` : ''} (${opened.error.message}). Make the login shell print nothing for non-interactive sessions (~/.bashrc), and check remote-program.`,
      }),
    };
  }

  /**
   * One command on the session. The program ending under it (an untrusted user's import
   * refused, a store that cannot open) is the builder's failure in its own words; an answer in
   * time that does not parse, or none in time, leaves the session unusable: it is stopped.
   */
  private async ask<T>(
    phase: OffloadPhase,
    user: string,
    command: () => Promise<T>,
  ): Promise<{ answer: T } | { failure: Failure }> {
    const session = this.session!;
    try {
      return { answer: await command() };
    } catch (error) {
      return { failure: await this.sessionFailure(session, phase, user, error) };
    }
  }

  private async sessionFailure(
    session: ServeSession,
    phase: OffloadPhase,
    user: string,
    error: unknown,
  ): Promise<Failure> {
    const uri = this.o.machine.storeUri;
    const reason = error instanceof ProtocolError ? error.reason : 'mismatch';
    if (reason !== 'closed') {
      this.active.delete(session.process);
      await session.process.kill();
    }
    if (this.aborted) return this.cancelled();
    const exit = await session.process.done;
    this.active.delete(session.process);
    if (reason === 'closed') return this.failRemote(phase, { ...exit, stderrTail: session.stderrTail }, user);
    if (reason === 'timeout')
      return this.fail(
        notAnswering(uri, this.o.useSubstitutes && phase === 'copy-inputs' ? substituteTimeoutMs : queryTimeoutMs),
      );
    return this.fail(
      {
        cause: 'remote-nix',
        message: `nix-store --serve on ${uri} answered what we cannot read while ${phase === 'build' ? 'building' : phase === 'copy-inputs' ? 'copying the inputs' : 'copying the outputs back'} (${messageOf(error)}). Check Nix on the builder.`,
      },
      exit.stderrTail,
    );
  }

  /**
   * The offload is done with the session, which is in step (every reply read): kept for the
   * next offload on this connection, or its input ends and the program with it. Not kept with
   * builders-use-substitutes: opServe turns substitution off for good at its first build.
   */
  private finishSession(session: ServeSession, store: RemoteNixStore): void {
    this.active.delete(session.process);
    if (this.reusable && this.lease !== undefined && !this.broken)
      keepSession(this.lease.connection, sessionKey(store), session);
    else session.close();
  }

  private get reusable(): boolean {
    return this.o.useSubstitutes !== true;
  }

  /** Lets go of the connection (it refused a command) and leases a new one. */
  private async reconnect(): Promise<Failure | undefined> {
    this.stopWatching();
    this.lease?.discard();
    this.lease = undefined;
    const leased = await acquireMachine(this.o.pool, this.o.machine, this.connectOptions());
    if (!leased.ok) return this.fail(sshFailureCause(leased.failure, this.o.machine.storeUri));
    this.lease = leased.lease;
    this.stopWatching = leased.lease.connection.onClose(this.onConnectionClosed);
    return undefined;
  }

  private connectOptions(): Parameters<typeof acquireMachine>[2] {
    return {
      env: this.env,
      ...(this.o.sshConfigFile === undefined ? {} : { sshConfigFile: this.o.sshConfigFile }),
      ...(this.o.askPassphrase === undefined ? {} : { askPassphrase: this.o.askPassphrase }),
      ...(this.o.portInUri ? { portInUri: true } : {}),
      ...this.signalOption(),
    };
  }

  /** The NAR sizes of paths in this store, summed (for the progress detail only: 0 if unknown). */
  private async narSizes(paths: string[]): Promise<number> {
    const sized = await runLocal('nix-store', ['--query', '--size', ...paths], { env: this.env });
    if (sized.code !== 0) return 0;
    return sized.stdout
      .split('\n')
      .filter((line) => line.trim() !== '')
      .reduce((sum, line) => sum + Number(line), 0);
  }

  /**
   * The paths into the session's import: the export `written` here, or a local `nix-store
   * --export` streamed in.
   */
  private async copyToBuilder(
    session: ServeSession,
    paths: string[],
    written: Buffer | undefined,
    user: string,
  ): Promise<{ bytes: number } | { failure: Failure }> {
    if (written !== undefined) {
      const imported = await this.ask('copy-inputs', user, () => session.importPaths(Readable.from([written])));
      if (this.aborted) return 'failure' in imported ? imported : { failure: await this.cancelled() };
      return 'failure' in imported ? imported : { bytes: imported.answer };
    }
    const local = this.track(
      startLocal('nix-store', ['--export', ...paths], {
        env: this.env,
        stdout: 'pipe',
        onStderrLine: (line) => this.log(line),
      }),
    );
    // The export failing here leaves the builder waiting inside an import: stop the session.
    const localFailed = local.done.then((exit) => (exit.code === 0 ? undefined : exit));
    void localFailed.then((exit) => {
      if (exit !== undefined) void session.process.kill();
    });
    const imported = await this.ask('copy-inputs', user, () => session.importPaths(local.stdout!));
    const localExit = await local.done;
    this.active.delete(local);
    if (this.aborted) return 'failure' in imported ? imported : { failure: await this.cancelled() };
    if (localExit.code !== 0) {
      this.active.delete(session.process);
      await session.process.kill();
      return { failure: this.failLocal('copy-inputs', localExit) };
    }
    if ('failure' in imported) return imported;
    return { bytes: imported.answer };
  }

  /**
   * The paths from the session into the local `nix-store --import`. Returns what the import
   * registered (its stdout).
   */
  private async copyBack(
    session: ServeSession,
    local: LocalProcess,
    paths: string[],
    user: string,
  ): Promise<{ bytes: number; imported: string } | { failure: Failure }> {
    if (paths.length === 0) {
      local.stdin!.end(EMPTY_EXPORT);
      const exit = await local.done;
      this.active.delete(local);
      if (this.aborted) return { failure: await this.cancelled() };
      if (exit.code !== 0) return { failure: this.failLocal('copy-outputs', exit) };
      return { bytes: 0, imported: exit.stdout };
    }
    const copyTraced = tracePhase('copy out');
    // Our store refusing (a signature, a full disk) leaves NARs on their way: stop the session.
    void local.done.then((exit) => {
      if (exit.code !== 0) void session.process.kill();
    });
    const exported = await this.ask('copy-outputs', user, () =>
      session.exportPaths(paths, local.stdin!, queryTimeoutMs),
    );
    copyTraced();
    if ('failure' in exported) {
      void local.kill();
      const localExit = await local.done;
      this.active.delete(local);
      if (this.aborted) return exported;
      // Our import refused first: that is the news, not the session it then stopped.
      if (localExit.code !== 0 && localExit.signal === null)
        return { failure: this.failLocal('copy-outputs', localExit) };
      return exported;
    }
    local.stdin!.end();
    const localExit = await traced('import', () => local.done);
    this.active.delete(local);
    if (this.aborted) return { failure: await this.cancelled() };
    if (localExit.code !== 0) {
      this.active.delete(session.process);
      await session.process.kill();
      return { failure: this.failLocal('copy-outputs', localExit) };
    }
    return { bytes: exported.answer, imported: localExit.stdout };
  }

  private track<T extends Killable>(process: T): T {
    this.active.add(process);
    // Started after a cancel, a lost connection or the end (a stage that did not know yet).
    if (this.aborted || this.lostBecause !== undefined || this.finished)
      this.killing = Promise.all([this.killing, this.stop(process)]);
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
    if (exit.lost) this.broken = true;
    return this.fail(
      classifyFailure({
        side: 'builder',
        phase,
        builder: this.o.machine.storeUri,
        user,
        code: exit.code,
        signal: exit.signal,
        lost: exit.lost,
        lostBecause: this.lostBecause ?? this.lease?.connection.lostBecause,
        stderrTail: exit.stderrTail,
        daemon: this.o.daemon === true,
      }),
      exit.stderrTail,
    );
  }

  private failLocal(phase: OffloadPhase, exit: LocalExit): Failure {
    return this.fail(
      classifyFailure({
        side: 'local',
        phase,
        builder: this.o.machine.storeUri,
        user: '',
        code: exit.code,
        signal: exit.signal,
        stderrTail: exit.error ? [exit.error] : exit.stderrTail,
        daemon: this.o.daemon === true,
      }),
      exit.stderrTail,
    );
  }

  async cancelled(): Promise<Failure> {
    const phase = this.current?.phase;
    await this.killing;
    return this.fail(
      {
        cause: 'cancelled',
        message:
          phase === undefined
            ? 'Cancelled before anything was sent to the builder.'
            : `Cancelled while ${phase === 'connect' ? 'connecting' : phase === 'copy-inputs' ? 'copying the inputs' : phase === 'build' ? 'building' : 'copying the outputs back'}: the commands on ${this.o.machine.storeUri} were stopped, and no path is left half-copied in either store.`,
      },
      this.recent.get(),
    );
  }

  /**
   * An exception we did not turn into a value on the spot. Once connected, that is the SSH
   * connection failing under us: a channel that would not open ("Unable to exec" once the
   * builder's sshd session lost its monitor, "No response from server", "Not connected"), so
   * the connection is discarded. Before, a local problem.
   */
  unexpected(error: unknown): Failure {
    if (this.lease !== undefined) {
      this.broken = true;
      const why =
        this.lostBecause ??
        this.lease.connection.lostBecause ??
        `refused to start another command on our connection (${messageOf(error)}; its sshd session may be gone, or its MaxSessions reached)`;
      return this.fail(
        connectionLost(this.o.machine.storeUri, this.current?.phase ?? 'connect', why),
        this.recent.get(),
      );
    }
    return this.fail({ cause: 'local-store', message: `The offload stopped before connecting: ${messageOf(error)}.` });
  }
}

/** Lines of a command's stdout that are store paths. */
function pathLines(stdout: string): string[] {
  return stdout
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && isStorePath(line));
}

/** Which kept session fits: the same nix-store command (remote-program, remote-store). */
const sessionKey = (store: RemoteNixStore) => JSON.stringify([store.program, ...store.storeArgs]);
/** Nix's colours (SGR escapes), which its messages carry over the protocol. */
const withoutColours = (text: string) => text.replace(/\x1b\[[0-9;]*m/g, '');
/** A builder that let a question's time run out. */
const notAnswering = (uri: string, timeoutMs: number): Classified => ({
  cause: 'connection',
  message: `${uri} did not answer within ${Math.round(timeoutMs / 1000)} s. Check the builder's load and its Nix.`,
});

const count = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;
const nameOf = (storePath: string) => storePath.slice(storePath.lastIndexOf('/') + 34);
const messageOf = (error: unknown) =>
  (error instanceof Error ? error.message : String(error)).split('\n')[0]!.slice(0, 300);
