// What an untrusted workspace (VS Code's Restricted Mode) tells the user: the view still lists
// every builder, but says why none is checked; Ping and Build refuse with the reason and offer
// the way to trust. The server is told the same at start (initializationOptions) and connects nowhere.
import * as vscode from 'vscode';

const viewMessage =
  'This workspace is not trusted (Restricted Mode): builders are listed but not checked or used, and no SSH connection is made. Trust the workspace to check them.';

/** Shows the view's message while the workspace is untrusted, and removes it once trust is granted. */
export function explainUntrustedInView(view: vscode.TreeView<unknown>): vscode.Disposable {
  if (vscode.workspace.isTrusted) return new vscode.Disposable(() => {});
  view.message = viewMessage;
  return vscode.workspace.onDidGrantWorkspaceTrust(() => {
    view.message = undefined;
  });
}

/**
 * Says why an action that connects over SSH does nothing here (`why` is the sentence), and
 * opens VS Code's workspace trust editor when the user asks.
 */
export async function refuseUntrusted(why: string): Promise<void> {
  const choice = await vscode.window.showWarningMessage(why, 'Manage Workspace Trust');
  if (choice) await vscode.commands.executeCommand('workbench.trust.manage');
}
