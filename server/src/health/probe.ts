// The staged health probe of one builder: resolve → tcp → handshake (and host key) → auth →
// the remote program run as Nix runs it → shell noise → store access and trust → facts, then
// cross-checks of the facts against the machines line. Each stage has its own timeout and its
// measured time; a failed stage ends the probe with a finding that names the cause and the fix.
// Results stream as events; `probeMachines` runs many probes at once, so a silent host costs
// its own timeouts and never delays the others.
import { homedir } from 'node:os';
import type { Client, ClientChannel } from 'ssh2';
import { log } from '../context/log';
import type { Machine } from '../model/machines';
import { expandTilde } from '../model/identityFile';
import { shellCodeInStoreSettings } from '../model/remoteShellSettings';
import { parseStoreUri } from '../model/storeUri';
import type { Connection, ConnectStageReport } from '../ssh/connect';
import type { SshFailure } from '../ssh/failure';
import type { HostKeyPolicy, HostKeyVerdict } from '../ssh/hostKeyCheck';
import { fingerprintCommand, type RecordedKey } from '../ssh/hostKeyChanged';
import type { AskPassphrase } from '../ssh/keyring';
import {
  connectResolved,
  resolveMachine,
  resolveOptionsFor,
  sshDestination,
  type MachineConnectOptions,
} from '../ssh/machineConnection';
import { poolKey, type ConnectionPool } from '../ssh/pool';
import { exec, openCommand, type ExecOptions } from '../ssh/remoteCommand';
import type { ResolvedHost } from '../ssh/sshConfig';
import { ConnectSlots, sshdOf } from './connectSlots';
import { daemonConnectionFindings, daemonKeyFindings } from './daemonContext';
import type { FindingAction, HealthFacts, HealthStage, HealthStageName } from '../protocol';
import {
  copyCommand,
  makeFinding,
  trustUserCommand,
  type Finding,
  type FindingCode,
  type FindingContext,
} from './findings';
import { serveGreeting, workerGreeting, type ProtocolFailure, type WorkerGreeting } from './nixProtocol';
import { daemonProgramBeside, FACTS_SCRIPT, nixProgramBeside, parseFacts } from './remoteFacts';

const PROBE_STAGES = [
  'resolve',
  'tcp',
  'handshake',
  'auth',
  'remote-program',
  'shell-noise',
  'store',
  'facts',
] as const satisfies readonly HealthStageName[];
export type ProbeStageName = (typeof PROBE_STAGES)[number];

/** The stage and the facts are sent to the client as they are: their types are the protocol's. */
export type ProbeStage = HealthStage;
export type ProbeFacts = HealthFacts;

export type ProbeStatus = 'up' | 'degraded' | 'down';

export interface ProbeResult {
  uri: string;
  status: ProbeStatus;
  findings: Finding[];
  stages: ProbeStage[];
  facts: ProbeFacts;
  /** Total time of the probe. */
  ms: number;
}

export type ProbeEvent =
  | { kind: 'stage'; stage: ProbeStage }
  | { kind: 'finding'; finding: Finding }
  | { kind: 'result'; result: ProbeResult };

/** What the probe needs of a machine (a model `Machine` fits). */
export type ProbeMachine = Pick<Machine, 'storeUri' | 'sshKey' | 'publicHostKey'> &
  Partial<Pick<Machine, 'systems' | 'supportedFeatures' | 'mandatoryFeatures' | 'file' | 'rowSpan'>> & {
    configuredSsh?: ConfiguredProbeSsh;
  };

/**
 * The ssh settings of the configuration that declares a machine (its `programs.ssh`), which the
 * daemon's ssh reads after a rebuild: checked through them instead of the user's own config,
 * read without running ssh (its `Match exec` would run the workspace's commands).
 */
export interface ConfiguredProbeSsh {
  configFile: string;
  /** Known hosts files of the configuration and how the findings name them. */
  knownHostsNamed: ReadonlyMap<string, string>;
  /** Where the settings came from, for the log. */
  via: string;
}

