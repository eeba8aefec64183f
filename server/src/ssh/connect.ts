// Opens an ssh2 connection to a builder the way ssh under Nix would reach it: the resolved
// HostName and Port (through ProxyJump hops with `forwardOut` when configured), the host key
// checked against column 8 / known_hosts before anything else is sent, then the keys in ssh's
// order (identity files, column 3 among them, and the ssh-agent unless IdentitiesOnly). The TCP
// socket is ours, with Nagle off (`setNoDelay`): without it every exec on loopback gains ~40 ms.
// Each stage (tcp, handshake, auth) has its own timeout and is timed; every failure comes back
// as an SshFailure value with a cause and a fix.
import { lookup as dnsLookup } from 'node:dns';
import { isIP, Socket } from 'node:net';
import { Client, OpenSSHAgent, type ClientChannel } from 'ssh2';
import type { Duplex, Readable } from 'node:stream';
import { safeMessage, type SshFailure } from './failure';
import {
  checkHostKey,
  hostKeyPolicy,
  preferredHostKeyAlgorithms,
  type HostKeyPolicy,
  type HostKeyVerdict,
} from './hostKeyCheck';
import { Keyring, type AskPassphrase, type IdentityReport } from './keyring';
import { nameBuilder } from './remoteCommand';
import { resolveSshHost, type ResolvedHost, type ResolveResult } from './sshConfig';

export type ConnectStageName = 'tcp' | 'handshake' | 'auth';

export interface ConnectStageReport {
  name: ConnectStageName;
  ms: number;
  ok: boolean;
}

export interface ConnectTimeouts {
  /** DNS and TCP connect (ProxyJump hops included). */
  tcp: number;
  /** SSH banner, key exchange and host key. */
  handshake: number;
  auth: number;
}

export interface ConnectOptions {
  host: ResolvedHost;
  hostKeyPolicy: HostKeyPolicy;
  timeouts?: Partial<ConnectTimeouts>;
  /** The ssh-agent socket (SSH_AUTH_SOCK); none when undefined. */
  agentSocket?: string;
  askPassphrase?: AskPassphrase;
  /**
   * How long a passphrase prompt may stay unanswered (default 60 s, under sshd's LoginGraceTime
   * of 120 s). The auth timeout does not run meanwhile: the user's time is not the builder's.
   */
  passphraseTimeoutMs?: number;
  /** Resolves a ProxyJump hop (default: `resolveSshHost` with the same -F file, no other options, as ssh does). */
  resolveJump?: (hop: { user: string | undefined; host: string }) => Promise<ResolveResult>;
  onStage?: (stage: ConnectStageReport) => void;
  signal?: AbortSignal;
  /** Counts TCP connections opened (tests, the pool's statistics). */
  onTcpConnect?: (host: string, port: number) => void;
}

/** An authenticated connection. */
export interface Connection {
  client: Client;
  host: ResolvedHost;
  hostKey: HostKeyVerdict;
  identities: IdentityReport[];
  /** The key that logged in. */
  authenticatedWith: IdentityReport | undefined;
  /** True once the connection closed or failed. */
  readonly closed: boolean;
  /**
   * Why it closed when we did not close it, in the user's words: `stopped answering (…)` after
   * the keepalives went unanswered, `closed the connection`, or the socket's error. Undefined
   * while open, and when we closed it.
   */
  readonly lostBecause: string | undefined;
  /** Closes it and the jump connections under it. */
  close(): void;
  /** Called once it closed, whoever closed it, with `lostBecause`. Returns how to stop listening. */
  onClose(listener: (lostBecause: string | undefined) => void): () => void;
}

export type ConnectResult =
  | { ok: true; connection: Connection; stages: ConnectStageReport[] }
  | {
      ok: false;
      failure: SshFailure;
      stages: ConnectStageReport[];
      hostKey?: HostKeyVerdict;
      identities?: IdentityReport[];
    };

