// "Nix: Build on Remote Builder": the derivation of the current file, built on the machine Nix
// would pick (or the one the user picks), as a task whose terminal shows the live log, with a
// progress notification that can cancel it, and the outputs offered when it is done.
import { randomUUID } from 'node:crypto';
import { basename } from 'node:path';
import * as vscode from 'vscode';
import type { LanguageClient } from 'vscode-languageclient/node';
import {
  buildLogNotification,
  planBuildRequest,
  startBuildRequest,
  type BuildChoice,
  type BuildLogParams,
  type BuildOutcome,
  type BuildPlan,
  type BuildTarget,
} from '../../../server/src/protocol';
import { BuildTerminal } from './buildTerminal';
import { refuseUntrusted } from '../untrustedWorkspace';

/** What scripts and tests may pass to skip the pickers. */
export interface BuildOptions {
  uri?: vscode.Uri;
  attr?: string;
  /** A machine id, `best` or `distributed`. */
  on?: string;
}

export class RemoteBuilds implements vscode.Disposable {
  private readonly terminals = new Map<string, BuildTerminal>();
  /** Builders with a build running in their own terminal: a second build there gets another one. */
  private readonly terminalInUse = new Set<string>();
  private readonly statusItem = vscode.window.createStatusBarItem(
    'nixBuilders.builds',
    vscode.StatusBarAlignment.Left,
    9,
  );
  private readonly subscription: vscode.Disposable;

  constructor(private readonly client: LanguageClient) {
    this.statusItem.name = 'Nix remote builds';
    this.subscription = client.onNotification(buildLogNotification, (params) => this.onLog(params));
  }

  private onLog({ buildId, line, phase, detail }: BuildLogParams): void {
    const terminal = this.terminals.get(buildId);
    if (!terminal) return;
    if (line !== undefined) terminal.line(line);
    if (phase !== undefined) terminal.note(`» ${phase}${detail ? `: ${detail}` : ''}`);
  }

  private updateStatus(): void {
    const count = this.terminals.size;
    this.statusItem.text = `$(sync~spin) ${count} remote build${count === 1 ? '' : 's'}`;
    this.statusItem.tooltip = 'Nix builds running on remote builders';
    if (count > 0) this.statusItem.show();
    else this.statusItem.hide();
  }

  /** The command. Returns the outcome (undefined when the user stopped at a picker). */
  async run(options: BuildOptions = {}): Promise<BuildOutcome | undefined> {
    const uri = options.uri ?? vscode.window.activeTextEditor?.document.uri;
    if (!uri || uri.scheme !== 'file') {
      void vscode.window.showWarningMessage(
        'Open a .nix file, a flake.nix or a .drv file to build it on a remote builder.',
      );
      return undefined;
    }
    if (!vscode.workspace.isTrusted) {
      void refuseUntrusted(
        'Building on a remote builder connects over SSH, which this untrusted workspace does not allow. Trust the workspace to build.',
      );
      return undefined;
    }
    const open = vscode.workspace.textDocuments.find((d) => d.uri.toString() === uri.toString());
    if (open?.isDirty) await open.save();

    const target: BuildTarget = { file: uri.fsPath, ...(options.attr ? { attr: options.attr } : {}) };
    let plan = await this.plan(target);
    if (plan && !plan.ok && 'needsAttribute' in plan) {
      const attr = await vscode.window.showQuickPick(plan.needsAttribute, {
        title: `${basename(uri.fsPath)} holds several derivations: build which one?`,
      });
      if (!attr) return undefined;
      target.attr = attr;
      plan = await this.plan(target);
    }
    if (!plan) return undefined;
    if (!plan.ok) {
      const message = 'error' in plan ? plan.error : 'no derivation';
      void vscode.window.showErrorMessage(`Nix could not evaluate ${basename(uri.fsPath)}`, {
        modal: true,
        detail: message,
      });
      return undefined;
    }

    const on = options.on ?? (await this.pickMachine(plan));
    if (!on) return undefined;
    const where =
      on === 'distributed'
        ? 'all builders'
        : on === 'best'
          ? (plan.choices.find((c) => c.id === plan.best)?.label ?? 'the best builder')
          : (plan.choices.find((c) => c.id === on)?.label ?? on);
    return this.start({ ...target, on }, `${target.attr ?? basename(uri.fsPath)} on ${where}`, plan.drvPath);
  }

  private plan(target: BuildTarget) {
    return vscode.window.withProgress(
      {
        location: vscode.ProgressLocation.Notification,
        title: `Evaluating ${basename(target.file)}${target.attr ? ` -A ${target.attr}` : ''}…`,
        cancellable: true,
      },
      (_progress, token) => this.client.sendRequest(planBuildRequest, target, token).then(undefined, () => undefined),
    );
  }

  /** The rows as the server orders and words them: the machine a build on `best` uses first. */
  pickerItems(
    plan: Extract<BuildPlan, { ok: true }>,
  ): (vscode.QuickPickItem & { on?: string; choice?: BuildChoice })[] {
    type Item = vscode.QuickPickItem & { on?: string; choice?: BuildChoice };
    const items: Item[] = [];
    for (const choice of plan.choices) {
      if (choice.id === plan.best) {
        items.push({
          label: `$(star-full) ${choice.label}`,
          description: `${plan.bestWhy ?? ''} · ${choice.uri}`,
          detail: choice.detail,
          on: 'best',
          choice,
        });
        items.push({ label: 'Other machines', kind: vscode.QuickPickItemKind.Separator });
        continue;
      }
      items.push({
        label: `${choice.usable ? '$(server)' : '$(circle-slash)'} ${choice.label}`,
        description: choice.uri,
        detail: choice.detail,
        on: choice.id,
        choice,
      });
    }
    items.push({ label: 'Nix', kind: vscode.QuickPickItemKind.Separator });
    items.push({
      label: '$(type-hierarchy) Distributed (Nix spreads the build over the builders)',
      // What the server does (dispatch/distributedMachines.ts): each builder is checked first, and
      // only those that answer and that the lint does not refuse are handed to Nix.
      detail: "Nix's own remote builds over the builders that answer a check now (the log names those left out)",
      on: 'distributed',
    });
    return items;
  }

