// "builders 3/4 up" in the status bar once builders have been checked; a click opens the view.
import * as vscode from 'vscode';
import type { MachinesTree } from './tree/machinesTree';

export class BuildersStatusBar implements vscode.Disposable {
  private readonly item = vscode.window.createStatusBarItem('nixBuilders.status', vscode.StatusBarAlignment.Left, 10);
  private readonly subscription: vscode.Disposable;

  constructor(private readonly tree: MachinesTree) {
    this.item.name = 'Nix Remote Builders';
    this.item.command = 'nixBuilders.machines.focus';
    this.subscription = tree.onDidChangeHealth(() => void this.update());
  }

  async update(): Promise<void> {
    const machines = await this.tree.machines();
    const checked = machines
      .map((m) => ({ machine: m, health: this.tree.healthOf(m.id) }))
      .filter((x) => x.health && x.health.status !== 'untrusted');
    if (checked.length === 0) {
      this.item.hide();
      return;
    }
    const probing = checked.some((x) => x.health?.status === 'probing');
    const up = checked.filter((x) => x.health?.status === 'up' || x.health?.status === 'degraded').length;
    const down = checked.filter((x) => x.health?.status === 'down').length;
    this.item.text = `${probing ? '$(loading~spin)' : down ? '$(error)' : '$(server)'} builders ${up}/${checked.length} up`;
    const tooltip = new vscode.MarkdownString('**Nix remote builders**\n\n', true);
    for (const { machine, health } of checked) {
      const icon = {
        up: '$(pass-filled)',
        degraded: '$(warning)',
        down: '$(error)',
        probing: '$(loading~spin)',
        untrusted: '$(workspace-untrusted)',
      }[health!.status];
      tooltip.appendMarkdown(
        `${icon} ${machine.label}${health!.status === 'down' ? ` — ${health!.summary ?? 'down'}` : ''}\n\n`,
      );
    }
    this.item.tooltip = tooltip;
    this.item.backgroundColor = down && !probing ? new vscode.ThemeColor('statusBarItem.warningBackground') : undefined;
    this.item.show();
  }

  dispose(): void {
    this.subscription.dispose();
    this.item.dispose();
  }
}