const defaultTimeoutMs = 10_000;
const defaultPassphraseTimeoutMs = 60_000;
const maxJumpDepth = 8;
/**
 * Like ssh's ServerAliveInterval 5 / ServerAliveCountMax 3: a keepalive request every 5 s, and
 * the connection is given up when 3 in a row get no reply (ssh2 then ends it about 20 s after
 * the last packet the builder answered). A builder that stops answering (its sshd stopped, a
 * cable pulled, a laptop asleep on the other end) sends no FIN or RST: TCP itself would wait
 * for minutes to hours, and every build, copy and lock of ours with it. Why these numbers: a
 * slow builder answers a keepalive within milliseconds, even under load (sshd replies to it
 * itself, without waiting for the build), so 15 s of silence is not load, and a build lost to a
 * dead peer should fail while the user still looks at it; a shorter interval only costs packets.
 */
export const keepalive = { intervalMs: 5_000, countMax: 3 };

/** Thrown inside this module only, to carry a failure out of nested steps. */
class Failed extends Error {
  constructor(readonly failure: SshFailure) {
    super(failure.cause);
  }
}

const seconds = (ms: number) => `${Math.round(ms / 100) / 10} s`;

function lookupAll(host: string, timeoutMs: number): Promise<string[]> {
  if (isIP(host) !== 0) return Promise.resolve([host]);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () =>
        reject(
          new Failed({
            code: 'dns-failed',
            cause: `the name '${host}' did not resolve within ${seconds(timeoutMs)}.`,
            fix: 'Check the host name and your DNS; or use an address, or a Host alias with HostName in ~/.ssh/config.',
          }),
        ),
      timeoutMs,
    );
    dnsLookup(host, { all: true }, (error, addresses) => {
      clearTimeout(timer);
      if (error) {
        const code = (error as NodeJS.ErrnoException).code;
        const why =
          code === 'ENOTFOUND' ? 'no such name' : code === 'EAI_AGAIN' ? 'the DNS server did not answer' : String(code);
        reject(
          new Failed({
            code: 'dns-failed',
            cause: `the name '${host}' does not resolve (${why}).`,
            fix: 'Check the spelling of the host (or the HostName of its ssh config entry) and your DNS.',
          }),
        );
      } else {
        resolve(addresses.map((address) => address.address));
      }
    });
  });
}

function tcpConnect(
  address: string,
  port: number,
  timeoutMs: number,
  label: string,
  signal: AbortSignal | undefined,
): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = new Socket();
    const cleanup = () => {
      clearTimeout(timer);
      socket.removeListener('error', onError);
      socket.removeListener('connect', onConnect);
      signal?.removeEventListener('abort', onAbort);
    };
    const onConnect = () => {
      cleanup();
      socket.setNoDelay(true);
      resolve(socket);
    };
    const onError = (error: NodeJS.ErrnoException) => {
      cleanup();
      socket.destroy();
      const where = `${label} (${address} port ${port})`;
      switch (error.code) {
        case 'ECONNREFUSED':
          reject(
            new Failed({
              code: 'connection-refused',
              cause: `nothing accepts connections at ${where}: connection refused.`,
              fix: 'Start sshd on the builder, or fix the port (Port in ssh config, or -p in NIX_SSHOPTS).',
            }),
          );
          return;
        case 'EHOSTUNREACH':
        case 'ENETUNREACH':
        case 'EADDRNOTAVAIL':
          reject(
            new Failed({
              code: 'host-unreachable',
              cause: `${where} cannot be reached (${error.code === 'ENETUNREACH' ? 'network unreachable' : 'host unreachable'}).`,
              fix: 'Check that the builder is on and on a network this machine reaches (VPN, firewall, address).',
            }),
          );
          return;
        default:
          reject(
            new Failed({
              code: 'connection-lost',
              cause: `connecting to ${where} failed: ${error.code ?? safeMessage(error)}.`,
              fix: 'Check the network path to the builder.',
            }),
          );
      }
    };
    const onAbort = () => {
      cleanup();
      socket.destroy();
      reject(new Failed({ code: 'aborted', cause: 'the connection was cancelled.', fix: '' }));
    };
    const timer = setTimeout(() => {
      cleanup();
      socket.destroy();
      reject(
        new Failed({
          code: 'connect-timeout',
          cause: `${label} (${address} port ${port}) did not accept the connection within ${seconds(timeoutMs)}.`,
          fix: 'Check that the builder is on and reachable; a firewall that drops packets looks like this.',
        }),
      );
    }, timeoutMs);
    socket.once('connect', onConnect);
    socket.once('error', onError);
    signal?.addEventListener('abort', onAbort, { once: true });
    socket.connect({ host: address, port });
  });
}