export interface ProbeOptions {
  /** Timeout of each stage in ms (default 10 000). */
  timeoutMs?: number;
  /** Per-stage overrides. */
  stageTimeouts?: Partial<Record<ProbeStageName, number>>;
  /** Environment to read NIX_SSHOPTS, SSH_AUTH_SOCK and HOME from (default process.env). */
  env?: NodeJS.ProcessEnv;
  /** An ssh config file used like `ssh -F` (a -F in NIX_SSHOPTS wins). */
  sshConfigFile?: string;
  /** The ssh binary for `ssh -G` (default `ssh`); null reads the config files without ssh. */
  sshBinary?: string | null;
  /** Local builds go through a nix-daemon, which connects as root. */
  daemon?: boolean;
  /** The Nix followed here hands the URI's port to ssh as `-p` (2.31+, `rules.portInUri`). */
  portInUri?: boolean;
  /** Asked for the passphrase of an encrypted key the builder accepts. Cache it per session. */
  askPassphrase?: AskPassphrase;
  /** How long the passphrase prompt may stay unanswered (default 60 s); not the auth stage's time. */
  passphraseTimeoutMs?: number;
  /** Free space under /nix/store below which `low-disk` is reported (default 1 GiB). */
  lowDiskBytes?: number;
  /** Hand the probe's connection to this pool instead of closing it. */
  pool?: ConnectionPool;
  signal?: AbortSignal;
  /** Whether this process is root (default: asks the OS). For tests of the daemon context. */
  runningAsRoot?: boolean;
  /** Counts TCP connections (tests). */
  onTcpConnect?: (host: string, port: number) => void;
  /** How many machines `probeMachines` probes at once (default 32). */
  concurrency?: number;
  /** How many of them log in to one sshd at once (default 8, below sshd's MaxStartups: connectSlots.ts). */
  loginsPerSshd?: number;
  /** The login slots probes share: `probeMachines` makes a set when none is given; the health service keeps one per session. */
  connectSlots?: ConnectSlots;
  /**
   * Only what Nix does to open the store (`nix store ping`/`nix store info`): resolve, tcp,
   * handshake, auth and the one greeting of its protocol, nothing after (benches compare like
   * with like).
   */
  storeOpenOnly?: boolean;
}

const defaultStageTimeoutMs = 10_000;
const defaultLowDiskBytes = 1024 ** 3;

function statusOf(findings: readonly Finding[]): ProbeStatus {
  if (findings.some((finding) => finding.severity === 'error')) return 'down';
  if (findings.some((finding) => finding.severity === 'warning')) return 'degraded';
  return 'up';
}

const sshFailureCodes = new Set<FindingCode>([
  'invalid-host',
  'ssh-config-error',
  'dns-failed',
  'connection-refused',
  'host-unreachable',
  'connect-timeout',
  'banner-timeout',
  'handshake-failed',
  'host-key-mismatch',
  'host-key-revoked',
  'host-key-unknown',
  'auth-failed',
  'key-encrypted',
  'key-unreadable',
  'proxy-jump-failed',
  'proxy-command-unsupported',
  'connection-lost',
]);

/** Codes whose message starts from the ssh layer's own cause sentence. */
const codesWithCause = new Set<FindingCode>([
  'auth-failed',
  'key-unreadable',
  'invalid-host',
  'dns-failed',
  'host-unreachable',
  'handshake-failed',
  'connection-lost',
  'ssh-config-error',
  'proxy-command-unsupported',
]);

const versionIn = (text: string) => /\(Nix\)\s+(\S+)/.exec(text)?.[1];
const notFound = (code: number | null, stderr: string) =>
  code === 127 || /command not found|No such file or directory|not found/i.test(stderr);
/** A store path no store has: `nix-store --check-validity --print-invalid` on it only opens the store. */
const UNLIKELY_STORE_PATH = '/nix/store/00000000000000000000000000000000-nixrb-probe';
/** The `nix-store` program next to a remote-program given as a path (else from PATH). */
const storeProgramBeside = (remoteProgram: string) =>
  `${remoteProgram.slice(0, remoteProgram.lastIndexOf('/') + 1)}nix-store`;
const daemonDown = (stderr: string) => /cannot connect to socket at|daemon-socket\/socket/.test(stderr);

/** What the store stage learnt: the greeting of the daemon protocol, and whether all was well. */
interface StoreAnswers {
  worker: WorkerGreeting;
  ok: boolean;
}

/**
 * The probe of one machine, one method per stage (like the offload): each stage reads what the
 * stages before it learnt from the fields, adds its stage and findings, and says whether the
 * probe goes on. Events go to `emit` as they happen.
 */
class Probe {
  private readonly started = Date.now();
  private readonly findings: Finding[] = [];
  private readonly stages: ProbeStage[] = [];
  private readonly facts: ProbeFacts = {};
  private readonly env: NodeJS.ProcessEnv;
  private readonly home: string;
  private readonly runningAsRoot: boolean;
  private readonly uri: ReturnType<typeof parseStoreUri>;
  private readonly protocol: 'ssh' | 'ssh-ng';
  /** What every finding may mention; the resolve stage adds the user, host name and port. */
  private readonly context: FindingContext;
  private readonly openLine: FindingAction;
  private readonly connectOptions: MachineConnectOptions;
  // Learnt by the stages, in order.
  private resolved: ResolvedHost | undefined;
  private policy: HostKeyPolicy | undefined;
  private pinAction: FindingAction | undefined;
  /** The user typed a passphrase for a key during this probe. */
  private passphraseGiven = false;
  /** What the login shell prints for a command that prints nothing (undefined: nothing). */
  private noise: Buffer | undefined;

