// "Build on remote" for the client and the CLI: evaluate the target, pick the machine Nix would
// pick (or the one the user picked), offload the build over the pooled SSH connection with the
// log streamed, or hand the whole graph to Nix ("distributed"). Keeps the load per machine, so
// the next choice counts the builds already running, as Nix counts busy slots.
import { randomUUID } from 'node:crypto';
import type { CancellationToken, Connection } from 'vscode-languageserver';
import type { BuildersService } from '../builders/buildersService';
import type { Builder } from '../builders/effectiveBuilders';
import { detectLocalNix } from '../builders/localNix';
import type { HealthService } from '../health/healthService';
import type { SettingsCache } from '../language/settings';
import { nixTarget, type NixTarget } from '../language/target';
import { lintMachine } from '../model/lint/index';
import { unusableReason } from '../model/usableMachine';
import {
  buildLogNotification,
  type BuildChoice,
  type BuildOutcome,
  type BuildPlan,
  type BuildTarget,
  type StartBuildParams,
} from '../protocol';
import type { ConnectionPool } from '../ssh/pool';
import { derivationOf } from './currentDerivation';
import { buildDistributed } from './distributed';
import { buildForUntrustedUser } from './untrustedBuild';
import { offload } from './offload';
import { candidateOf, selectMachine, type Candidate } from './select';
import { checkOf, leftOutInWords, machinesForDistributed, nothingLeftMessage, type DistributedMachines } from './distributedMachines';


export class BuildService {
  /** Builds we are running, per machine id: the load Nix would see as busy slots. */
  private readonly running = new Map<string, number>();

  constructor(
    private readonly connection: Connection,
    private readonly builders: BuildersService,
    private readonly health: HealthService,
    private readonly settings: SettingsCache,
    private readonly trusted: () => boolean,
    private readonly pool: ConnectionPool,
  ) {}

  private candidate(builder: Builder, target: NixTarget): Candidate {
    const health = this.health.health(builder.info.id);
    // A machine the lint marks unusable (shell code in its settings, a local store, …) is never built on.
    const unusable = unusableReason(builder.machine, lintMachine(builder.machine, target));
    const down =
      unusable !== undefined
        ? `refused (${unusable.code}): ${unusable.reason}`
        : health?.status === 'down'
          ? `its last check failed: ${health.findings.find((f) => f.severity === 'error')?.title ?? 'down'}`
          : undefined;
    return candidateOf(builder.info.id, builder.machine, this.running.get(builder.info.id) ?? 0, down);
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
    const source = await derivationOf(target.file, target.attr);
    if (!source.ok) return 'needsAttribute' in source ? { ok: false, needsAttribute: source.needsAttribute } : { ok: false, error: source.error };
    const [effective, settings, local] = await Promise.all([this.builders.builders(), this.settings.get(undefined), detectLocalNix()]);
    const nix = nixTarget(settings.nixVersion, local);
    const rules = nix.rules;
    const needs = { system: source.derivation.system, requiredFeatures: source.derivation.requiredSystemFeatures };
    const usedByNix = new Set(effective.sources.filter((s) => s.usedByNix).flatMap((s) => s.machines.map((m) => m.id)));
    const all = [...effective.builders.values()];
    const nixMachines = all.filter((b) => usedByNix.has(b.info.id));
    const selection = selectMachine(nixMachines.map((b) => this.candidate(b, nix)), needs, rules);
    const choices: BuildChoice[] = selection.verdicts.map((v) => ({
      id: v.candidate.id,
      label: effective.builders.get(v.candidate.id)!.info.label,
      uri: v.candidate.uri,
      kind: v.kind,
      usable: usableChoice(v.kind),
      reason: v.reason,
    }));
    // The workspace's machines files: Nix does not read them, but the user may build there.
    for (const builder of all.filter((b) => !usedByNix.has(b.info.id))) {
      const [verdict] = selectMachine([this.candidate(builder, nix)], needs, rules).verdicts;
      choices.push({
        id: builder.info.id,
        label: builder.info.label,
        uri: builder.info.uri,
        kind: verdict!.kind === 'chosen' ? 'not-best' : verdict!.kind,
        usable: usableChoice(verdict!.kind),
        reason: verdict!.kind === 'chosen' ? `fits; from ${builder.info.location?.file ?? 'the workspace'}, which Nix does not read` : verdict!.reason,
      });
    }
    return {
      ok: true,
      drvPath: source.drvPath,
      system: needs.system,
      requiredFeatures: [...needs.requiredFeatures],
      best: selection.chosen?.id,
      choices,
      wouldWait: selection.wouldWait,
    };
  }