/** Parses a ProxyJump hop: `[user@]host[:port]` or `ssh://[user@]host[:port]`. */
function parseJumpHop(hop: string): { user: string | undefined; host: string; port: number | undefined } {
  let text = hop.startsWith('ssh://') ? hop.slice(6) : hop;
  let user: string | undefined;
  const at = text.lastIndexOf('@');
  if (at >= 0) {
    user = text.slice(0, at);
    text = text.slice(at + 1);
  }
  let port: number | undefined;
  const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(text);
  if (bracketed) {
    text = bracketed[1]!;
    port = bracketed[2] === undefined ? undefined : Number(bracketed[2]);
  } else {
    const colon = text.lastIndexOf(':');
    if (colon > 0 && text.indexOf(':') === colon && /^\d+$/.test(text.slice(colon + 1))) {
      port = Number(text.slice(colon + 1));
      text = text.slice(0, colon);
    }
  }
  return { user, host: text, port };
}

function forwardOut(client: Client, host: string, port: number, timeoutMs: number): Promise<ClientChannel> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no answer within ${seconds(timeoutMs)}`)), timeoutMs);
    client.forwardOut('127.0.0.1', 0, host, port, (error, channel) => {
      clearTimeout(timer);
      if (error) reject(error);
      else resolve(channel);
    });
  });
}

interface Transport {
  sock: Duplex;
  /** Connections under this one (ProxyJump hops), closed with it. */
  below: Connection[];
}

async function openTransport(options: ConnectOptions, timeouts: ConnectTimeouts, depth: number): Promise<Transport> {
  const host = options.host;
  const tcpTimeout = Math.min(timeouts.tcp, host.connectTimeoutMs ?? Infinity);
  if (host.proxyJump.length === 0) {
    if (host.proxyCommand !== undefined) {
      throw new Failed({
        code: 'proxy-command-unsupported',
        cause: `the ssh config reaches '${host.alias}' through a ProxyCommand (${host.proxyCommand}), which the probe does not run.`,
        fix: 'Use ProxyJump instead of ProxyCommand where you can (ProxyJump host is the same as ProxyCommand ssh -W %h:%p host).',
      });
    }
    const started = Date.now();
    const addresses = await lookupAll(host.hostName, tcpTimeout);
    let last: unknown;
    for (const address of addresses) {
      const left = tcpTimeout - (Date.now() - started);
      if (left <= 0) break;
      try {
        options.onTcpConnect?.(address, host.port);
        return { sock: await tcpConnect(address, host.port, left, `'${host.alias}'`, options.signal), below: [] };
      } catch (error) {
        last = error;
        if (error instanceof Failed && (error.failure.code === 'aborted' || error.failure.code === 'connect-timeout'))
          throw error;
      }
    }
    throw (
      last ??
      new Failed({
        code: 'connect-timeout',
        cause: `'${host.alias}' did not accept the connection within ${seconds(tcpTimeout)}.`,
        fix: 'Check that the builder is on and reachable.',
      })
    );
  }
  if (depth >= maxJumpDepth) {
    throw new Failed({
      code: 'proxy-jump-failed',
      cause: `ProxyJump for '${host.alias}' nests more than ${maxJumpDepth} hops (a loop in the ssh config?).`,
      fix: 'Check the ProxyJump lines of the ssh config.',
    });
  }
  // `ProxyJump a,b`: reach b through a, then the target through b (ssh runs `ssh -J a -W target b`).
  const hops = host.proxyJump;
  const last = parseJumpHop(hops[hops.length - 1]!);
  const resolveJump =
    options.resolveJump ?? ((hop) => resolveSshHost(hop, { configFile: host.commandLine.configFile, nixSshOpts: '' }));
  const resolved = await resolveJump({ user: last.user, host: last.host });
  const jumpLabel = `the jump host '${hops[hops.length - 1]}'`;
  if (!resolved.ok)
    throw new Failed({
      ...resolved.failure,
      code: 'proxy-jump-failed',
      cause: `${jumpLabel}: ${resolved.failure.cause}`,
    });
  const jumpHost: ResolvedHost = {
    ...resolved.host,
    port: last.port ?? resolved.host.port,
    // With more hops, ssh passes the rest as -J, which replaces the hop's own ProxyJump.
    proxyJump: hops.length > 1 ? hops.slice(0, -1) : resolved.host.proxyJump,
  };
  const jump = await connectInner(
    { ...options, host: jumpHost, hostKeyPolicy: hostKeyPolicy(jumpHost, last.host, undefined), onStage: undefined },
    timeouts,
    depth + 1,
  );
  if (!jump.ok)
    throw new Failed({
      ...jump.failure,
      code: jump.failure.code === 'aborted' ? 'aborted' : 'proxy-jump-failed',
      cause: `${jumpLabel}: ${jump.failure.cause}`,
      fix: jump.failure.fix,
    });
  try {
    const channel = await forwardOut(jump.connection.client, host.hostName, host.port, tcpTimeout);
    return { sock: channel, below: [jump.connection] };
  } catch (error) {
    jump.connection.close();
    throw new Failed({
      code: 'proxy-jump-failed',
      cause: `${jumpLabel} could not open a connection to ${host.hostName} port ${host.port}: ${safeMessage(error)}.`,
      fix: 'Check that the jump host can reach the builder, and that its sshd allows TCP forwarding (AllowTcpForwarding).',
    });
  }
}

function hostKeyFailure(verdict: HostKeyVerdict, host: ResolvedHost): SshFailure {
  const where =
    verdict.kind === 'unknown'
      ? ''
      : verdict.source.kind === 'column-8'
        ? 'column 8 of the machines line'
        : `${verdict.source.file} line ${verdict.source.line}`;
  switch (verdict.kind) {
    case 'mismatch':
      return {
        code: 'host-key-mismatch',
        cause: `'${host.alias}' presented the ${verdict.key.type} key ${verdict.key.fingerprint}, but ${where} expects ${verdict.expected.fingerprint}. Someone may be intercepting the connection, or the builder was reinstalled.`,
        fix: 'Check the key on the builder (ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub); only if it is really the new key, replace the old one.',
        hostKey: verdict,
      };
    case 'revoked':
      return {
        code: 'host-key-revoked',
        cause: `'${host.alias}' presented the ${verdict.key.type} key ${verdict.key.fingerprint}, which ${where} marks @revoked.`,
        fix: 'Give the builder a new host key and record that one.',
        hostKey: verdict,
      };
    case 'unknown':
      return {
        code: 'host-key-unknown',
        cause: `the ${verdict.key.type} key ${verdict.key.fingerprint} of '${host.alias}' is not known under '${verdict.lookupName}'.`,
        fix: 'Check the fingerprint on the builder, then pin it in column 8 (or add it to known_hosts).',
        hostKey: verdict,
      };
    default:
      return { code: 'handshake-failed', cause: 'the host key check failed.', fix: '', hostKey: verdict };
  }
}

function authFailure(
  host: ResolvedHost,
  keyring: Keyring,
  methodsLeft: string[] | undefined,
  unansweredAfterMs: number | undefined,
): SshFailure {
  const reports = keyring.reports();
  const encrypted = reports.find(
    (report) => report.state === 'encrypted-no-passphrase' || report.state === 'wrong-passphrase',
  );
  const destination = `${host.user}@${host.alias}`;
  if (encrypted !== undefined) {
    const wrong = encrypted.state === 'wrong-passphrase';
    const why = wrong
      ? 'the passphrase given does not open it'
      : unansweredAfterMs !== undefined
        ? `the passphrase prompt got no answer within ${seconds(unansweredAfterMs)}`
        : 'none was given';
    return {
      code: 'key-encrypted',
      cause: `${destination} accepts the key ${encrypted.source}, but it has a passphrase and ${why}.`,
      fix: `Give the passphrase, or load the key into ssh-agent, or remove its passphrase (ssh-keygen -p -f ${encrypted.source}), or use a dedicated key without one.`,
      keyFile: encrypted.source,
      methodsLeft,
    };
  }
  const offered = reports.filter((report) => report.state === 'offered' || report.state === 'signed');
  const unreadable = [
    ...host.droppedIdentityFiles,
    ...reports
      .filter((report) => report.state === 'unreadable' || report.state === 'not-a-key')
      .map((report) => report.source),
  ];
  // A key given with -i (column 3) that ssh could not read is the likely cause, whatever else was refused.
  if ((offered.length === 0 && unreadable.length > 0) || host.droppedIdentityFiles.length > 0) {
    const refused =
      offered.length > 0
        ? `; the keys offered instead were refused (${offered.map((report) => report.source).join(', ')})`
        : '';
    return {
      code: 'key-unreadable',
      cause: `${unreadable.join(', ')} cannot be read as a private key, so ssh skipped it for ${destination}${refused}.`,
      fix: 'Point column 3 (or IdentityFile) at a readable private key (the file without .pub).',
      keyFile: unreadable[0],
      methodsLeft,
    };
  }
  const tried = offered.map((report) => `${report.source}${report.fingerprint ? ` (${report.fingerprint})` : ''}`);
  const noKeys = tried.length === 0;
  return {
    code: 'auth-failed',
    cause: noKeys
      ? `${destination}: no key to offer (no readable identity file${keyring.agentProblem ? `, ${keyring.agentProblem}` : ', no ssh-agent'}).`
      : `${destination} refused every key offered: ${tried.join(', ')}${methodsLeft && methodsLeft.length > 0 ? `; the server allows: ${methodsLeft.join(', ')}` : ''}.`,
    fix: 'Add the public key to ~/.ssh/authorized_keys of that user on the builder (ssh-copy-id), or point column 3 at a key that is there.',
    methodsLeft,
  };
}

async function connectInner(options: ConnectOptions, timeouts: ConnectTimeouts, depth: number): Promise<ConnectResult> {
  const stages: ConnectStageReport[] = [];
  const report = (name: ConnectStageName, ms: number, ok: boolean) => {
    const stage = { name, ms, ok };
    stages.push(stage);
    options.onStage?.(stage);
  };
  const host = options.host;
  const tcpStarted = Date.now();
  let transport: Transport;
  try {
    transport = await openTransport(options, timeouts, depth);
  } catch (error) {
    report('tcp', Date.now() - tcpStarted, false);
    const failure =
      error instanceof Failed
        ? error.failure
        : { code: 'connection-lost' as const, cause: safeMessage(error), fix: '' };
    return { ok: false, failure, stages };
  }
  report('tcp', Date.now() - tcpStarted, true);

  const agent = options.agentSocket ? new OpenSSHAgent(options.agentSocket) : undefined;
  const userWait = new UserWait(options);
  const keyring = new Keyring({
    identityFiles: host.identityFiles,
    identitiesOnly: host.identitiesOnly,
    ...(agent === undefined ? {} : { agent }),
    ...(options.askPassphrase === undefined ? {} : { askPassphrase: userWait.ask(options.askPassphrase) }),
  });
  const client = new Client();
  nameBuilder(client, `${host.user}@${host.alias}`);
  let verdict: HostKeyVerdict | undefined;
  let methodsLeft: string[] | undefined;
  const handshakeStarted = Date.now();
  let bannerAt: number | undefined;
  let authStarted: number | undefined;
  let closed = false;
  let lostBecause: string | undefined;
  const closeListeners: Array<(lostBecause: string | undefined) => void> = [];
  const closeAll = () => {
    if (!closed) {
      closed = true;
      for (const listener of closeListeners.splice(0)) listener(lostBecause);
    }
    client.end();
    (transport.sock as Duplex).destroy?.();
    for (const below of transport.below) below.close();
  };

  return new Promise<ConnectResult>((resolve) => {
    let settled = false;
    let timer: NodeJS.Timeout | undefined;
    const finish = (result: ConnectResult) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      options.signal?.removeEventListener('abort', onAbort);
      // A prompt still open is for a connection that is over: it closes.
      userWait.stop();
      if (!result.ok) closeAll();
      resolve(result);
    };
    const fail = (failure: SshFailure) => {
      const stage: ConnectStageName = authStarted === undefined ? 'handshake' : 'auth';
      report(stage, stage === 'auth' ? authMs() : Date.now() - handshakeStarted, false);
      finish({
        ok: false,
        failure,
        stages,
        ...(verdict === undefined ? {} : { hostKey: verdict }),
        identities: keyring.reports(),
      });
    };
    const onAbort = () => fail({ code: 'aborted', cause: 'the connection was cancelled.', fix: '' });
    options.signal?.addEventListener('abort', onAbort, { once: true });

    const handshakeTimeout = timeouts.handshake;
    const bannerTimeout = Math.min(handshakeTimeout, host.connectTimeoutMs ?? Infinity);
    const kexTimedOut = () =>
      fail({
        code: 'handshake-failed',
        cause: `'${host.alias}' did not finish the SSH key exchange within ${seconds(handshakeTimeout)}.`,
        fix: "Check the builder's sshd (load, logs).",
      });
    timer = setTimeout(() => {
      if (bannerAt === undefined) {
        fail({
          code: 'banner-timeout',
          cause: `'${host.alias}' accepted the TCP connection but sent no SSH banner within ${seconds(bannerTimeout)}.`,
          fix: 'Something that is not a working sshd listens there (a hung sshd, a proxy, the wrong port); restart sshd or fix the port.',
        });
      } else {
        // The banner came in time (ConnectTimeout covers only that much); the key exchange has the rest.
        timer = setTimeout(kexTimedOut, Math.max(0, handshakeTimeout - (Date.now() - handshakeStarted)));
      }
    }, bannerTimeout);
    let authAttempted = false;

    /** The auth stage's own time: the builder's, without the user's at a passphrase prompt. */
    const authMs = () => Date.now() - (authStarted ?? handshakeStarted) - userWait.totalMs();
    const authTimedOut = () =>
      fail({
        code: 'auth-failed',
        cause: `'${host.alias}' did not finish authentication within ${seconds(timeouts.auth)}.`,
        fix: "Check the builder's sshd (a slow PAM or DNS lookup in sshd delays logins: UseDNS no).",
      });
    // The auth timeout stops while the user is asked, and goes on with what was left.
    userWait.onPause = () => clearTimeout(timer);
    userWait.onResume = () => {
      if (settled || authStarted === undefined) return;
      clearTimeout(timer);
      timer = setTimeout(authTimedOut, Math.max(0, timeouts.auth - authMs()));
    };

    // Once: ssh2 emits 'handshake' again on every later re-key.
    client.once('handshake', () => {
      report('handshake', Date.now() - handshakeStarted, true);
      authStarted = Date.now();
      clearTimeout(timer);
      timer = setTimeout(authTimedOut, timeouts.auth);
    });
    client.on('ready', () => {
      report('auth', authMs(), true);
      const identities = keyring.reports();
      const connection: Connection = {
        client,
        host,
        hostKey: verdict!,
        identities,
        authenticatedWith: identities.find((identity) => identity.state === 'signed'),
        get closed() {
          return closed;
        },
        get lostBecause() {
          return lostBecause;
        },
        close: () => closeAll(),
        onClose(listener) {
          if (closed) listener(lostBecause);
          else closeListeners.push(listener);
          // A pooled connection outlives the builds that use it: each takes its listener back.
          return () => {
            const at = closeListeners.indexOf(listener);
            if (at >= 0) closeListeners.splice(at, 1);
          };
        },
      };
      finish({ ok: true, connection, stages });
    });
    client.on('error', (error: Error & { level?: string }) => {
      // A key the agent (or our keyring) could not sign with: ssh2 goes on with the next key.
      if (error.level === 'agent') return;
      if (settled) {
        // ssh2's keepalive gave up ('client-timeout'), or the socket failed under us.
        lostBecause ??=
          error.level === 'client-timeout'
            ? `stopped answering (no reply to ${keepalive.countMax} keepalives ${keepalive.intervalMs / 1000} s apart)`
            : `dropped the connection (${safeMessage(error)})`;
        closeAll();
        return;
      }
      if (verdict !== undefined && verdict.kind !== 'verified') return fail(hostKeyFailure(verdict, host));
      if (authStarted !== undefined) {
        if (error.level === 'client-authentication')
          return fail(authFailure(host, keyring, methodsLeft, userWait.unansweredAfterMs));
        return fail({
          code: 'connection-lost',
          cause: `'${host.alias}' closed the connection during authentication: ${safeMessage(error)}.`,
          fix: "Check the builder's sshd log.",
        });
      }
      if (bannerAt === undefined) {
        return fail({
          code: 'connection-lost',
          cause: `'${host.alias}' closed the connection before sending an SSH banner.`,
          fix: 'Check that sshd listens on that port (not another service), and its MaxStartups / tcp wrappers.',
        });
      }
      fail({
        code: 'handshake-failed',
        cause: `the SSH key exchange with '${host.alias}' failed: ${safeMessage(error)}.`,
        fix: "Check the builder's sshd configuration (host keys, ciphers).",
      });
    });
    client.on('close', () => {
      if (!settled) {
        if (verdict !== undefined && verdict.kind !== 'verified') return fail(hostKeyFailure(verdict, host));
        return fail({
          code: 'connection-lost',
          cause: `'${host.alias}' closed the connection${bannerAt === undefined ? ' before sending an SSH banner' : ''}.`,
          fix: "Check the builder's sshd log.",
        });
      }
      if (!closed) lostBecause ??= 'closed the connection';
      closeAll();
    });

    client.connect({
      sock: transport.sock as Readable,
      username: host.user,
      readyTimeout: 0,
      keepaliveInterval: keepalive.intervalMs,
      keepaliveCountMax: keepalive.countMax,
      algorithms: { serverHostKey: preferredHostKeyAlgorithms(options.hostKeyPolicy) as never },
      // Called with the raw key blob (hostHash unset). Anything but a verified key stops here:
      // no authentication is attempted with a host we could not verify.
      hostVerifier: (key: Buffer) => {
        verdict = checkHostKey(key, options.hostKeyPolicy);
        return verdict.kind === 'verified';
      },
      debug: (message: string) => {
        if (bannerAt === undefined && message.startsWith('Remote ident')) bannerAt = Date.now();
      },
      authHandler: (methods, _partial, next) => {
        if (methods !== null && methods !== undefined) methodsLeft = [...methods];
        if (authAttempted) return next(false as never);
        authAttempted = true;
        next({ type: 'agent', username: host.user, agent: keyring });
      },
    });
  });
}

/**
 * The time spent waiting for the user at passphrase prompts during one connection: the auth
 * timeout pauses meanwhile, each prompt has its own limit, and a prompt still open when the
 * connection is over (or the caller aborts) is told to close.
 */
class UserWait {
  onPause: () => void = () => undefined;
  onResume: () => void = () => undefined;
  /** The limit after which a prompt was given up unanswered, if one was. */
  unansweredAfterMs: number | undefined;
  private waitedMs = 0;
  private since: number | undefined;
  private readonly open = new Set<AbortController>();

  constructor(private readonly options: Pick<ConnectOptions, 'passphraseTimeoutMs' | 'signal'>) {}

  totalMs(): number {
    return this.waitedMs + (this.since === undefined ? 0 : Date.now() - this.since);
  }

  ask(askUser: AskPassphrase): AskPassphrase {
    return async (keyFile) => {
      const limit = this.options.passphraseTimeoutMs ?? defaultPassphraseTimeoutMs;
      const asking = new AbortController();
      this.open.add(asking);
      const giveUp = setTimeout(() => {
        this.unansweredAfterMs = limit;
        asking.abort();
      }, limit);
      const onAbort = () => asking.abort();
      this.options.signal?.addEventListener('abort', onAbort, { once: true });
      this.since = Date.now();
      this.onPause();
      try {
        const given = new Promise<undefined>((resolve) =>
          asking.signal.addEventListener('abort', () => resolve(undefined), { once: true }),
        );
        return await Promise.race([askUser(keyFile, asking.signal).catch(() => undefined), given]);
      } finally {
        clearTimeout(giveUp);
        this.options.signal?.removeEventListener('abort', onAbort);
        this.open.delete(asking);
        this.waitedMs += Date.now() - (this.since ?? Date.now());
        this.since = undefined;
        this.onResume();
      }
    };
  }

  /** Closes every prompt still open. */
  stop(): void {
    for (const asking of this.open) asking.abort();
  }
}

/**
 * Connects and authenticates. Resolves with the connection or a failure value; never throws and
 * never leaves a socket open on failure.
 */
export async function connect(options: ConnectOptions): Promise<ConnectResult> {
  const timeouts: ConnectTimeouts = {
    tcp: options.timeouts?.tcp ?? defaultTimeoutMs,
    handshake: options.timeouts?.handshake ?? defaultTimeoutMs,
    auth: options.timeouts?.auth ?? defaultTimeoutMs,
  };
  return connectInner(options, timeouts, 0);
}
