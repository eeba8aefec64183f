// "Build on remote" for the editor: plan (evaluate the target once, say which machine Nix would
// pick and why not the others), then build that derivation through runBuild.ts, on the machine
// picked or distributed, with the log streamed to the client. Keeps the load per machine, so
// the next choice counts the builds already running, as Nix counts busy slots.
import { log } from '../context/log';
import { traced } from '../context/timingTrace';
import { randomUUID } from 'node:crypto';
import type { CancellationToken, Connection } from 'vscode-languageserver';
import type { BuilderList } from '../builders/builderList';
import type { Builder } from '../builders/effectiveBuilders';
import type { HealthService } from '../health/healthService';
import type { ServerContext } from '../context/serverContext';
import type { NixTarget } from '../context/target';
import { lintMachine } from '../model/lint/index';
import { unusableReason } from '../model/usableMachine';
import {
  buildLogNotification,
  type BuilderMachine,
  type BuildChoice,
  type BuildOutcome,
  type BuildPlan,
  type BuildTarget,
  type StartBuildParams,
} from '../protocol';
import type { ConnectionPool } from '../ssh/pool';
import { connectAhead, likelyMachine } from './connectAhead';
import { derivationOf } from './currentDerivation';
import { checkOf, machinesForDistributed, type DistributedMachines } from './distributedMachines';
import { buildCandidate, failedBuild, noMachineFits, runBuild, type BuildPlace } from './runBuild';
import { selectMachine, type Candidate } from './select';
import { whatTellsApart } from './whatTellsApart';

export class BuildOnRemote {
  /** Builds we are running, per machine id: the load Nix would see as busy slots. */
  private readonly running = new Map<string, number>();

  constructor(
    private readonly connection: Connection,
    private readonly builders: BuilderList,
    private readonly health: HealthService,
    private readonly context: ServerContext,
    private readonly pool: ConnectionPool,
  ) {}

  private candidate(builder: Builder, target: NixTarget): Candidate {
    const health = this.health.health(builder.info.id);
    const failed =
      health?.status === 'down'
        ? `its last check failed: ${health.findings.find((f) => f.severity === 'error')?.title ?? 'down'}`
        : undefined;
    return buildCandidate(builder.info.id, builder.machine, target, this.running.get(builder.info.id) ?? 0, failed);
  }

  /**
   * The machines a distributed build may hand to Nix: none the lint marks unusable, none whose
   * last probe failed. Machines never probed are probed first (the lint-unusable ones never
   * are: they are refused before anything connects).
   */
  private async distributedMachines(all: Builder[], target: NixTarget): Promise<DistributedMachines> {
    const usable = all.filter((b) => unusableReason(b.machine, lintMachine(b.machine, target)) === undefined);
    const unchecked = usable.filter((b) => this.health.health(b.info.id) === undefined).map((b) => b.info.id);
    if (unchecked.length > 0) await this.health.probe(unchecked);
    return machinesForDistributed(
      all.map((b) => ({ machine: b.machine, health: checkOf(this.health.health(b.info.id)) })),
      target,
    );
  }

