// One SSH connection per destination, shared: keyed by the resolved user, host, port and key
// (and jump hops), so two machines lines that reach the same account share it. Concurrent
// requests for a key wait on the one connect in flight; a connection nobody uses is closed after
// `idleMs`; a connection that drops is forgotten, and the next request opens a new one. A user
// that finds the connection broken while it still looks open (the builder's sshd refuses to
// start commands on it, its session half gone) discards it: closed and forgotten at once, so
// no later request is handed a connection that can no longer run anything. A tentative
// request (a connect started ahead, before anyone knows it is needed: connectAhead.ts) opens
// without the user's help (no passphrase prompt); when it fails, a request that joined it does
// not inherit the failure but tries again with its own means.
// While the editor's Remote Builders view is visible (`keepWarm(true)`, from the client's
// viewVisible notification), an idle connection is kept up to `warmMs` since its last use
// instead of `idleMs`, so a check or build the user starts from the view finds the builder
// connected; the keepalives go on, so a builder gone is still noticed and forgotten. Once the
// view hides, `idleMs` counts again from then.
import type { Connection, ConnectResult } from './connect';
import type { SshFailure } from './failure';
import type { ResolvedHost } from './sshConfig';

export interface PoolOptions {
  /**
   * Close a connection nobody has used for this long (default 60 s). How warm the editor stays:
   * the language server keeps 60 s (server.ts), so a build or check after another one, or the
   * view's own checks (autoPing, every 60 s by default) find the builder connected, and its 5 s
   * keepalives (connect.ts) notice a builder gone in the meantime; a builder nobody has used
   * for a minute is let go (while the view is hidden; see `warmMs`), never held open for as
   * long as the editor runs. The CLI keeps 1 s.
   */
  idleMs?: number;
  /**
   * While kept warm (`keepWarm(true)`: the editor's view is visible), close a connection nobody
   * has used for this long instead (default 10 min): the view left open over lunch does not hold
   * a builder's sshd session for the rest of the day.
   */
  warmMs?: number;
}

export interface PoolStats {
  /** Connections opened (connect attempts that succeeded). */
  opened: number;
  /** Requests served by a connection already open or being opened. */
  reused: number;
  /** Connections closed because they were idle. */
  closedIdle: number;
  /** Connections open now. */
  open: number;
}

export interface Lease {
  connection: Connection;
  /** The connection was already open (or being opened by another request). */
  reused: boolean;
  /** Gives the connection back; it is closed after `idleMs` unless used again. Idempotent. */
  release(): void;
  /**
   * Gives it back as broken: the pool forgets it and closes it now, whoever else holds it
   * (their commands fail as they would on a dropped connection). Idempotent.
   */
  discard(): void;
}

export type LeaseResult = { ok: true; lease: Lease } | { ok: false; failure: SshFailure };

interface Entry {
  pending: Promise<ConnectResult> | undefined;
  /** The connect in flight was started ahead: its failure is not its joiners' (see above). */
  tentative: boolean;
  connection: Connection | undefined;
  users: number;
  idleTimer: NodeJS.Timeout | undefined;
  /** When the last user gave it back (Date.now()): the warm limit counts from there. */
  idleSince: number;
}

/**
 * For tests only: the idle time NIX_BUILDERS_TEST_IDLE_MS gives (a whole number of ms, at
 * least 1), so a test can see an idle time pass; anything else is no override.
 */
export function testIdleMs(env: NodeJS.ProcessEnv = process.env): number | undefined {
  const value = env.NIX_BUILDERS_TEST_IDLE_MS;
  return value !== undefined && /^[1-9]\d{0,8}$/.test(value) ? Number(value) : undefined;
}

/** The pool key of a resolved destination: who, where, with which key first, through which hops. */
export function poolKey(
  host: Pick<ResolvedHost, 'user' | 'hostName' | 'port' | 'proxyJump' | 'identityFiles'>,
): string {
  return JSON.stringify([host.user, host.hostName, host.port, host.identityFiles[0] ?? '', host.proxyJump]);
}

export class ConnectionPool {
  private readonly entries = new Map<string, Entry>();
  private readonly idleMs: number;
  private readonly warmMs: number;
  private warm = false;
  private counters = { opened: 0, reused: 0, closedIdle: 0 };
  private closing = false;

  constructor(options: PoolOptions = {}) {
    this.idleMs = options.idleMs ?? 60_000;
    this.warmMs = options.warmMs ?? 600_000;
  }

  /**
   * Keeps idle connections open up to `warmMs` since their last use (true), or lets them go
   * after `idleMs` from now (false). Opens nothing: with no connection (an untrusted
   * workspace never has one) it changes nothing.
   */
  keepWarm(warm: boolean): void {
    if (warm === this.warm) return;
    this.warm = warm;
    const now = Date.now();
    for (const [key, entry] of this.entries) {
      if (entry.users > 0 || entry.connection === undefined) continue;
      this.startIdleTimer(key, entry, warm ? Math.max(0, entry.idleSince + this.warmMs - now) : this.idleMs);
    }
  }