  constructor(
    private readonly machine: ProbeMachine,
    private readonly options: ProbeOptions,
    private readonly emit: (event: ProbeEvent) => void,
  ) {
    this.env = options.env ?? process.env;
    this.home = this.env.HOME ?? homedir();
    this.runningAsRoot = options.runningAsRoot ?? process.getuid?.() === 0;
    this.uri = parseStoreUri(machine.storeUri);
    this.protocol = this.uri.scheme === 'ssh-ng' ? 'ssh-ng' : 'ssh';
    this.context = {
      uri: machine.storeUri,
      alias: this.uri.host,
      protocol: this.protocol,
      daemon: options.daemon === true,
      ...(this.uri.user ? { user: this.uri.user } : {}),
    };
    this.openLine = { kind: 'open-line', title: 'Open the machines line', file: machine.file, span: machine.rowSpan };
    const ask = options.askPassphrase;
    this.connectOptions = {
      env: this.env,
      resolveTimeoutMs: this.timeout('resolve'),
      timeouts: { tcp: this.timeout('tcp'), handshake: this.timeout('handshake'), auth: this.timeout('auth') },
      ...(machine.configuredSsh
        ? { sshConfigFile: machine.configuredSsh.configFile, sshBinary: null }
        : {
            ...(options.sshConfigFile === undefined ? {} : { sshConfigFile: options.sshConfigFile }),
            ...(options.sshBinary === undefined ? {} : { sshBinary: options.sshBinary }),
          }),
      ...(options.portInUri ? { portInUri: true } : {}),
      ...(ask === undefined
        ? {}
        : {
            askPassphrase: async (file: string, signal?: AbortSignal) => {
              log.info(`${machine.storeUri}: asking for the passphrase of ${file}`);
              const answer = await ask(file, signal);
              log.info(
                `${machine.storeUri}: the passphrase of ${file} was ${answer === undefined ? 'not given' : 'given'}`,
              );
              if (answer !== undefined) this.passphraseGiven = true;
              return answer;
            },
          }),
      ...(options.passphraseTimeoutMs === undefined ? {} : { passphraseTimeoutMs: options.passphraseTimeoutMs }),
      ...(options.signal === undefined ? {} : { signal: options.signal }),
      ...(options.onTcpConnect === undefined ? {} : { onTcpConnect: options.onTcpConnect }),
      onStage: (stage: ConnectStageReport) => this.addStage(stage.name, stage.ms, stage.ok),
    };
  }

  async run(): Promise<ProbeResult> {
    log.info(
      `Checking ${this.machine.storeUri}${
        this.machine.configuredSsh
          ? ` (${this.machine.configuredSsh.via}: ssh config ${this.machine.configuredSsh.configFile})`
          : this.options.sshConfigFile
            ? ` (ssh config ${this.options.sshConfigFile})`
            : ''
      }`,
    );
    if (!this.acceptable()) return this.finish();
    if (this.options.daemon === true) this.daemonContext();
    const host = await this.resolve();
    if (host === undefined) return this.finish();
    const connection = await this.connect(host);
    if (connection === undefined) return this.finish();
    try {
      this.login(connection, host);
      const program = this.uri.params['remote-program'] ?? (this.protocol === 'ssh-ng' ? 'nix-daemon' : 'nix-store');
      if (this.options.storeOpenOnly === true) {
        await this.storeOpen(connection.client, program);
        return this.finish();
      }
      const programFound = await this.remoteProgram(connection.client, program);
      await this.shellNoise(connection.client);
      if (programFound) await this.store(connection.client, program, host);
      await this.remoteFacts(connection.client, program);
      if (this.options.daemon === true) await this.daemonConnection(connection, host);
    } finally {
      if (this.options.pool !== undefined && !connection.closed) this.options.pool.adopt(poolKey(host), connection);
      else connection.close();
    }
    return this.finish();
  }

  /**
   * Before anything connects: only ssh:// and ssh-ng:// have a builder to probe, and a store
   * setting with shell metacharacters is refused. Nix runs remote-program (and remote-store)
   * through the builder's shell, so such a value is code that would run there; our own commands
   * quote it, but a probe that passes says "Nix can use this", which it must not.
   */
  private acceptable(): boolean {
    const stage = { action: this.openLine, stage: 'resolve' } as const;
    if (this.uri.scheme !== 'ssh' && this.uri.scheme !== 'ssh-ng') {
      this.add(
        'invalid-host',
        {
          detail: `'${this.machine.storeUri}' is not an ssh:// or ssh-ng:// store, so there is no SSH builder to probe.`,
        },
        stage,
      );
      return false;
    }
    const shellCode = shellCodeInStoreSettings(this.machine.storeUri);
    if (shellCode.length > 0) {
      const settings = shellCode.map((s) => `${s.name} is ${JSON.stringify(s.value)}`).join('; ');
      this.add('shell-in-store-setting', { detail: `In '${this.machine.storeUri}', ${settings}.` }, stage);
      return false;
    }
    return true;
  }

  /** Builds go through a nix-daemon: say so, and what of column 3 root cannot use. */
  private daemonContext(): void {
    this.add('daemon-context', {}, { stage: 'context' });
    for (const finding of daemonKeyFindings({
      context: this.context,
      sshKey: this.machine.sshKey,
      runningAsRoot: this.runningAsRoot,
      home: this.home,
      openLine: this.openLine,
    }))
      this.addFinding(finding);
  }