  async plan(target: BuildTarget): Promise<BuildPlan> {
    // Nix evaluates while the builders are listed and the machine a build will most likely go to
    // is connected to (connectAhead.ts): a build picked from the plan then finds it in the pool.
    const evaluation = traced('evaluation', () => derivationOf(target.file, target.attr));
    const known = Promise.all([this.builders.builders(), this.context.nixHere()]);
    void known.then(
      ([effective, here]) => this.connectAhead(effective, here),
      () => undefined,
    );
    const source = await evaluation;
    if (!source.ok)
      return 'needsAttribute' in source
        ? { ok: false, needsAttribute: source.needsAttribute }
        : { ok: false, error: source.error };
    const [effective, { target: nix }] = await known;
    const needs = { system: source.derivation.system, requiredFeatures: source.derivation.requiredSystemFeatures };
    const builderOf = (m: BuilderMachine) => effective.builders.get(m.id)!;
    // Nix reads one builders list: its sources choose together, as `nix-builders select` does.
    // A workspace file Nix does not read chooses among its own lines, as `select -m FILE` would.
    const groups: { builders: Builder[]; from: string | undefined }[] = [
      {
        builders: effective.sources.filter((s) => s.usedByNix).flatMap((s) => s.machines.map(builderOf)),
        from: undefined,
      },
      ...effective.sources
        .filter((s) => !s.usedByNix)
        .map((s) => ({ builders: s.machines.map(builderOf), from: s.file ?? s.label })),
    ];
    const picks = groups.map((group) => ({
      ...group,
      selection: selectMachine(
        group.builders.map((b) => this.candidate(b, nix)),
        needs,
        nix.rules,
      ),
    }));
    const nixPick = picks[0]!;
    // Where Nix reads no machine at all, a build on `best` uses the first workspace file's pick.
    const fallback =
      nixPick.builders.length === 0 ? picks.slice(1).find((p) => p.selection.chosen !== undefined) : undefined;
    const bestPick = fallback ?? nixPick;
    const best = bestPick.selection.chosen?.id;
    const tells = whatTellsApart(picks.flatMap((p) => p.builders.map((b) => b.info)));
    const choices: BuildChoice[] = picks.flatMap(({ selection, from }) =>
      selection.verdicts.map((v) => {
        const info = effective.builders.get(v.candidate.id)!.info;
        const kind = v.kind === 'chosen' && v.candidate.id !== best ? 'not-best' : v.kind;
        const checked: BuildChoice['checked'] = this.health.health(info.id)?.status ?? 'unchecked';
        // A file's own pick that is not the build's: it fits, and would be Nix's were the file read.
        const reason =
          kind === v.kind
            ? v.reason
            : `fits; the pick among its file's lines (${v.reason.replace(/^the least loaded for its speed \((.*)\)$/, '$1')})`;
        const choice = {
          id: info.id,
          label: info.label,
          uri: info.uri,
          kind,
          usable: usableChoice(kind),
          reason,
          checked,
          tells: tells.get(info.id) ?? '',
        };
        return { ...choice, detail: choiceDetail(choice, from, this.health.health(info.id)?.summary) };
      }),
    );
    // The machine a build on `best` uses comes first: it is the row the picker highlights.
    choices.sort((x, y) => Number(y.id === best) - Number(x.id === best));
    return {
      ok: true,
      drvPath: source.drvPath,
      system: needs.system,
      requiredFeatures: [...needs.requiredFeatures],
      best,
      bestWhy:
        best === undefined
          ? undefined
          : fallback
            ? `what Nix would pick from ${fallback.from} (Nix itself reads no builders here)`
            : "Nix's choice",
      choices,
      wouldWait: bestPick.selection.wouldWait,
    };
  }

  /**
   * Starts connecting to the machine Nix would pick for a derivation of this machine's system,
   * only in a trusted workspace; the connection waits in the pool (closed when idle, pool.ts).
   */
  private connectAhead(
    effective: Awaited<ReturnType<BuilderList['builders']>>,
    here: Awaited<ReturnType<ServerContext['nixHere']>>,
  ): void {
    if (!this.context.trusted) return;
    const used = effective.sources.filter((s) => s.usedByNix).flatMap((s) => s.machines);
    const machines = used
      .map((info) => effective.builders.get(info.id))
      .filter((b): b is Builder => b !== undefined)
      .map((b) => {
        const candidate = this.candidate(b, here.target);
        return { machine: b.machine, load: candidate.load, down: candidate.down };
      });
    // Let go at once: the connection stays in the pool, idle, for the build that follows.
    connectAhead(likelyMachine(machines, here.target), {
      pool: this.pool,
      target: here.target,
      sshConfigFile: here.settings.sshConfigFile,
      daemon: here.local.daemon,
    })();
  }

