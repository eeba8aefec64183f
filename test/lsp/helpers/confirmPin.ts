// "Pin host key" run as the user who answers "Pin": the command's outcome and what the prompt asked.
import assert from 'node:assert/strict';
import type { Command } from 'vscode-languageserver-protocol';
import type { LspClient } from './lspClient';

export async function confirmPin(client: LspClient, command: Command): Promise<{ asked: string }> {
  let asked = '';
  client.answerMessage = (params) => {
    asked = params.message;
    return params.actions?.find((a) => a.title === 'Pin') ?? null;
  };
  const outcome = (await client.executeCommand(command)) as { pinned: boolean };
  assert.equal(outcome.pinned, true, JSON.stringify(client.messages));
  return { asked };
}