  /** Stage: resolve, as ssh does (`ssh -G`). Nix 2.8 hands ssh the URI's authority as it is (a `:port` included). */
  private async resolve(): Promise<ResolvedHost | undefined> {
    const started = Date.now();
    const resolved = await resolveMachine(this.machine, this.connectOptions);
    this.addStage('resolve', Date.now() - started, resolved.ok);
    if (!resolved.ok) {
      this.sshFailure(resolved.failure, 'resolve');
      return undefined;
    }
    const host = resolved.host;
    this.resolved = host;
    this.policy = resolved.policy;
    Object.assign(this.context, { user: host.user, hostName: host.hostName, port: host.port });
    this.facts.resolved = {
      hostName: host.hostName,
      port: host.port,
      user: host.user,
      identityFiles: host.identityFiles,
      proxyJump: host.proxyJump,
      source: host.source,
    };
    if (host.commandLine.notes.length > 0)
      this.add('nix-sshopts-problem', { detail: host.commandLine.notes.join(' ') }, { stage: 'resolve' });
    if (resolved.policy.column8?.ignoredBecause !== undefined)
      this.add('column-8-ignored', { detail: resolved.policy.column8.ignoredBecause }, { stage: 'handshake' });
    return host;
  }

  /** Stages: tcp, handshake (the host key), auth, through the connection layer. */
  private async connect(host: ResolvedHost): Promise<Connection | undefined> {
    const login = () => connectResolved({ ok: true, host, policy: this.policy! }, this.connectOptions);
    const slots = this.options.connectSlots;
    const connected = await (slots === undefined ? login() : slots.hold(sshdOf(host), login, this.options.signal));
    const verdict = connected.ok ? connected.connection.hostKey : connected.hostKey;
    if (verdict !== undefined) {
      this.facts.hostKey = {
        type: verdict.key.type,
        fingerprint: verdict.key.fingerprint,
        verifiedBy: verdict.kind === 'verified' ? this.sourceText(verdict) : undefined,
      };
      this.pinAction = {
        kind: 'pin-host-key',
        title: `Pin ${verdict.key.fingerprint} in column 8`,
        column8: verdict.key.column8,
        keyType: verdict.key.type,
        fingerprint: verdict.key.fingerprint,
        file: this.machine.file,
        span: this.machine.rowSpan,
      };
    }
    if (connected.ok) return connected.connection;
    const code = connected.failure.code;
    this.sshFailure(
      connected.failure,
      code.startsWith('host-key') ? 'handshake' : code.startsWith('key') || code === 'auth-failed' ? 'auth' : 'tcp',
    );
    return undefined;
  }

  /** What the login says about the keys: column 3 skipped, a passphrase Nix cannot type. */
  private login(connection: Connection, host: ResolvedHost): void {
    const used = connection.authenticatedWith;
    if (used !== undefined) this.facts.authenticatedWith = { source: used.source, fingerprint: used.fingerprint };
    // Column 3 could not be read: ssh skipped it and got in with another key.
    const column3 = this.machine.sshKey === undefined ? undefined : expandTilde(this.machine.sshKey, this.home);
    if (column3 !== undefined && host.droppedIdentityFiles.includes(column3)) {
      this.add(
        'key-not-used',
        { keyFile: column3, otherKey: used?.source ?? 'another key' },
        { action: this.openLine, stage: 'auth' },
      );
    }
    const encryptedUsed = used !== undefined && this.passphraseGiven && used.source !== 'agent' && !used.viaAgent;
    if (encryptedUsed && this.options.daemon === true) {
      this.add(
        'key-encrypted',
        { keyFile: used.source, detail: 'you gave it to the probe' },
        {
          action: copyCommand('Copy the command that removes the passphrase', ['ssh-keygen', '-p', '-f', used.source]),
          stage: 'auth',
        },
      );
    } else if (encryptedUsed && host.batchMode) {
      this.add('key-passphrase-prompt', { keyFile: used.source }, { stage: 'auth' });
    }
  }

  /** Stage: the remote program, run non-interactively through the login shell as Nix runs it. */
  private async remoteProgram(client: Client, program: string): Promise<boolean> {
    const run = await exec(client, [program, '--version'], this.execOptions('remote-program'));
    const found = !run.timedOut && run.code === 0;
    this.addStage('remote-program', run.ms, found);
    const stage = { stage: 'remote-program' } as const;
    if (run.timedOut) this.add('remote-command-timeout', { program, timeoutMs: this.timeout('remote-program') }, stage);
    else if (!found && notFound(run.code, run.stderr))
      this.add(
        'nix-not-found',
        { program, output: run.stderr.trim() || `exit code ${run.code}` },
        { ...stage, action: this.openLine },
      );
    else if (!found)
      this.add(
        'protocol-mismatch',
        { program, output: (run.stderr || run.stdout).trim() || `exit code ${run.code}` },
        stage,
      );
    const version = versionIn(run.stdout);
    if (version !== undefined) {
      this.facts.nixVersion = version;
      // Findings from here on quote the builder's Nix in its own version's words.
      this.context.builderNix = version;
    }
    return found;
  }

