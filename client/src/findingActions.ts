// The one-click fixes of health findings: open the line, pin the host key (the language server
// fetches the key again, refuses a key that contradicts column 8 or known_hosts, and asks
// before writing column 8), or copy a command to run.
import * as vscode from 'vscode';
import type { BuilderMachine, HealthFinding } from '../../server/src/protocol';

/** The findings whose action may pin: an unknown key, or one only your own known_hosts verifies. */
const pinnableFindings = new Set<HealthFinding['code']>(['host-key-unknown', 'daemon-needs-host-key']);

/** `machine` is the builder the finding is about; none for the findings of "This machine". */
export async function runFindingAction(finding: HealthFinding, machine?: BuilderMachine): Promise<void> {
  const action = finding.action;
  if (!action) return;
  switch (action.kind) {
    case 'copy-command':
      await vscode.env.clipboard.writeText(action.command);
      void vscode.window.showInformationMessage(`Copied: ${action.command}`);
      return;
    case 'open-line': {
      const file = action.file ?? machine?.location?.file;
      if (!file) return;
      const document = await vscode.workspace.openTextDocument(vscode.Uri.file(file));
      const selection = action.span
        ? new vscode.Range(document.positionAt(action.span.start), document.positionAt(action.span.end))
        : machine?.location &&
          new vscode.Range(
            machine.location.line,
            machine.location.character,
            machine.location.line,
            machine.location.character,
          );
      await vscode.window.showTextDocument(document, selection ? { selection } : {});
      return;
    }
    case 'pin-host-key': {
      // Only findings about a key nobody has on record carry a pin action; anything else (a
      // changed or revoked key) is never one click from trusted, whatever the action says.
      // The server's command checks again against column 8 and known_hosts.
      if (!pinnableFindings.has(finding.code)) {
        void vscode.window.showErrorMessage(finding.message);
        return;
      }
      if (!machine?.location) {
        void vscode.window.showWarningMessage(
          `${machine?.uri ?? 'This machine'} is not written in a file: add the key to column 8 where it is defined.`,
        );
        return;
      }
      const document = await vscode.workspace.openTextDocument(vscode.Uri.file(machine.location.file));
      const position = new vscode.Position(machine.location.line, machine.location.character);
      await vscode.window.showTextDocument(document, { selection: new vscode.Range(position, position) });
      // The server's own command: it fetches the key, shows the fingerprint, and writes column 8 on "Pin".
      await vscode.commands.executeCommand('nixBuilders.pinHostKey', {
        uri: document.uri.toString(),
        offset: document.offsetAt(position),
        storeUri: machine.uri,
      });
      return;
    }
  }
}
