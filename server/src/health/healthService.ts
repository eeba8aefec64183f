// Runs health probes for the Remote Builders view and the build command: all machines in
// parallel on one connection pool, results streamed to the client as each one finishes, the
// last result kept per machine. In an untrusted workspace nothing connects anywhere.
import { CancellationTokenSource, type CancellationToken, type Connection } from 'vscode-languageserver';
import type { BuilderList } from '../builders/builderList';
import type { ServerContext } from '../context/serverContext';
import { askPassphraseRequest, healthNotification, type MachineHealth } from '../protocol';
import { oneTimeSealingKey } from '../sealedSecret';
import type { ConnectionPool } from '../ssh/pool';
import { ConnectSlots } from './connectSlots';
import { healthSummary } from './findings';
import { probeMachines, type ProbeResult } from './probe';

export class HealthService {
  private readonly last = new Map<string, MachineHealth>();
  /** Passphrases the user typed this session, by key file: memory only, never logged. */
  private readonly passphrases = new Map<string, string>();
  private readonly listeners: ((health: MachineHealth) => void)[] = [];
  /** One for every check of this session: two checks at once still take turns to log in to one sshd. */
  private readonly connectSlots = new ConnectSlots();

  constructor(
    private readonly connection: Connection,
    private readonly builders: BuilderList,
    private readonly context: ServerContext,
    /** Shared with builds: a probe's connection is reused by the build that follows. */
    private readonly pool: ConnectionPool,
  ) {}

  /** Calls `listener` with each result as it is published (the Problems panel follows them). */
  onResult(listener: (health: MachineHealth) => void): void {
    this.listeners.push(listener);
  }

  /** The last known health of a machine, if it was probed. */
  health(id: string): MachineHealth | undefined {
    return this.last.get(id);
  }

  /** `token`: the client cancelled the check; the probes stop, and so do their passphrase prompts. */
  async probe(ids: string[] | undefined, token?: CancellationToken): Promise<MachineHealth[]> {
    const all = await this.builders.builders();
    const chosen = [...all.builders.values()].filter((b) => ids === undefined || ids.includes(b.info.id));
    if (!this.context.trusted) {
      // Workspace trust is what allows SSH: say so per machine instead of connecting.
      return chosen.map((b) =>
        this.publish(
          machineHealth(b.info.id, {
            uri: b.info.uri,
            status: 'untrusted',
            findings: [],
            stages: [],
            facts: {},
            ms: 0,
          }),
        ),
      );
    }
    for (const b of chosen)
      this.publish(
        machineHealth(b.info.id, { uri: b.info.uri, status: 'probing', findings: [], stages: [], facts: {}, ms: 0 }),
      );
    const { settings, local, target } = await this.context.nixHere();
    const cancelled = new AbortController();
    const listening = token?.onCancellationRequested(() => cancelled.abort());
    if (token?.isCancellationRequested) cancelled.abort();
    const userConfig = settings.sshConfigFile || undefined;
    const results = await probeMachines(
      chosen.map((b) => (b.configuredSsh ? { ...b.machine, configuredSsh: b.configuredSsh(userConfig) } : b.machine)),
      {
        timeoutMs: Math.max(1, settings.probeTimeout ?? 10) * 1000,
        ...(settings.sshConfigFile ? { sshConfigFile: settings.sshConfigFile } : {}),
        daemon: local.daemon,
        portInUri: target.rules.portInUri,
        pool: this.pool,
        connectSlots: this.connectSlots,
        askPassphrase: (keyFile, signal) => this.askPassphrase(keyFile, signal),
        signal: cancelled.signal,
      },
      (result, index) => {
        const builder = chosen[index]!;
        this.publish(machineHealth(builder.info.id, result));
      },
    ).finally(() => listening?.dispose());
    return results.map(
      (result, index) => this.last.get(chosen[index]!.info.id) ?? machineHealth(chosen[index]!.info.id, result),
    );
  }

  private publish(health: MachineHealth): MachineHealth {
    if (health.status !== 'probing') this.last.set(health.id, health);
    void this.connection.sendNotification(healthNotification, health);
    for (const listener of this.listeners) listener(health);
    return health;
  }

  private async askPassphrase(keyFile: string, signal?: AbortSignal): Promise<string | undefined> {
    const known = this.passphrases.get(keyFile);
    if (known !== undefined) return known;
    // A key pair for this question only: the client answers with the passphrase sealed to it,
    // so the LSP message (and any trace of it) carries ciphertext, never the passphrase.
    const sealing = oneTimeSealingKey();
    // When the probe no longer waits, the request is cancelled: the client closes its prompt.
    const cancel = new CancellationTokenSource();
    const onAbort = () => cancel.cancel();
    if (signal?.aborted) return undefined;
    signal?.addEventListener('abort', onAbort, { once: true });
    const answer = await this.connection
      .sendRequest(askPassphraseRequest, { keyFile, sealTo: sealing.publicKey }, cancel.token)
      .catch(() => null)
      .finally(() => {
        signal?.removeEventListener('abort', onAbort);
        cancel.dispose();
      });
    if (signal?.aborted) return undefined;
    if (answer === null || answer === undefined) return undefined;
    const passphrase = sealing.open(answer.sealed);
    // An answer that does not open (an old client's plain text, a broken box) counts as declined.
    if (passphrase === undefined) return undefined;
    this.passphrases.set(keyFile, passphrase);
    return passphrase;
  }

  /** The passphrase callback builds use too (one prompt per key per session). */
  readonly passphrase = (keyFile: string, signal?: AbortSignal) => this.askPassphrase(keyFile, signal);
}

/** A probe's result (or a status without one) as the client gets it, with the title lists show. */
function machineHealth(
  id: string,
  result: Omit<ProbeResult, 'status'> & { status: MachineHealth['status'] },
): MachineHealth {
  return { id, ...result, summary: healthSummary(result.status, result.findings), at: Date.now() };
}
