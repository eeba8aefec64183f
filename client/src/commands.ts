// The commands of the extension: each one a small function of what the user asked for.
import * as vscode from 'vscode';
import type { LanguageClient } from 'vscode-languageclient/node';
import { serverInfoRequest, type BuilderMachine, type MachinesFile, type ServerInfo } from '../../server/src/protocol';

/** Where the server says Nix reads its machines file (the view's listing has it). */
export interface MachinesFileSource {
  machinesFile(): Promise<MachinesFile | undefined>;
}

/**
 * The machines file to open: the one the user set in `nixBuilders.machinesFile`, else the one
 * the server says Nix reads (the builders setting's `@file`, else /etc/nix/machines).
 */
async function machinesFile(source: MachinesFileSource): Promise<{ path: string; writable: boolean }> {
  const setting = vscode.workspace.getConfiguration('nixBuilders').inspect<string>('machinesFile');
  const chosen = setting?.workspaceFolderValue ?? setting?.workspaceValue ?? setting?.globalValue;
  if (chosen) return { path: chosen, writable: true };
  const fromServer = await source.machinesFile();
  // The server did not answer (it failed to start): the setting's default is all there is.
  return fromServer ?? { path: setting?.defaultValue ?? '/etc/nix/machines', writable: true };
}

/** Opens the machines file Nix reads (or the one `nixBuilders.machinesFile` names). */
export async function openMachinesFile(source: MachinesFileSource): Promise<void> {
  const { path } = await machinesFile(source);
  try {
    const document = await vscode.workspace.openTextDocument(vscode.Uri.file(path));
    await vscode.window.showTextDocument(document);
  } catch {
    const choice = await vscode.window.showWarningMessage(
      `There is no machines file at ${path}. Nix then has no remote builders unless the builders setting of nix.conf lists them.`,
      'Create',
      'Choose Another File',
      'Open Settings',
    );
    if (choice === 'Create') {
      // Unsaved until the user saves: nothing is written behind their back (VS Code offers "Retry as Sudo" for /etc).
      await insertTemplateLine(
        vscode.Uri.file(path).with({ scheme: 'untitled' }),
        `${path} is new: fill in the builder's line (Tab moves to the next column), then save.`,
      );
    } else if (choice === 'Choose Another File') {
      const picked = await vscode.window.showOpenDialog({ canSelectMany: false, openLabel: 'Open Machines File' });
      if (picked?.[0]) await vscode.window.showTextDocument(picked[0]);
    } else if (choice === 'Open Settings') {
      await vscode.commands.executeCommand('workbench.action.openSettings', 'nixBuilders.machinesFile');
    }
  }
}

/** Asks the language server who it is; returns the answer so tests and other commands can use it. */
export async function showServerInfo(client: LanguageClient, log: vscode.LogOutputChannel): Promise<ServerInfo> {
  const info = await client.sendRequest(serverInfoRequest);
  log.info(
    `Language server ${info.version}: pid ${info.pid}, Node ${info.node}, up ${Math.round(info.uptimeMs / 1000)} s`,
  );
  void vscode.window.showInformationMessage(
    `Nix Remote Builders language server ${info.version} is running (pid ${info.pid}, Node ${info.node}).`,
  );
  return info;
}

/** Opens the file a machine is written in, with the cursor on its line. */
export async function revealMachine(machine: BuilderMachine): Promise<void> {
  if (!machine.location) {
    void vscode.window.showInformationMessage(
      `${machine.uri} is not written in a file (it comes from NIX_CONFIG or the command line).`,
    );
    return;
  }
  const { file, line, character } = machine.location;
  const position = new vscode.Position(line, character);
  await vscode.window.showTextDocument(vscode.Uri.file(file), { selection: new vscode.Range(position, position) });
}

/**
 * Opens the machines file to add to (the workspace's, else the one Nix reads) and
 * inserts a new line as a snippet: tab through user, host, systems, key, jobs, speed, features.
 */
export async function addBuilder(source: MachinesFileSource): Promise<void> {
  const [inWorkspace] = await vscode.workspace.findFiles('**/{machines,*.machines}', '**/node_modules/**', 1);
  const nixFile = inWorkspace ? undefined : await machinesFile(source);
  let uri = inWorkspace ?? vscode.Uri.file(nixFile!.path);
  if (nixFile && !nixFile.writable) {
    void vscode.window.showInformationMessage(
      `${nixFile.path} is not writable by you: save it as root (VS Code offers "Retry as Sudo"), or on NixOS set nix.buildMachines instead.`,
    );
  }
  let exists = true;
  try {
    await vscode.workspace.fs.stat(uri);
  } catch {
    exists = false;
    uri = uri.with({ scheme: 'untitled' }); // saved to that path when the user saves
  }
  const name = vscode.workspace.asRelativePath(uri.with({ scheme: 'file' }));
  await insertTemplateLine(
    uri,
    exists
      ? `Added a template line at the end of ${name}: fill in the builder (Tab moves to the next column), then save.`
      : `${name} is new: fill in the builder's line (Tab moves to the next column), then save.`,
  );
}

/** Opens `uri` and appends a builder line to tab through (user, host, systems, key, jobs, speed, features), saying so. */
async function insertTemplateLine(uri: vscode.Uri, told: string): Promise<void> {
  const document = await vscode.workspace.openTextDocument(uri);
  const editor = await vscode.window.showTextDocument(document);
  const end = document.lineAt(document.lineCount - 1).range.end;
  const lead = document.getText().length === 0 || document.getText().endsWith('\n') ? '' : '\n';
  await editor.insertSnippet(
    new vscode.SnippetString(
      `${lead}ssh://\${1:nix}@\${2:builder.example.org} \${3:x86_64-linux} \${4:-} \${5:4} \${6:1} \${7:-} - -\n`,
    ),
    end,
  );
  void vscode.window.showInformationMessage(told);
}