  /** Stage: shell noise. `true` must print nothing, or Nix's protocol stream is corrupted. */
  private async shellNoise(client: Client): Promise<void> {
    const run = await exec(client, ['true'], this.execOptions('shell-noise'));
    const noise = run.stdout;
    this.addStage('shell-noise', run.ms, !run.timedOut && noise === '');
    if (run.timedOut)
      this.add(
        'remote-command-timeout',
        { program: 'true', timeoutMs: this.timeout('shell-noise') },
        { stage: 'shell-noise' },
      );
    else if (noise !== '') this.add('shell-noise', { output: noise }, { stage: 'shell-noise' });
    this.noise = noise === '' ? undefined : Buffer.from(noise);
  }

  /** Stage: store access and trust, with the greetings Nix checks first. */
  private async store(client: Client, program: string, host: ResolvedHost): Promise<void> {
    const started = Date.now();
    const storeArgs = this.uri.params['remote-store'] ? ['--store', this.uri.params['remote-store']] : [];
    const answers = await this.greetings(client, program, storeArgs);
    const ok = this.judgeStore(answers, program, host) && answers.ok;
    this.addStage('store', Date.now() - started, ok);
  }

  /** Stage: store, as Nix opens it: the one greeting of the URI's protocol. */
  private async storeOpen(client: Client, program: string): Promise<void> {
    const started = Date.now();
    const storeArgs = this.uri.params['remote-store'] ? ['--store', this.uri.params['remote-store']] : [];
    const timeoutMs = this.timeout('store');
    const args =
      this.protocol === 'ssh' ? [program, '--serve', '--write', ...storeArgs] : [program, '--stdio', ...storeArgs];
    const channel = await openCommand(client, args).catch(() => undefined);
    const greeting =
      channel === undefined
        ? undefined
        : this.protocol === 'ssh'
          ? await serveGreeting(channel, timeoutMs)
          : await workerGreeting(channel, timeoutMs);
    if (greeting !== undefined && !greeting.ok)
      this.add(
        'protocol-mismatch',
        { program: args.join(' '), output: greeting.got || greeting.stderr || greeting.message },
        { stage: 'store' },
      );
    else if (greeting === undefined)
      this.add(
        'store-unreachable',
        { program: args.join(' '), output: 'the command could not start' },
        { stage: 'store' },
      );
    this.addStage('store', Date.now() - started, greeting?.ok === true);
  }

  /** The greetings: `nix-store --serve` (ssh://, exactly what Nix 2.8 runs) and the daemon protocol. */
  private async greetings(client: Client, program: string, storeArgs: string[]): Promise<StoreAnswers> {
    const stageTimeout = this.timeout('store');
    const skip = this.noise;
    const openAndGreet = async <T>(
      args: string[],
      greet: (channel: ClientChannel) => Promise<T>,
    ): Promise<T | ProtocolFailure> => {
      try {
        return await greet(await openCommand(client, args));
      } catch (error) {
        return {
          ok: false,
          reason: 'closed',
          got: '',
          stderr: '',
          message: error instanceof Error ? error.message : String(error),
        };
      }
    };
    let ok = true;
    let worker: WorkerGreeting;
    if (this.protocol === 'ssh') {
      const [serve, daemon] = await Promise.all([
        openAndGreet([program, '--serve', '--write', ...storeArgs], (channel) =>
          serveGreeting(channel, stageTimeout, skip),
        ),
        openAndGreet([daemonProgramBeside(program), '--stdio', ...storeArgs], (channel) =>
          workerGreeting(channel, stageTimeout, skip),
        ),
      ]);
      if (serve.ok) this.facts.serveProtocol = (serve as { version: string }).version;
      else if (skip === undefined) {
        ok = false;
        this.add(
          'protocol-mismatch',
          { program: `${program} --serve`, output: serve.got || serve.stderr || serve.message },
          { stage: 'store' },
        );
      }
      worker = daemon as WorkerGreeting;
    } else {
      worker = (await openAndGreet([program, '--stdio', ...storeArgs], (channel) =>
        workerGreeting(channel, stageTimeout, skip),
      )) as WorkerGreeting;
    }
    // Nix 2.34's `nix-daemon --stdio` greets, then exits 1 without a word when the builder's
    // nix-daemon is down, and its `nix-store --serve` greets as if all were well (the lab's
    // daemonDown234 and daemonDown234Ssh); the nix-store there still says why.
    if (!worker.ok && worker.reason === 'closed' && worker.stderr === '') {
      const asked = await exec(
        client,
        [storeProgramBeside(program), ...storeArgs, '--check-validity', '--print-invalid', UNLIKELY_STORE_PATH],
        {
          timeoutMs: stageTimeout,
          ...this.signalOption(),
        },
      );
      if (asked.code !== 0 && asked.stderr.trim() !== '') worker = { ...worker, stderr: asked.stderr.trim() };
    }
    return { worker, ok };
  }