  stats(): PoolStats {
    let open = 0;
    for (const entry of this.entries.values()) if (entry.connection !== undefined && !entry.connection.closed) open++;
    return { ...this.counters, open };
  }

  /** A connection for `key`, opening it with `open` when there is none (one open at a time per key). */
  async acquire(
    key: string,
    open: () => Promise<ConnectResult>,
    options: { tentative?: boolean } = {},
  ): Promise<LeaseResult> {
    const tentative = options.tentative === true;
    if (this.closing)
      return { ok: false, failure: { code: 'aborted', cause: 'the connection pool is closed.', fix: '' } };
    let entry = this.entries.get(key);
    if (entry?.connection?.closed) {
      this.forget(key, entry);
      entry = undefined;
    }
    if (entry !== undefined) {
      entry.users++;
      this.counters.reused++;
      this.stopIdleTimer(entry);
      if (entry.connection !== undefined) return { ok: true, lease: this.lease(key, entry, entry.connection, true) };
      const joinedTentative = entry.tentative;
      const result = await entry.pending!;
      if (!result.ok) {
        entry.users--;
        if (joinedTentative && !tentative) return this.acquire(key, open);
        return { ok: false, failure: result.failure };
      }
      return { ok: true, lease: this.lease(key, entry, result.connection, true) };
    }
    const fresh: Entry = {
      pending: undefined,
      tentative,
      connection: undefined,
      users: 1,
      idleTimer: undefined,
      idleSince: Date.now(),
    };
    this.entries.set(key, fresh);
    fresh.pending = open();
    const result = await fresh.pending;
    fresh.pending = undefined;
    if (!result.ok) {
      if (this.entries.get(key) === fresh) this.entries.delete(key);
      return { ok: false, failure: result.failure };
    }
    this.counters.opened++;
    this.track(key, fresh, result.connection);
    return { ok: true, lease: this.lease(key, fresh, result.connection, false) };
  }

  /**
   * Hands an open connection to the pool (e.g. the one a health probe just made), idle. If the
   * pool already holds one for the key, the given one is closed.
   */
  adopt(key: string, connection: Connection): void {
    const existing = this.entries.get(key);
    if (this.closing || (existing !== undefined && !existing.connection?.closed)) {
      connection.close();
      return;
    }
    const entry: Entry = {
      pending: undefined,
      tentative: false,
      connection: undefined,
      users: 0,
      idleTimer: undefined,
      idleSince: Date.now(),
    };
    this.entries.set(key, entry);
    this.counters.opened++;
    this.track(key, entry, connection);
    this.startIdleTimer(key, entry);
  }

  /** Closes every connection; later `acquire` calls fail. */
  async close(): Promise<void> {
    this.closing = true;
    const pending: Array<Promise<unknown>> = [];
    for (const [key, entry] of this.entries) {
      if (entry.pending !== undefined)
        pending.push(entry.pending.then((result) => result.ok && result.connection.close()));
      entry.connection?.close();
      this.forget(key, entry);
    }
    await Promise.all(pending);
  }

  private track(key: string, entry: Entry, connection: Connection): void {
    entry.connection = connection;
    connection.onClose(() => {
      if (this.entries.get(key) === entry) this.forget(key, entry);
    });
  }

  private lease(key: string, entry: Entry, connection: Connection, reused: boolean): Lease {
    let released = false;
    return {
      connection,
      reused,
      release: () => {
        if (released) return;
        released = true;
        entry.users--;
        if (entry.users > 0 || this.entries.get(key) !== entry) return;
        entry.idleSince = Date.now();
        this.startIdleTimer(key, entry);
      },
      discard: () => {
        if (!released) {
          released = true;
          entry.users--;
        }
        this.forget(key, entry);
        connection.close();
      },
    };
  }

  private startIdleTimer(key: string, entry: Entry, ms = this.warm ? this.warmMs : this.idleMs): void {
    this.stopIdleTimer(entry);
    entry.idleTimer = setTimeout(() => {
      if (entry.users > 0 || this.entries.get(key) !== entry) return;
      this.counters.closedIdle++;
      this.forget(key, entry);
      entry.connection?.close();
    }, ms);
    entry.idleTimer.unref();
  }

  private stopIdleTimer(entry: Entry): void {
    if (entry.idleTimer !== undefined) clearTimeout(entry.idleTimer);
    entry.idleTimer = undefined;
  }

  private forget(key: string, entry: Entry): void {
    this.stopIdleTimer(entry);
    if (this.entries.get(key) === entry) this.entries.delete(key);
  }
}
