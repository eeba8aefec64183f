// How many logins one check of many machines makes at once to one sshd. sshd drops new
// connections at random once MaxStartups of them are still unauthenticated (default
// `10:30:100`: from 10 on, 30 % and rising; sshd_config(5)), so checking many machines that
// reach the same sshd (aliases of one host, a line per system, one jump host for all) with
// every probe connecting at once would invent "connection lost" failures Nix never sees. A
// probe holds its destination's slot from TCP until it is logged in (or has failed), then lets
// the next one in: logged-in connections are not counted by MaxStartups.
import type { ResolvedHost } from '../ssh/sshConfig';

/** Below sshd's default MaxStartups (10), with room for the user's own sessions. */
export const DEFAULT_LOGINS_PER_SSHD = 8;

/** The sshd a connection's TCP goes to: the first jump host's, else the host's own. */
export function sshdOf(host: Pick<ResolvedHost, 'hostName' | 'port' | 'proxyJump'>): string {
  return host.proxyJump.length > 0 ? `jump ${host.proxyJump[0]}` : `${host.hostName}:${host.port}`;
}

export class ConnectSlots {
  private readonly inUse = new Map<string, number>();
  private readonly queues = new Map<string, (() => void)[]>();

  constructor(private readonly perSshd = DEFAULT_LOGINS_PER_SSHD) {}

  /** Runs `login` once `sshd` has a free slot (or at once when `signal` aborts: it then fails fast itself). */
  async hold<T>(sshd: string, login: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    await this.take(sshd, signal);
    try {
      return await login();
    } finally {
      this.give(sshd);
    }
  }

  private take(sshd: string, signal?: AbortSignal): Promise<void> {
    const used = this.inUse.get(sshd) ?? 0;
    if (used < this.perSshd || signal?.aborted) {
      this.inUse.set(sshd, used + 1);
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const queue = this.queues.get(sshd) ?? [];
      this.queues.set(sshd, queue);
      const enter = () => {
        signal?.removeEventListener('abort', onAbort);
        this.inUse.set(sshd, (this.inUse.get(sshd) ?? 0) + 1);
        resolve();
      };
      const onAbort = () => {
        const at = queue.indexOf(enter);
        if (at >= 0) queue.splice(at, 1);
        enter();
      };
      queue.push(enter);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  private give(sshd: string): void {
    const used = (this.inUse.get(sshd) ?? 1) - 1;
    if (used === 0) this.inUse.delete(sshd);
    else this.inUse.set(sshd, used);
    const queue = this.queues.get(sshd);
    const next = queue?.shift();
    if (queue !== undefined && queue.length === 0) this.queues.delete(sshd);
    next?.();
  }
}