  /** What the daemon's greeting says: trusted or not, the daemon down, or why nobody could ask. */
  private judgeStore({ worker }: StoreAnswers, program: string, host: ResolvedHost): boolean {
    const stage = { stage: 'store' } as const;
    if (worker.ok) {
      this.facts.daemonProtocol = worker.protocol;
      if (worker.nixVersion !== undefined) this.facts.daemonNixVersion = worker.nixVersion;
      if (worker.trusted === undefined) {
        this.add('trust-unknown', { detail: 'the daemon did not answer the trust question' }, stage);
        return true;
      }
      this.facts.trusted = worker.trusted;
      if (worker.trustSource !== undefined) this.facts.trustSource = worker.trustSource;
      if (worker.trusted) return true;
      this.add('untrusted-user', {}, { ...stage, action: trustUserCommand(host.user) });
      return false;
    }
    if (daemonDown(worker.stderr)) {
      this.add(
        'remote-daemon-down',
        { output: worker.stderr.split('\n').find((line) => daemonDown(line)) ?? worker.stderr },
        stage,
      );
      return false;
    }
    if (this.protocol === 'ssh' && notFound(null, worker.stderr)) {
      this.add(
        'trust-unknown',
        { detail: `nix-daemon is not on the remote PATH next to ${program}, so the probe could not ask` },
        stage,
      );
    } else if (this.noise !== undefined && worker.reason === 'mismatch') {
      this.add('trust-unknown', { detail: 'the shell noise garbles the answer' }, stage);
    } else if (this.protocol === 'ssh-ng') {
      this.add(
        worker.reason === 'mismatch' ? 'protocol-mismatch' : 'store-unreachable',
        { program: `${program} --stdio`, output: worker.stderr || worker.got || worker.message },
        stage,
      );
      return false;
    } else {
      this.add('trust-unknown', { detail: (worker.stderr || worker.message).split('\n')[0] }, stage);
    }
    return true;
  }

  /** Stage: facts (system, features, cores, load, disk), then what they say about the line. */
  private async remoteFacts(client: Client, program: string): Promise<void> {
    const run = await exec(
      client,
      ['/bin/sh', '-c', FACTS_SCRIPT, 'sh', nixProgramBeside(program)],
      this.execOptions('facts'),
    );
    const parsed = parseFacts(run.stdout);
    this.addStage('facts', run.ms, !run.timedOut && run.code === 0 && parsed.system !== undefined);
    const known = parsed.system !== undefined;
    for (const [key, value] of Object.entries({
      system: parsed.system,
      extraPlatforms: known ? parsed.extraPlatforms : undefined,
      systemFeatures: known ? parsed.systemFeatures : undefined,
      cores: parsed.cores,
      load: parsed.load,
      storeFreeBytes: parsed.storeFreeBytes,
      storeTotalBytes: parsed.storeTotalBytes,
      kvm: parsed.kvm,
      remoteUser: parsed.remoteUser,
      uname: parsed.uname,
    })) {
      if (value !== undefined) (this.facts as Record<string, unknown>)[key] = value;
    }
    this.crossCheck(parsed);
  }

  /** The facts against the machines line: systems and features it claims, and disk space. */
  private crossCheck({ system, extraPlatforms, systemFeatures, kvm, remoteUser }: ReturnType<typeof parseFacts>): void {
    const machine = this.machine;
    const stage = { stage: 'facts', action: this.openLine } as const;
    if (system !== undefined && machine.systems !== undefined && machine.systems.length > 0) {
      const supported = new Set([system, ...extraPlatforms, 'builtin']);
      const missing = machine.systems.filter((entry) => !supported.has(entry));
      if (missing.length > 0)
        this.add('system-mismatch', { systems: missing, builderSystems: [system, ...extraPlatforms] }, stage);
    }
    if (system !== undefined) {
      const claimed = [...new Set([...(machine.supportedFeatures ?? []), ...(machine.mandatoryFeatures ?? [])])];
      // The daemon (root) adds kvm when it can open /dev/kvm; the SSH user may not see it.
      const daemonHasKvm = kvm === 'rw' || (kvm === 'present' && remoteUser !== 'root');
      const lacking = claimed.filter(
        (feature) => !systemFeatures.includes(feature) && !(feature === 'kvm' && daemonHasKvm),
      );
      if (lacking.length > 0)
        this.add(
          'feature-mismatch',
          {
            features: lacking,
            builderFeatures: systemFeatures,
            kvmMissing: lacking.includes('kvm') && kvm === 'absent',
          },
          stage,
        );
    }
    const threshold = this.options.lowDiskBytes ?? defaultLowDiskBytes;
    if (this.facts.storeFreeBytes !== undefined && this.facts.storeFreeBytes < threshold)
      this.add('low-disk', { freeBytes: this.facts.storeFreeBytes, thresholdBytes: threshold }, { stage: 'facts' });
  }

  /** Under a nix-daemon: what worked for this login but would not for root's ssh. */
  private async daemonConnection(connection: Connection, host: ResolvedHost): Promise<void> {
    const { uriHost: _uriHost, ...destination } = sshDestination(this.machine.storeUri, this.options.portInUri);
    const findings = await daemonConnectionFindings({
      context: this.context,
      sshKey: this.machine.sshKey,
      publicHostKey: this.machine.publicHostKey,
      resolved: host,
      hostKey: connection.hostKey,
      authenticatedWith: connection.authenticatedWith,
      runningAsRoot: this.runningAsRoot,
      home: this.home,
      resolveOptions: resolveOptionsFor(this.machine, this.connectOptions),
      destination,
      openLine: this.openLine,
      pinAction: this.pinAction,
    });
    for (const finding of findings) this.addFinding(finding);
  }