  async build(params: StartBuildParams, token?: CancellationToken): Promise<BuildOutcome> {
    const started = Date.now();
    const buildId = params.buildId || randomUUID();
    const fail = (cause: string, message: string) => failedBuild(buildId, started, cause, message);
    if (!this.context.trusted)
      return fail(
        'untrusted-workspace',
        'This workspace is not trusted: building on a remote builder needs SSH. Trust the workspace first.',
      );
    // The plan's derivation, when the client carries it: read as it is, the file not evaluated again.
    const plan = await this.plan(params.drvPath !== undefined ? { file: params.drvPath } : params);
    if (!plan.ok)
      return 'error' in plan
        ? fail('evaluation', plan.error)
        : fail('needs-attribute', `Choose one of: ${plan.needsAttribute.join(', ')}`);

    const abort = new AbortController();
    token?.onCancellationRequested(() => abort.abort());
    const [{ settings, local, target }, effective] = await Promise.all([
      this.context.nixHere(),
      this.builders.builders(),
    ]);
    const id = params.on === 'best' ? plan.best : params.on;
    const builder = id === undefined || id === 'distributed' ? undefined : effective.builders.get(id);
    const on: BuildPlace =
      params.on === 'distributed'
        ? { distributed: () => this.distributedMachines([...effective.builders.values()], target) }
        : id === undefined
          ? { none: noMachineFits(plan.system, plan.choices) }
          : builder === undefined
            ? { none: 'That builder is no longer in the configuration; refresh the view.' }
            : { machine: builder.machine };
    // The builds running per machine are the load the next choice counts, as Nix counts busy slots.
    if (builder) this.running.set(builder.info.id, (this.running.get(builder.info.id) ?? 0) + 1);
    log.info(
      `Build ${plan.drvPath} on ${params.on === 'distributed' ? 'distributed' : (builder?.info.uri ?? params.on ?? 'best')}`,
    );
    try {
      const outcome = await runBuild({
        buildId,
        ...(params.on === 'best' || params.on === 'distributed' ? {} : { picked: builder?.info.uri ?? params.on }),
        drvPath: plan.drvPath,
        on,
        target,
        sshConfigFile: settings.sshConfigFile,
        daemon: local.daemon,
        pool: this.pool,
        askPassphrase: this.health.passphrase,
        signal: abort.signal,
        onLog: (line) => {
          log.debug(`build: ${line}`);
          void this.connection.sendNotification(buildLogNotification, { buildId, line });
        },
        onPhase: (phase, detail) => {
          log.info(`build: ${phase}${detail ? `: ${detail}` : ''}`);
          void this.connection.sendNotification(buildLogNotification, { buildId, phase, detail });
        },
        started,
      });
      (outcome.ok ? log.info : log.warn)(
        outcome.ok
          ? `Build done: ${outcome.summary}`
          : `Build failed (${outcome.cause}): ${outcome.message} after ${outcome.ms} ms`,
      );
      return outcome;
    } finally {
      if (builder) this.running.set(builder.info.id, (this.running.get(builder.info.id) ?? 1) - 1);
    }
  }
}

/** A build choice the user may build on: Nix's choice, or a machine that fits but is not the best. */
export function usableChoice(kind: BuildChoice['kind']): boolean {
  return kind === 'chosen' || kind === 'not-best';
}

/**
 * A row's second line: why (not), what the last check says (a machine never checked fits only on
 * paper), what tells it apart from its twins, and the file Nix does not read it from.
 */
export function choiceDetail(
  choice: Omit<BuildChoice, 'detail'>,
  from: string | undefined,
  checkSummary: string | undefined,
): string {
  const checked =
    choice.checked === 'unchecked'
      ? 'not checked yet'
      : choice.checked === 'up' || choice.kind === 'down'
        ? undefined
        : `last check: ${choice.checked}${checkSummary ? ` (${checkSummary})` : ''}`;
  const parts = [
    choice.reason,
    checked,
    choice.tells || undefined,
    from === undefined ? undefined : `from ${from}, which Nix does not read`,
  ];
  return parts.filter((part) => part !== undefined).join(' · ');
}
