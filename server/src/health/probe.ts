// The staged health probe of one builder: resolve → tcp → handshake (and host key) → auth →
// the remote program run as Nix runs it → shell noise → store access and trust → facts, then
// cross-checks of the facts against the machines line. Each stage has its own timeout and its
// measured time; a failed stage ends the probe with a finding that names the cause and the fix.
// Results stream as events; `probeMachines` runs many probes at once, so a silent host costs
// its own timeouts and never delays the others.
import { homedir } from 'node:os';
import type { Machine } from '../model/machines';
import { expandTilde } from '../model/identityFile';
import { shellCodeInStoreSettings } from '../model/remoteShellSettings';
import { parseStoreUri } from '../model/storeUri';
import { connect, type Connection, type ConnectStageReport } from '../ssh/connect';
import type { SshFailure } from '../ssh/failure';
import { hostKeyPolicy, type HostKeyVerdict } from '../ssh/hostKeyCheck';
import { fingerprintCommand, type RecordedKey } from '../ssh/hostKeyChanged';
import type { AskPassphrase } from '../ssh/keyring';
import { poolKey, type ConnectionPool } from '../ssh/pool';
import { exec, openCommand } from '../ssh/remoteCommand';
import { resolveOptionsFor, sshDestination } from '../ssh/machineConnection';
import { resolveSshHost, type ResolveOptions } from '../ssh/sshConfig';
import { daemonConnectionFindings, daemonKeyFindings } from './daemonContext';
import type { FindingAction, HealthFacts, HealthStage, HealthStageName } from '../protocol';
import { copyCommand, makeFinding, trustUserCommand, type Finding, type FindingCode, type FindingContext } from './findings';
import { serveGreeting, workerGreeting, type ProtocolFailure, type WorkerGreeting } from './nixProtocol';
import { daemonProgramBeside, FACTS_SCRIPT, nixProgramBeside, parseFacts } from './remoteFacts';

export const PROBE_STAGES = ['resolve', 'tcp', 'handshake', 'auth', 'remote-program', 'shell-noise', 'store', 'facts'] as const satisfies readonly HealthStageName[];
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
  Partial<Pick<Machine, 'systems' | 'supportedFeatures' | 'mandatoryFeatures' | 'file' | 'rowSpan'>>;

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
const codesWithCause = new Set<FindingCode>(['auth-failed', 'key-unreadable', 'invalid-host', 'dns-failed', 'host-unreachable', 'handshake-failed', 'connection-lost', 'ssh-config-error', 'proxy-command-unsupported']);

const versionIn = (text: string) => /\(Nix\)\s+(\S+)/.exec(text)?.[1];
const notFound = (code: number | null, stderr: string) => code === 127 || /command not found|No such file or directory|not found/i.test(stderr);
/** A store path no store has: `nix-store --check-validity --print-invalid` on it only opens the store. */
const UNLIKELY_STORE_PATH = '/nix/store/00000000000000000000000000000000-nixrb-probe';
/** The `nix-store` program next to a remote-program given as a path (else from PATH). */
const storeProgramBeside = (remoteProgram: string) => `${remoteProgram.slice(0, remoteProgram.lastIndexOf('/') + 1)}nix-store`;
const daemonDown = (stderr: string) => /cannot connect to socket at|daemon-socket\/socket/.test(stderr);

