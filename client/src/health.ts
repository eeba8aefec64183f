// Checking builders from the UI: "Ping" and "Ping All" ask the server to probe (it owns SSH),
// with progress shown in the view; in an untrusted workspace they explain instead of connecting.
// Also the answers to what the server asks the user while probing (a key's passphrase).
import * as vscode from 'vscode';
import type { LanguageClient } from 'vscode-languageclient/node';
import {
  probeRequest,
  sealSecret,
  type AskPassphraseParams,
  type MachineHealth,
  type SealedPassphrase,
} from '../../server/src/protocol';
import { refuseUntrusted } from './untrustedWorkspace';

export async function pingBuilders(client: LanguageClient, ids?: string[]): Promise<MachineHealth[]> {
  if (!vscode.workspace.isTrusted) {
    await refuseUntrusted(
      'Checking builders connects to them over SSH, which this untrusted workspace does not allow. Trust the workspace to check them.',
    );
    return [];
  }
  return vscode.window.withProgress(
    {
      location: { viewId: 'nixBuilders.machines' },
      title: ids?.length === 1 ? 'Checking the builder' : 'Checking builders',
    },
    () => client.sendRequest(probeRequest, ids ? { ids } : {}),
  );
}

/**
 * Asks for a key's passphrase and answers with it sealed to the key the server sent for this
 * question: the plain passphrase never becomes LSP content, which the trace would print. The
 * server keeps it in memory for this session only.
 */
export async function askPassphrase(
  { keyFile, host, sealTo }: AskPassphraseParams,
  token?: vscode.CancellationToken,
): Promise<SealedPassphrase | null> {
  // The token is cancelled when the server stops waiting (the check gave up or ended): the
  // prompt closes with it instead of staying open for a check that is over.
  const answer = await vscode.window.showInputBox(
    {
      title: 'SSH key passphrase',
      prompt: `The builder${host ? ` ${host}` : ''} accepts ${keyFile}, which has a passphrase. Type it to finish the check (kept in memory until VS Code closes). Note: the nix-daemon cannot type it; Nix itself needs a key without a passphrase.`,
      password: true,
      ignoreFocusOut: true,
    },
    token,
  );
  if (token?.isCancellationRequested) return null;
  return answer === undefined ? null : { sealed: sealSecret(sealTo, answer) };
}