  private async pickMachine(plan: Extract<BuildPlan, { ok: true }>): Promise<string | undefined> {
    const { system, requiredFeatures: features } = plan;
    const items = this.pickerItems(plan);
    const picked = await vscode.window.showQuickPick(items, {
      title: `Build for ${system}${features.length ? ` needing ${features.join(', ')}` : ''} on…`,
      matchOnDescription: true,
      matchOnDetail: true,
    });
    if (!picked?.on) return undefined;
    if (picked.choice && !picked.choice.usable) {
      const go = await vscode.window.showWarningMessage(
        `${picked.choice.label} ${picked.choice.reason}. Build there anyway?`,
        { modal: true },
        'Build There',
      );
      if (!go) return undefined;
    }
    return picked.on;
  }

  private async start(params: BuildTarget & { on: string }, title: string, drvPath: string): Promise<BuildOutcome> {
    const buildId = randomUUID();
    const cancel = new vscode.CancellationTokenSource();
    const terminal = new BuildTerminal(() => cancel.cancel());
    this.terminals.set(buildId, terminal);
    const ownTerminal = !this.terminalInUse.has(params.on);
    if (ownTerminal) this.terminalInUse.add(params.on);
    this.updateStatus();
    const task = new vscode.Task(
      // One task per builder: the next build there reuses its finished terminal instead of adding one
      // (VS Code refuses to run a task that is still running, so a build beside it gets its own).
      { type: 'nixBuilders', builder: ownTerminal ? params.on : `${params.on} ${buildId}` },
      vscode.TaskScope.Workspace,
      `Build ${title}`,
      'Nix Builders',
      new vscode.CustomExecution(async () => terminal),
    );
    task.presentationOptions = {
      reveal: vscode.TaskRevealKind.Always,
      panel: vscode.TaskPanelKind.Dedicated,
      clear: true,
    };
    await vscode.tasks.executeTask(task);
    await Promise.race([terminal.ready, new Promise((resolve) => setTimeout(resolve, 5000))]);
    terminal.note(`Building ${drvPath} (${title})`);

    const outcome = await vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title: `Building ${title}`, cancellable: true },
      async (_progress, token) => {
        token.onCancellationRequested(() => cancel.cancel());
        try {
          // The plan's derivation goes with the request: the server builds it without evaluating again.
          return await this.client.sendRequest(startBuildRequest, { ...params, buildId, drvPath }, cancel.token);
        } catch (error) {
          const cancelled = cancel.token.isCancellationRequested;
          return {
            buildId,
            ok: false,
            builtOn: undefined,
            outputs: [],
            cause: cancelled ? 'cancelled' : 'internal',
            message: cancelled ? 'Cancelled.' : error instanceof Error ? error.message : String(error),
            logTail: [],
            ms: 0,
          } satisfies BuildOutcome;
        }
      },
    );
    this.terminals.delete(buildId);
    if (ownTerminal) this.terminalInUse.delete(params.on);
    this.updateStatus();
    if (outcome.ok) {
      terminal.note(outcome.summary ?? `Built in ${(outcome.ms / 1000).toFixed(1)} s.`);
      for (const output of outcome.outputs) terminal.line(`  ${output.name}: ${output.path}`);
      terminal.finish(0);
      void this.offerOutputs(params.attr ?? basename(params.file), outcome);
    } else {
      terminal.error(`${outcome.cause}: ${outcome.message ?? 'failed'}`);
      terminal.finish(1);
      if (outcome.cause !== 'cancelled') {
        void vscode.window
          .showErrorMessage(`Build ${title} failed: ${outcome.message ?? outcome.cause}`, 'Show Log')
          .then((choice) => {
            if (choice) void vscode.commands.executeCommand('workbench.action.terminal.focus');
          });
      }
    }
    cancel.dispose();
    return outcome;
  }

  private async offerOutputs(what: string, outcome: BuildOutcome): Promise<void> {
    const main = outcome.outputs.find((o) => o.name === 'out') ?? outcome.outputs[0];
    if (!main) return;
    const choice = await vscode.window.showInformationMessage(
      `${what}: ${outcome.summary ?? 'Built.'} ${main.path}`,
      'Open',
      'Copy Path',
      'Reveal',
    );
    const uri = vscode.Uri.file(main.path);
    if (choice === 'Copy Path') await vscode.env.clipboard.writeText(main.path);
    if (choice === 'Reveal') await vscode.commands.executeCommand('revealFileInOS', uri);
    if (choice === 'Open') {
      const stat = await vscode.workspace.fs.stat(uri);
      if (stat.type & vscode.FileType.Directory) await vscode.commands.executeCommand('revealFileInOS', uri);
      else await vscode.window.showTextDocument(uri);
    }
  }

  dispose(): void {
    this.subscription.dispose();
    this.statusItem.dispose();
  }
}