/** The builder probe, one machine, events delivered to `emit` as they happen. */
async function probe(machine: ProbeMachine, options: ProbeOptions, emit: (event: ProbeEvent) => void): Promise<ProbeResult> {
  const started = Date.now();
  const env = options.env ?? process.env;
  const home = env.HOME ?? homedir();
  const findings: Finding[] = [];
  const stages: ProbeStage[] = [];
  const facts: ProbeFacts = {};
  const timeout = (stage: ProbeStageName) => options.stageTimeouts?.[stage] ?? options.timeoutMs ?? defaultStageTimeoutMs;
  const runningAsRoot = options.runningAsRoot ?? process.getuid?.() === 0;
  const uri = parseStoreUri(machine.storeUri);
  const protocol: 'ssh' | 'ssh-ng' = uri.scheme === 'ssh-ng' ? 'ssh-ng' : 'ssh';
  const context: FindingContext = { uri: machine.storeUri, alias: uri.host, protocol, daemon: options.daemon === true, ...(uri.user ? { user: uri.user } : {}) };
  const openLine: FindingAction = { kind: 'open-line', title: 'Open the machines line', file: machine.file, span: machine.rowSpan };

  const addFinding = (finding: Finding) => {
    findings.push(finding);
    emit({ kind: 'finding', finding });
  };
  const add = (code: FindingCode, extra: Partial<FindingContext> = {}, more: { action?: FindingAction; stage?: Finding['stage'] } = {}) => addFinding(makeFinding(code, { ...context, ...extra }, more));
  const addStage = (name: ProbeStageName, ms: number, ok: boolean) => {
    const stage: ProbeStage = { name, ms, ok };
    stages.push(stage);
    emit({ kind: 'stage', stage });
  };
  const finish = (): ProbeResult => {
    if (!findings.some((finding) => finding.severity === 'error' || finding.severity === 'warning')) {
      add('ok', { summary: summaryOf(facts) });
    }
    const result: ProbeResult = { uri: machine.storeUri, status: statusOf(findings), findings, stages, facts, ms: Date.now() - started };
    emit({ kind: 'result', result });
    return result;
  };

  if (uri.scheme !== 'ssh' && uri.scheme !== 'ssh-ng') {
    add('invalid-host', { detail: `'${machine.storeUri}' is not an ssh:// or ssh-ng:// store, so there is no SSH builder to probe.` }, { action: openLine, stage: 'resolve' });
    return finish();
  }
  // Nix runs remote-program (and remote-store) through the builder's shell: a value with shell
  // metacharacters is code that would run there. Our own commands quote it, but a probe that
  // passes says "Nix can use this", which it must not: refuse before connecting.
  const shellCode = shellCodeInStoreSettings(machine.storeUri);
  if (shellCode.length > 0) {
    const settings = shellCode.map((s) => `${s.name} is ${JSON.stringify(s.value)}`).join('; ');
    add('shell-in-store-setting', { detail: `In '${machine.storeUri}', ${settings}.` }, { action: openLine, stage: 'resolve' });
    return finish();
  }
  if (options.daemon === true) {
    add('daemon-context', {}, { stage: 'context' });
    for (const finding of daemonKeyFindings({ context, sshKey: machine.sshKey, runningAsRoot, home, openLine })) addFinding(finding);
  }

  // Stage: resolve. Nix 2.8 hands ssh the URI's authority as it is (a `:port` included).
  const resolveStarted = Date.now();
  const { uriHost, ...destination } = sshDestination(machine.storeUri);
  const resolveOptions: ResolveOptions = resolveOptionsFor(machine, { ...options, env, resolveTimeoutMs: timeout('resolve') });
  const resolved = await resolveSshHost(destination, resolveOptions);
  addStage('resolve', Date.now() - resolveStarted, resolved.ok);
  if (!resolved.ok) {
    addSshFailure(resolved.failure, 'resolve');
    return finish();
  }
  const host = resolved.host;
  Object.assign(context, { user: host.user, hostName: host.hostName, port: host.port });
  facts.resolved = { hostName: host.hostName, port: host.port, user: host.user, identityFiles: host.identityFiles, proxyJump: host.proxyJump, source: host.source };
  if (host.commandLine.notes.length > 0) add('nix-sshopts-problem', { detail: host.commandLine.notes.join(' ') }, { stage: 'resolve' });

  // Stages: tcp, handshake (host key), auth.
  const policy = hostKeyPolicy(host, uriHost, machine.publicHostKey);
  if (policy.column8?.ignoredBecause !== undefined) add('column-8-ignored', { detail: policy.column8.ignoredBecause }, { stage: 'handshake' });
  const connectTimeouts = { tcp: timeout('tcp'), handshake: timeout('handshake'), auth: timeout('auth') };
  let passphraseGiven = false;
  const askPassphrase: AskPassphrase | undefined =
    options.askPassphrase === undefined
      ? undefined
      : async (file, signal) => {
          const answer = await options.askPassphrase!(file, signal);
          if (answer !== undefined) passphraseGiven = true;
          return answer;
        };
  const connected = await connect({
    host,
    hostKeyPolicy: policy,
    timeouts: connectTimeouts,
    ...(env.SSH_AUTH_SOCK ? { agentSocket: env.SSH_AUTH_SOCK } : {}),
    ...(askPassphrase === undefined ? {} : { askPassphrase }),
    ...(options.passphraseTimeoutMs === undefined ? {} : { passphraseTimeoutMs: options.passphraseTimeoutMs }),
    ...(options.signal === undefined ? {} : { signal: options.signal }),
    ...(options.onTcpConnect === undefined ? {} : { onTcpConnect: options.onTcpConnect }),
    onStage: (stage: ConnectStageReport) => addStage(stage.name, stage.ms, stage.ok),
  });
  const verdict = connected.ok ? connected.connection.hostKey : connected.hostKey;
  if (verdict !== undefined) facts.hostKey = { type: verdict.key.type, fingerprint: verdict.key.fingerprint, verifiedBy: verdict.kind === 'verified' ? sourceText(verdict) : undefined };
  const pinAction: FindingAction | undefined =
    verdict === undefined
      ? undefined
      : { kind: 'pin-host-key', title: `Pin ${verdict.key.fingerprint} in column 8`, column8: verdict.key.column8, keyType: verdict.key.type, fingerprint: verdict.key.fingerprint, file: machine.file, span: machine.rowSpan };
  if (!connected.ok) {
    addSshFailure(connected.failure, connected.failure.code.startsWith('host-key') ? 'handshake' : connected.failure.code.startsWith('key') || connected.failure.code === 'auth-failed' ? 'auth' : 'tcp');
    return finish();
  }
  const connection = connected.connection;
  try {
    await afterLogin(connection);
  } finally {
    if (options.pool !== undefined && !connection.closed) options.pool.adopt(poolKey(host), connection);
    else connection.close();
  }
  return finish();

  function addSshFailure(failure: SshFailure, stage: Finding['stage']): void {
    const code: FindingCode = sshFailureCodes.has(failure.code as FindingCode) ? (failure.code as FindingCode) : 'connection-lost';
    const extra: Partial<FindingContext> = { detail: failure.cause };
    let action: FindingAction | undefined;
    const hostKey = failure.hostKey;
    if (hostKey !== undefined) {
      Object.assign(extra, { keyType: hostKey.key.type, fingerprint: hostKey.key.fingerprint });
      const showKeyOnBuilder = copyCommand('Copy the command that shows the key (run it on the builder)', fingerprintCommand(hostKey.key.type).split(' '));
      if (hostKey.kind === 'mismatch') {
        const source = hostKey.source;
        const recordedKey: RecordedKey = source.kind === 'column-8' ? source : { kind: 'known-hosts', file: source.file, line: source.line, lookupName: policy.lookupName };
        Object.assign(extra, { expectedFingerprint: hostKey.expected.fingerprint, keySource: sourceText(hostKey), recordedKey });
        // A changed key is never one click from trusted: verify first (the message says how).
        action = showKeyOnBuilder;
      } else if (hostKey.kind === 'revoked') {
        Object.assign(extra, { keySource: sourceText(hostKey) });
      } else if (hostKey.kind === 'unknown') {
        Object.assign(extra, { lookupName: hostKey.lookupName, column8NameMismatch: hostKey.column8NameMismatch, knownHostsFiles: [...policy.userFiles, ...policy.globalFiles], strictHostKeyChecking: host.strictHostKeyChecking });
        // Pinning is for a host nobody knows: known_hosts knowing it by another key type (or a
        // certificate authority) is not that, so the user checks the key instead.
        const knownOtherwise = hostKey.otherTypes.length > 0 || hostKey.certAuthorityOnly;
        action = hostKey.column8NameMismatch ? openLine : knownOtherwise ? showKeyOnBuilder : pinAction;
      }
    }
    if (failure.keyFile !== undefined) extra.keyFile = failure.keyFile;
    // The ssh layer's cause is the message's first sentence where the table's message has none of its own.
    if (!codesWithCause.has(code)) delete extra.detail;
    switch (code) {
      case 'banner-timeout':
        extra.timeoutMs = Math.min(connectTimeouts.handshake, host.connectTimeoutMs ?? Infinity);
        break;
      case 'connect-timeout':
        extra.timeoutMs = Math.min(connectTimeouts.tcp, host.connectTimeoutMs ?? Infinity);
        break;
      case 'key-encrypted':
        extra.detail = failure.cause.includes('does not open')
          ? 'the passphrase given does not open it'
          : (/the passphrase prompt got no answer within \d+(?:\.\d+)? s/.exec(failure.cause)?.[0] ?? 'none was given');
        if (failure.keyFile !== undefined) action = copyCommand('Copy the command that removes the passphrase', ['ssh-keygen', '-p', '-f', failure.keyFile]);
        break;
      case 'auth-failed':
      case 'key-unreadable':
      case 'invalid-host':
        action = openLine;
        break;
      case 'proxy-jump-failed':
        extra.detail = `${failure.cause} ${failure.fix}`;
        break;
      default:
        break;
    }
    add(code, extra, { ...(action ? { action } : {}), ...(stage ? { stage } : {}) });
  }

  async function afterLogin(connection: Connection): Promise<void> {
    const client = connection.client;
    const used = connection.authenticatedWith;
    if (used !== undefined) facts.authenticatedWith = { source: used.source, fingerprint: used.fingerprint };
    // Column 3 could not be read: ssh skipped it and got in with another key.
    const column3 = machine.sshKey === undefined ? undefined : expandTilde(machine.sshKey, home);
    if (column3 !== undefined && host.droppedIdentityFiles.includes(column3)) {
      add('key-not-used', { keyFile: column3, otherKey: used?.source ?? 'another key' }, { action: openLine, stage: 'auth' });
    }
    const encryptedUsed = used !== undefined && passphraseGiven && used.source !== 'agent' && !used.viaAgent;
    if (encryptedUsed && options.daemon === true) {
      add('key-encrypted', { keyFile: used.source, detail: 'you gave it to the probe' }, { action: copyCommand('Copy the command that removes the passphrase', ['ssh-keygen', '-p', '-f', used.source]), stage: 'auth' });
    } else if (encryptedUsed && host.batchMode) {
      add('key-passphrase-prompt', { keyFile: used.source }, { stage: 'auth' });
    }

    const program = uri.params['remote-program'] ?? (protocol === 'ssh-ng' ? 'nix-daemon' : 'nix-store');
    const storeArgs = uri.params['remote-store'] ? ['--store', uri.params['remote-store']] : [];

    // Stage: the remote program, run non-interactively through the login shell as Nix runs it.
    const versionRun = await exec(client, [program, '--version'], { timeoutMs: timeout('remote-program'), ...(options.signal ? { signal: options.signal } : {}) });
    const programFound = !versionRun.timedOut && versionRun.code === 0;
    addStage('remote-program', versionRun.ms, programFound);
    if (versionRun.timedOut) {
      add('remote-command-timeout', { program, timeoutMs: timeout('remote-program') }, { stage: 'remote-program' });
    } else if (!programFound && notFound(versionRun.code, versionRun.stderr)) {
      add('nix-not-found', { program, output: versionRun.stderr.trim() || `exit code ${versionRun.code}` }, { stage: 'remote-program', action: openLine });
    } else if (!programFound) {
      add('protocol-mismatch', { program, output: (versionRun.stderr || versionRun.stdout).trim() || `exit code ${versionRun.code}` }, { stage: 'remote-program' });
    }
    const version = versionIn(versionRun.stdout);
    if (version !== undefined) facts.nixVersion = version;

    // Stage: shell noise. `true` must print nothing, or Nix's protocol stream is corrupted.
    const trueRun = await exec(client, ['true'], { timeoutMs: timeout('shell-noise'), ...(options.signal ? { signal: options.signal } : {}) });
    const noise = trueRun.stdout;
    addStage('shell-noise', trueRun.ms, !trueRun.timedOut && noise === '');
    if (trueRun.timedOut) add('remote-command-timeout', { program: 'true', timeoutMs: timeout('shell-noise') }, { stage: 'shell-noise' });
    else if (noise !== '') add('shell-noise', { output: noise }, { stage: 'shell-noise' });
    const skip = noise === '' ? undefined : Buffer.from(noise);

    // Stage: store access and trust.
    if (programFound) await storeStage(program, storeArgs, skip);

    // Stage: facts, and what they say about the line.
    const factsRun = await exec(client, ['/bin/sh', '-c', FACTS_SCRIPT, 'sh', nixProgramBeside(program)], { timeoutMs: timeout('facts'), ...(options.signal ? { signal: options.signal } : {}) });
    const parsed = parseFacts(factsRun.stdout);
    addStage('facts', factsRun.ms, !factsRun.timedOut && factsRun.code === 0 && parsed.system !== undefined);
    for (const [key, value] of Object.entries({
      system: parsed.system,
      extraPlatforms: parsed.system === undefined ? undefined : parsed.extraPlatforms,
      systemFeatures: parsed.system === undefined ? undefined : parsed.systemFeatures,
      cores: parsed.cores,
      load: parsed.load,
      storeFreeBytes: parsed.storeFreeBytes,
      storeTotalBytes: parsed.storeTotalBytes,
      kvm: parsed.kvm,
      remoteUser: parsed.remoteUser,
      uname: parsed.uname,
    })) {
      if (value !== undefined) (facts as Record<string, unknown>)[key] = value;
    }
    crossCheck(parsed.system, parsed.extraPlatforms, parsed.systemFeatures, parsed.kvm, parsed.remoteUser);

    if (options.daemon === true) {
      const daemonFindings = await daemonConnectionFindings({
        context,
        sshKey: machine.sshKey,
        publicHostKey: machine.publicHostKey,
        resolved: host,
        hostKey: connection.hostKey,
        authenticatedWith: used,
        runningAsRoot,
        home,
        resolveOptions,
        destination,
        openLine,
        pinAction,
      });
      for (const finding of daemonFindings) addFinding(finding);
    }
  }

  async function storeStage(program: string, storeArgs: string[], skip: Buffer | undefined): Promise<void> {
    const client = connection.client;
    const stageStarted = Date.now();
    let ok = true;
    const stageTimeout = timeout('store');
    const openAndGreet = async <T>(args: string[], greet: (channel: import('ssh2').ClientChannel) => Promise<T>): Promise<T | ProtocolFailure> => {
      try {
        const channel = await openCommand(client, args);
        return await greet(channel);
      } catch (error) {
        return { ok: false, reason: 'closed', got: '', stderr: '', message: error instanceof Error ? error.message : String(error) };
      }
    };
    let worker: WorkerGreeting;
    if (protocol === 'ssh') {
      // Exactly what Nix 2.8 runs for ssh://, and the greeting it checks first.
      const [serve, daemon] = await Promise.all([
        openAndGreet([program, '--serve', '--write', ...storeArgs], (channel) => serveGreeting(channel, stageTimeout, skip)),
        openAndGreet([daemonProgramBeside(program), '--stdio', ...storeArgs], (channel) => workerGreeting(channel, stageTimeout, skip)),
      ]);
      if (serve.ok) facts.serveProtocol = (serve as { version: string }).version;
      else if (skip === undefined) {
        ok = false;
        add('protocol-mismatch', { program: `${program} --serve`, output: serve.got || serve.stderr || serve.message }, { stage: 'store' });
      }
      worker = daemon as WorkerGreeting;
    } else {
      worker = (await openAndGreet([program, '--stdio', ...storeArgs], (channel) => workerGreeting(channel, stageTimeout, skip))) as WorkerGreeting;
    }
    // Nix 2.34's `nix-daemon --stdio` greets, then exits 1 without a word when the builder's
    // nix-daemon is down, and its `nix-store --serve` greets as if all were well (the lab's
    // daemonDown234 and daemonDown234Ssh); the nix-store there still says why.
    if (!worker.ok && worker.reason === 'closed' && worker.stderr === '') {
      const asked = await exec(client, [storeProgramBeside(program), ...storeArgs, '--check-validity', '--print-invalid', UNLIKELY_STORE_PATH], {
        timeoutMs: stageTimeout,
        ...(options.signal ? { signal: options.signal } : {}),
      });
      if (asked.code !== 0 && asked.stderr.trim() !== '') worker = { ...worker, stderr: asked.stderr.trim() };
    }
    if (worker.ok) {
      facts.daemonProtocol = worker.protocol;
      if (worker.nixVersion !== undefined) facts.daemonNixVersion = worker.nixVersion;
      if (worker.trusted !== undefined) {
        facts.trusted = worker.trusted;
        if (worker.trustSource !== undefined) facts.trustSource = worker.trustSource;
        if (!worker.trusted) {
          ok = false;
          add('untrusted-user', {}, { stage: 'store', action: trustUserCommand(host.user) });
        }
      } else {
        add('trust-unknown', { detail: 'the daemon did not answer the trust question' }, { stage: 'store' });
      }
    } else if (daemonDown(worker.stderr)) {
      ok = false;
      add('remote-daemon-down', { output: worker.stderr.split('\n').find((line) => daemonDown(line)) ?? worker.stderr }, { stage: 'store' });
    } else if (protocol === 'ssh' && notFound(null, worker.stderr)) {
      add('trust-unknown', { detail: `nix-daemon is not on the remote PATH next to ${program}, so the probe could not ask` }, { stage: 'store' });
    } else if (skip !== undefined && worker.reason === 'mismatch') {
      add('trust-unknown', { detail: 'the shell noise garbles the answer' }, { stage: 'store' });
    } else if (protocol === 'ssh-ng') {
      ok = false;
      add(worker.reason === 'mismatch' ? 'protocol-mismatch' : 'store-unreachable', { program: `${program} --stdio`, output: worker.stderr || worker.got || worker.message }, { stage: 'store' });
    } else {
      add('trust-unknown', { detail: (worker.stderr || worker.message).split('\n')[0] }, { stage: 'store' });
    }
    addStage('store', Date.now() - stageStarted, ok);
  }

  function crossCheck(system: string | undefined, extraPlatforms: string[], systemFeatures: string[], kvm: ProbeFacts['kvm'], remoteUser: string | undefined): void {
    if (system !== undefined && machine.systems !== undefined && machine.systems.length > 0) {
      const supported = new Set([system, ...extraPlatforms, 'builtin']);
      const missing = machine.systems.filter((entry) => !supported.has(entry));
      if (missing.length > 0) add('system-mismatch', { systems: missing, builderSystems: [system, ...extraPlatforms] }, { stage: 'facts', action: openLine });
    }
    if (system !== undefined) {
      const claimed = [...new Set([...(machine.supportedFeatures ?? []), ...(machine.mandatoryFeatures ?? [])])];
      // The daemon (root) adds kvm when it can open /dev/kvm; the SSH user may not see it.
      const daemonHasKvm = kvm === 'rw' || (kvm === 'present' && remoteUser !== 'root');
      const lacking = claimed.filter((feature) => !systemFeatures.includes(feature) && !(feature === 'kvm' && daemonHasKvm));
      if (lacking.length > 0) add('feature-mismatch', { features: lacking, builderFeatures: systemFeatures, kvmMissing: lacking.includes('kvm') && kvm === 'absent' }, { stage: 'facts', action: openLine });
    }
    const threshold = options.lowDiskBytes ?? defaultLowDiskBytes;
    if (facts.storeFreeBytes !== undefined && facts.storeFreeBytes < threshold) add('low-disk', { freeBytes: facts.storeFreeBytes, thresholdBytes: threshold }, { stage: 'facts' });
  }
}