  /** A failure of the ssh layer as its finding, with the action that fixes it. */
  private sshFailure(failure: SshFailure, stage: Finding['stage']): void {
    const code: FindingCode = sshFailureCodes.has(failure.code as FindingCode)
      ? (failure.code as FindingCode)
      : 'connection-lost';
    const extra: Partial<FindingContext> = { detail: failure.cause };
    let action = this.hostKeyAdvice(failure, extra);
    if (failure.keyFile !== undefined) extra.keyFile = failure.keyFile;
    // The ssh layer's cause is the message's first sentence where the table's message has none of its own.
    if (!codesWithCause.has(code)) delete extra.detail;
    const timeouts = this.connectOptions.timeouts!;
    const connectTimeout = this.resolved?.connectTimeoutMs ?? Infinity;
    switch (code) {
      case 'banner-timeout':
        extra.timeoutMs = Math.min(timeouts.handshake!, connectTimeout);
        break;
      case 'connect-timeout':
        extra.timeoutMs = Math.min(timeouts.tcp!, connectTimeout);
        break;
      case 'key-encrypted':
        extra.detail = failure.cause.includes('does not open')
          ? 'the passphrase given does not open it'
          : (/the passphrase prompt got no answer within \d+(?:\.\d+)? s/.exec(failure.cause)?.[0] ?? 'none was given');
        if (failure.keyFile !== undefined)
          action = copyCommand('Copy the command that removes the passphrase', [
            'ssh-keygen',
            '-p',
            '-f',
            failure.keyFile,
          ]);
        break;
      case 'auth-failed':
      case 'key-unreadable':
      case 'invalid-host':
        action = this.openLine;
        break;
      case 'proxy-jump-failed':
        extra.detail = `${failure.cause} ${failure.fix}`;
        break;
      default:
        break;
    }
    this.add(code, extra, { ...(action ? { action } : {}), ...(stage ? { stage } : {}) });
  }

  /** For a host key failure: what the message needs about the key, and the action offered. */
  private hostKeyAdvice(failure: SshFailure, extra: Partial<FindingContext>): FindingAction | undefined {
    const hostKey = failure.hostKey;
    if (hostKey === undefined) return undefined;
    Object.assign(extra, { keyType: hostKey.key.type, fingerprint: hostKey.key.fingerprint });
    const showKeyOnBuilder = copyCommand(
      'Copy the command that shows the key (run it on the builder)',
      fingerprintCommand(hostKey.key.type).split(' '),
    );
    const policy = this.policy!;
    switch (hostKey.kind) {
      case 'mismatch': {
        const source = hostKey.source;
        // A key of the configuration's programs.ssh.knownHosts is changed in that file, not with ssh-keygen -R.
        const named = source.kind === 'known-hosts' && this.machine.configuredSsh?.knownHostsNamed.has(source.file);
        const recordedKey: RecordedKey | undefined =
          source.kind === 'column-8'
            ? source
            : named
              ? undefined
              : { kind: 'known-hosts', file: source.file, line: source.line, lookupName: policy.lookupName };
        Object.assign(extra, {
          expectedFingerprint: hostKey.expected.fingerprint,
          keySource: this.sourceText(hostKey),
          ...(recordedKey ? { recordedKey } : {}),
        });
        // A changed key is never one click from trusted: verify first (the message says how).
        return showKeyOnBuilder;
      }
      case 'revoked':
        Object.assign(extra, { keySource: this.sourceText(hostKey) });
        return undefined;
      case 'unknown': {
        Object.assign(extra, {
          lookupName: hostKey.lookupName,
          column8NameMismatch: hostKey.column8NameMismatch,
          knownHostsFiles: [...policy.userFiles, ...policy.globalFiles],
          strictHostKeyChecking: this.resolved?.strictHostKeyChecking,
        });
        // Pinning is for a host nobody knows: known_hosts knowing it by another key type (or a
        // certificate authority) is not that, so the user checks the key instead.
        const knownOtherwise = hostKey.otherTypes.length > 0 || hostKey.certAuthorityOnly;
        return hostKey.column8NameMismatch ? this.openLine : knownOtherwise ? showKeyOnBuilder : this.pinAction;
      }
      default:
        return undefined;
    }
  }

  /** Where a verdict's key is recorded, in words: a known hosts file of the configuration by its name. */
  private sourceText(verdict: HostKeyVerdict): string {
    if (verdict.kind === 'unknown') return 'nothing';
    if (verdict.source.kind === 'column-8') return 'column 8';
    const named = this.machine.configuredSsh?.knownHostsNamed.get(verdict.source.file);
    return named ?? `${verdict.source.file}:${verdict.source.line}`;
  }

  private timeout(stage: ProbeStageName): number {
    return this.options.stageTimeouts?.[stage] ?? this.options.timeoutMs ?? defaultStageTimeoutMs;
  }

