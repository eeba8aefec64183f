// Optional periodic checks (`nixBuilders.autoPing`): only while the view is visible, so a
// hidden sidebar never keeps SSH connections busy; stops when the view hides or the setting goes off.
import * as vscode from 'vscode';

export class AutoPing implements vscode.Disposable {
  private timer: NodeJS.Timeout | undefined;
  private readonly subscriptions: vscode.Disposable[] = [];

  constructor(
    private readonly view: vscode.TreeView<unknown>,
    private readonly ping: () => Promise<unknown>,
  ) {
    this.subscriptions.push(
      view.onDidChangeVisibility(() => this.schedule()),
      vscode.workspace.onDidChangeConfiguration(
        (event) => event.affectsConfiguration('nixBuilders') && this.schedule(),
      ),
    );
    this.schedule();
  }

  private schedule(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    const settings = vscode.workspace.getConfiguration('nixBuilders');
    if (!settings.get<boolean>('autoPing') || !this.view.visible || !vscode.workspace.isTrusted) return;
    const seconds = Math.max(10, settings.get<number>('autoPingInterval') ?? 60);
    const tick = async () => {
      await this.ping().catch(() => undefined);
      if (this.timer !== undefined) this.timer = setTimeout(tick, seconds * 1000);
    };
    this.timer = setTimeout(tick, 0);
  }

  dispose(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.subscriptions.forEach((s) => s.dispose());
  }
}