function sourceText(verdict: HostKeyVerdict): string {
  if (verdict.kind === 'unknown') return 'nothing';
  return verdict.source.kind === 'column-8' ? 'column 8' : `${verdict.source.file}:${verdict.source.line}`;
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
export async function runProbe(machine: ProbeMachine, options: ProbeOptions = {}, onEvent?: (event: ProbeEvent) => void): Promise<ProbeResult> {
  const emit = (event: ProbeEvent) => {
    try {
      onEvent?.(event);
    } catch {
      // A listener's failure is not the probe's.
    }
  };
  try {
    return await probe(machine, options, emit);
  } catch (error) {
    // A bug of ours, not a finding about the builder: still a value, never a stack trace.
    const finding = makeFinding('connection-lost', { uri: machine.storeUri, alias: parseStoreUri(machine.storeUri).host, detail: `The probe stopped unexpectedly (${error instanceof Error ? error.message.split('\n')[0] : String(error)}).` });
    const result: ProbeResult = { uri: machine.storeUri, status: 'down', findings: [finding], stages: [], facts: {}, ms: 0 };
    emit({ kind: 'result', result });
    return result;
  }
}

/** Probes one machine as a stream of events; the last one is `result`. */
export function probeMachine(machine: ProbeMachine, options: ProbeOptions = {}): AsyncIterable<ProbeEvent> {
  return {
    [Symbol.asyncIterator](): AsyncIterator<ProbeEvent> {
      const queue: ProbeEvent[] = [];
      let wake: (() => void) | undefined;
      let done = false;
      void runProbe(machine, options, (event) => {
        queue.push(event);
        if (event.kind === 'result') done = true;
        wake?.();
      });
      return {
        async next(): Promise<IteratorResult<ProbeEvent>> {
          while (queue.length === 0) {
            if (done) return { done: true, value: undefined };
            await new Promise<void>((resolve) => {
              wake = resolve;
            });
            wake = undefined;
          }
          return { done: false, value: queue.shift()! };
        },
      };
    },
  };
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
  let next = 0;
  const worker = async () => {
    while (next < machines.length) {
      const index = next++;
      const result = await runProbe(machines[index]!, options, onEvent === undefined ? undefined : (event) => onEvent(event, index));
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