  private signalOption(): { signal?: AbortSignal } {
    return this.options.signal === undefined ? {} : { signal: this.options.signal };
  }

  private execOptions(stage: ProbeStageName): ExecOptions {
    return { timeoutMs: this.timeout(stage), ...this.signalOption() };
  }

  private addFinding(finding: Finding): void {
    const level = finding.severity === 'error' ? log.warn : log.info;
    level(
      `${this.machine.storeUri}: ${finding.severity} ${finding.code}${finding.stage ? ` (${finding.stage})` : ''}: ${finding.message}`,
    );
    this.findings.push(finding);
    this.emit({ kind: 'finding', finding });
  }

  private add(
    code: FindingCode,
    extra: Partial<FindingContext> = {},
    more: { action?: FindingAction | undefined; stage?: Finding['stage'] } = {},
  ): void {
    this.addFinding(
      makeFinding(
        code,
        { ...this.context, ...extra },
        { ...(more.action ? { action: more.action } : {}), ...(more.stage ? { stage: more.stage } : {}) },
      ),
    );
  }

  private addStage(name: ProbeStageName, ms: number, ok: boolean): void {
    const stage: ProbeStage = { name, ms, ok };
    log.info(`${this.machine.storeUri}: stage ${name} ${ok ? 'passed' : 'failed'} (${ms} ms)`);
    this.stages.push(stage);
    this.emit({ kind: 'stage', stage });
  }

  private finish(): ProbeResult {
    if (!this.findings.some((finding) => finding.severity === 'error' || finding.severity === 'warning'))
      this.add('ok', { summary: summaryOf(this.facts) });
    const result: ProbeResult = {
      uri: this.machine.storeUri,
      status: statusOf(this.findings),
      findings: this.findings,
      stages: this.stages,
      facts: this.facts,
      ms: Date.now() - this.started,
    };
    log.info(`${this.machine.storeUri}: ${result.status} after ${result.ms} ms`);
    this.emit({ kind: 'result', result });
    return result;
  }
}

function summaryOf(facts: ProbeFacts): string {
  const parts: string[] = [];
  if (facts.nixVersion) parts.push(`Nix ${facts.nixVersion}`);
  if (facts.system) parts.push(facts.system);
  if (facts.cores) parts.push(`${facts.cores} cores`);
  if (facts.load) parts.push(`load ${facts.load[0]}`);
  if (facts.storeFreeBytes !== undefined) parts.push(`${(facts.storeFreeBytes / 1024 ** 3).toFixed(1)} GiB free`);
  if (facts.trusted === true) parts.push(`${facts.remoteUser ?? 'user'} trusted`);
  return parts.join(', ') || 'connected';
}

/** Probes one machine; resolves with the result, streaming events to `onEvent`. Never throws. */
export async function runProbe(
  machine: ProbeMachine,
  options: ProbeOptions = {},
  onEvent?: (event: ProbeEvent) => void,
): Promise<ProbeResult> {
  const emit = (event: ProbeEvent) => {
    try {
      onEvent?.(event);
    } catch {
      // A listener's failure is not the probe's.
    }
  };
  try {
    return await new Probe(machine, options, emit).run();
  } catch (error) {
    // A bug of ours, not a finding about the builder: still a value, never a stack trace.
    const finding = makeFinding('connection-lost', {
      uri: machine.storeUri,
      alias: parseStoreUri(machine.storeUri).host,
      detail: `The probe stopped unexpectedly (${error instanceof Error ? error.message.split('\n')[0] : String(error)}).`,
    });
    const result: ProbeResult = {
      uri: machine.storeUri,
      status: 'down',
      findings: [finding],
      stages: [],
      facts: {},
      ms: 0,
    };
    emit({ kind: 'result', result });
    return result;
  }
}

/**
 * Probes the machines in parallel (up to `options.concurrency` at once). Results come back in
 * the machines' order; `onResult` hears each as soon as it is done, so a silent host delays
 * nobody but itself.
 */
export async function probeMachines(
  machines: readonly ProbeMachine[],
  options: ProbeOptions = {},
  onResult?: (result: ProbeResult, index: number) => void,
  onEvent?: (event: ProbeEvent, index: number) => void,
): Promise<ProbeResult[]> {
  const results: ProbeResult[] = new Array(machines.length);
  // One set of slots for all of them: machines that reach the same sshd take turns to log in.
  const shared = { ...options, connectSlots: options.connectSlots ?? new ConnectSlots(options.loginsPerSshd) };
  let next = 0;
  const worker = async () => {
    while (next < machines.length) {
      const index = next++;
      const result = await runProbe(
        machines[index]!,
        shared,
        onEvent === undefined ? undefined : (event) => onEvent(event, index),
      );
      results[index] = result;
      try {
        onResult?.(result, index);
      } catch {
        // A listener's failure is not the probe's.
      }
    }
  };
  const workers = Math.max(1, Math.min(options.concurrency ?? 32, machines.length));
  await Promise.all(Array.from({ length: workers }, worker));
  return results;
}
