// "Pin the host key": fetch the builder's host key over SSH (key exchange only), show its type
// and fingerprint, and on the user's word write it into column 8 (filling columns 2–7 with `-`).
// Runs as a server command, because the connection belongs in the server process; only in a
// trusted workspace, since it connects to a host named by the workspace.
import { MessageType, type Connection, type TextEdit } from 'vscode-languageserver';
import type { TextDocument } from 'vscode-languageserver-textdocument';
import { parsePublicKeyLine } from '../model/hostKey';
import type { Machine } from '../model/machines';
import { parseStoreUri } from '../model/storeUri';
import { fetchHostKey } from '../ssh/fetchHostKey';
import type { PresentedKey } from '../ssh/hostKeyCheck';
import type { Analysis } from './analysis';
import { columnsOf, ownMachines } from './documentMachines';
import { keygenLine } from './keyDescription';
import { lookUpSshSettings } from './sshLookup';

export const pinHostKeyCommand = 'nixBuilders.pinHostKey';

/** The arguments the code action puts in its command. */
export interface PinHostKeyArguments {
  uri: string;
  /** Where column 1 of the machine starts, and its text (to find it again after edits). */
  offset: number;
  storeUri: string;
}

export type PinOutcome =
  | { pinned: true; keyLine: string; fingerprint: string }
  | { pinned: false; reason: string };

export interface PinDependencies {
  connection: Connection;
  document: (uri: string) => TextDocument | undefined;
  analysis: (document: TextDocument) => Promise<Analysis> | undefined;
  trusted: () => boolean;
  sshConfigFile: (uri: string) => Promise<string | undefined>;
  /** For tests: how long to wait for the host. */
  timeoutMs?: number;
}

/** The machine of the document with this column 1, nearest to where it was. */
function findMachine(analysis: Analysis, args: PinHostKeyArguments): Machine | undefined {
  let best: Machine | undefined;
  for (const machine of ownMachines(analysis)) {
    if (machine.columns.storeUri.text !== args.storeUri) continue;
    if (!best || Math.abs(machine.columns.storeUri.span.start - args.offset) < Math.abs(best.columns.storeUri.span.start - args.offset)) best = machine;
  }
  return best;
}

/** The edit that writes `column8` into the machine's row, adding `-` for missing columns 2–7. */
export function hostKeyEdit(document: TextDocument, machine: Machine, column8: string): TextEdit {
  const range = (start: number, end: number) => ({ start: document.positionAt(start), end: document.positionAt(end) });
  const existing = machine.columns.publicHostKey;
  if (existing) return { range: range(existing.span.start, existing.span.end), newText: column8 };
  const columns = columnsOf(machine);
  const last = columns[columns.length - 1]!;
  const fill = Array.from({ length: 7 - columns.length }, () => '-');
  return { range: range(last.span.end, last.span.end), newText: ` ${[...fill, column8].join(' ')}` };
}

export async function pinHostKey(args: PinHostKeyArguments, deps: PinDependencies): Promise<PinOutcome> {
  const { connection } = deps;
  const fail = (reason: string, type: MessageType = MessageType.Error): PinOutcome => {
    void connection.sendNotification('window/showMessage', { type, message: `Pin host key: ${reason}` });
    return { pinned: false, reason };
  };
  if (!deps.trusted()) return fail('the workspace is not trusted, so no connection is made. Trust the workspace to pin host keys.');

  const document = deps.document(args.uri);
  const analysis = document && (await deps.analysis(document));
  const machine = analysis && findMachine(analysis, args);
  if (!document || !machine) return fail(`the line with ${args.storeUri} is gone.`);
  const parts = parseStoreUri(machine.storeUri);
  if (parts.scheme !== 'ssh' && parts.scheme !== 'ssh-ng') return fail(`${machine.storeUri} is not an SSH builder.`);

  const configFile = await deps.sshConfigFile(args.uri);
  const port = analysis.target.rules.portInUri ? parts.port : undefined;
  const lookup = await lookUpSshSettings({
    host: parts.host,
    ...(parts.user !== undefined ? { user: parts.user } : {}),
    ...(port !== undefined ? { port } : {}),
    ...(configFile ? { configFile } : {}),
    trusted: true,
  });
  // A user or host that ssh would read as an option is refused here, before anything runs.
  if ('error' in lookup) return fail(`${lookup.error}.`);
  const { hostName, port: sshPort, proxyJump, proxyCommand } = lookup.host;
  if (proxyJump.length > 0 || proxyCommand !== undefined) {
    return fail(`${parts.host} is reached through a proxy (ProxyJump/ProxyCommand), which pinning does not follow. Run \`ssh-keyscan\` from the jump host, or \`base64 -w0 /etc/ssh/ssh_host_ed25519_key.pub\` on the builder.`);
  }

  let fetched: PresentedKey;
  try {
    fetched = await fetchHostKey({ host: hostName, port: sshPort, ...(deps.timeoutMs ? { timeoutMs: deps.timeoutMs } : {}) });
  } catch (error) {
    return fail(`could not get the host key of ${parts.host} (${hostName}:${sshPort}): ${error instanceof Error ? error.message : String(error)}.`);
  }
  const key = parsePublicKeyLine(fetched.line);
  if (!key) return fail(`${hostName}:${sshPort} sent a ${fetched.type} key this extension cannot read.`);

  const where = hostName === parts.host && sshPort === 22 ? parts.host : `${parts.host} (${hostName}:${sshPort})`;
  const pin = { title: 'Pin' };
  const choice = await connection.window.showInformationMessage(
    `Pin this host key for ${where}? ${key.type} ${key.fingerprint} (${keygenLine(key).split(' ')[0]} bits). Compare the fingerprint with what \`ssh-keygen -lf /etc/ssh/ssh_host_${key.type.replace(/^ssh-|-sha2-nistp\d+$/g, '')}_key.pub\` prints on the builder before you pin it.`,
    pin,
    { title: 'Cancel' },
  );
  if (choice?.title !== pin.title) return { pinned: false, reason: 'cancelled' };

  // The text may have changed while the user read the prompt: find the line again.
  const now = deps.document(args.uri);
  const nowAnalysis = now && (await deps.analysis(now));
  const nowMachine = nowAnalysis && findMachine(nowAnalysis, args);
  if (!now || !nowMachine) return fail(`the line with ${args.storeUri} is gone.`);
  const result = await connection.workspace.applyEdit({
    label: `Pin the host key of ${parts.host}`,
    edit: { changes: { [args.uri]: [hostKeyEdit(now, nowMachine, fetched.column8)] } },
  });
  if (!result.applied) return fail(`the editor did not apply the edit${result.failureReason ? ` (${result.failureReason})` : ''}.`);
  return { pinned: true, keyLine: fetched.line, fingerprint: key.fingerprint };
}