  async build(params: StartBuildParams, token?: CancellationToken): Promise<BuildOutcome> {
    const started = Date.now();
    const buildId = params.buildId || randomUUID();
    const fail = (cause: string, message: string, logTail: string[] = []): BuildOutcome => ({
      buildId,
      ok: false,
      builtOn: undefined,
      outputs: [],
      cause,
      message,
      logTail,
      ms: Date.now() - started,
    });
    if (!this.trusted()) return fail('untrusted-workspace', 'This workspace is not trusted: building on a remote builder needs SSH. Trust the workspace first.');
    const plan = await this.plan(params);
    if (!plan.ok) return 'error' in plan ? fail('evaluation', plan.error) : fail('needs-attribute', `Choose one of: ${plan.needsAttribute.join(', ')}`);

    const abort = new AbortController();
    token?.onCancellationRequested(() => abort.abort());
    const log = (line: string) => void this.connection.sendNotification(buildLogNotification, { buildId, line });
    const [settings, local] = await Promise.all([this.settings.get(undefined), detectLocalNix()]);
    const effective = await this.builders.builders();

    if (params.on === 'distributed') {
      const target = nixTarget(settings.nixVersion, local);
      const chosen = await this.distributedMachines([...effective.builders.values()], target);
      for (const line of leftOutInWords(chosen.leftOut)) log(line);
      const leftOut = chosen.leftOut.length > 0 ? { leftOut: chosen.leftOut } : {};
      if (chosen.used.length === 0) return { ...fail('no-machine', nothingLeftMessage(chosen.leftOut)), ...leftOut };
      log(`Handing ${chosen.used.length} ${chosen.used.length === 1 ? 'builder' : 'builders'} to Nix: ${chosen.used.map((m) => m.storeUri).join(', ')}`);
      const result = await buildDistributed({
        drvPath: plan.drvPath,
        builders: chosen.text,
        ...(settings.sshConfigFile ? { sshConfigFile: settings.sshConfigFile } : {}),
        signal: abort.signal,
        onLog: log,
      });
      if (!result.ok) return { ...fail(abort.signal.aborted ? 'cancelled' : 'build-failed', result.message, result.logTail), ...leftOut };
      return { buildId, ok: true, builtOn: 'distributed', outputs: result.outputs, cause: undefined, message: undefined, logTail: [], ms: Date.now() - started, ...leftOut };
    }

    // A user the nix-daemon does not trust: through the daemon's builders, or trust named first.
    const picked = params.on === 'best' ? undefined : effective.builders.get(params.on);
    const untrusted = await buildForUntrustedUser({ drvPath: plan.drvPath, on: params.on === 'best' ? 'best' : { uri: picked?.info.uri ?? params.on }, signal: abort.signal, onLog: log });
    if (untrusted !== undefined) return untrusted.ok ? { buildId, ...untrusted, cause: undefined, message: undefined, logTail: [], ms: Date.now() - started } : fail(untrusted.cause, untrusted.message, untrusted.logTail);

    const id = params.on === 'best' ? plan.best : params.on;
    if (id === undefined) {
      const why = plan.choices.map((c) => `${c.label}: ${c.reason}`).join('; ');
      return fail('no-machine', `No builder fits ${plan.system}${plan.requiredFeatures.length ? ` with ${plan.requiredFeatures.join(', ')}` : ''}${why ? ` (${why})` : ''}.`);
    }
    const builder = effective.builders.get(id);
    if (!builder) return fail('no-machine', 'That builder is no longer in the configuration; refresh the view.');
    const unusable = unusableReason(builder.machine, lintMachine(builder.machine, nixTarget(settings.nixVersion, local)));
    if (unusable !== undefined) return fail('machine-unusable', `${builder.info.uri} is not used (${unusable.code}): ${unusable.reason}`);
    this.running.set(id, (this.running.get(id) ?? 0) + 1);
    try {
      const result = await offload({
        machine: builder.machine,
        drvPath: plan.drvPath,
        pool: this.pool,
        ...(settings.sshConfigFile ? { sshConfigFile: settings.sshConfigFile } : {}),
        daemon: local.daemon,
        askPassphrase: this.health.passphrase,
        signal: abort.signal,
        onLog: log,
        onPhase: (phase, detail) => void this.connection.sendNotification(buildLogNotification, { buildId, phase, detail }),
      });
      if (!result.ok) return fail(result.cause, result.message, result.logTail);
      return { buildId, ok: true, builtOn: builder.info.uri, outputs: result.outputs, cause: undefined, message: undefined, logTail: [], ms: Date.now() - started };
    } finally {
      this.running.set(id, (this.running.get(id) ?? 1) - 1);
    }
  }
}

/** A build choice the user may build on: Nix's choice, or a machine that fits but is not the best. */
export function usableChoice(kind: BuildChoice['kind']): boolean {
  return kind === 'chosen' || kind === 'not-best';
}
