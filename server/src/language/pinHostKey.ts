// "Pin the host key": fetch the builder's host key over SSH (key exchange only), show its type
// and fingerprint, and on the user's word write it into column 8 (filling columns 2–7 with `-`).
// Only a key nobody has on record is pinned: when the fetched key contradicts column 8 or
// known_hosts, the command refuses with the "key changed" advice, whatever its caller (a code
// action, a health finding, any LSP client) asked for.
// Runs as a server command, because the connection belongs in the server process; only in a
// trusted workspace, since it connects to a host named by the workspace.
import { MessageType, type Connection, type TextEdit } from 'vscode-languageserver';
import type { TextDocument } from 'vscode-languageserver-textdocument';
import { parsePublicKeyLine, type HostPublicKey } from '../model/hostKey';
import type { Machine } from '../model/machines';
import { parseStoreUri } from '../model/storeUri';
import { fetchHostKey } from '../ssh/fetchHostKey';
import {
  checkHostKey,
  hostKeyPolicy,
  preferredHostKeyAlgorithms,
  type HostKeyPolicy,
  type PresentedKey,
} from '../ssh/hostKeyCheck';
import { fingerprintCommand, hostKeyChangedAdvice } from '../ssh/hostKeyChanged';
import type { Analysis } from './analysis';
import { columnsOf, ownMachines } from './documentMachines';
import { keygenLine } from './keyDescription';
import { column8Key, knownHostsEntries } from './recordedHostKey';
import { lookUpSshSettings, requestFor } from './sshLookup';

export const pinHostKeyCommand = 'nixBuilders.pinHostKey';

/** The arguments the code action puts in its command. */
export interface PinHostKeyArguments {
  uri: string;
  /** Where column 1 of the machine starts, and its text (to find it again after edits). */
  offset: number;
  storeUri: string;
}

export type PinOutcome = { pinned: true; keyLine: string; fingerprint: string } | { pinned: false; reason: string };

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
    if (
      !best ||
      Math.abs(machine.columns.storeUri.span.start - args.offset) <
        Math.abs(best.columns.storeUri.span.start - args.offset)
    )
      best = machine;
  }
  return best;
}

/** The edit that writes `column8` into the machine's row, adding `-` for missing columns 2–7. */
function hostKeyEdit(document: TextDocument, machine: Machine, column8: string): TextEdit {
  const range = (start: number, end: number) => ({ start: document.positionAt(start), end: document.positionAt(end) });
  const existing = machine.columns.publicHostKey;
  if (existing) return { range: range(existing.span.start, existing.span.end), newText: column8 };
  const columns = columnsOf(machine);
  const last = columns[columns.length - 1]!;
  const fill = Array.from({ length: 7 - columns.length }, () => '-');
  return { range: range(last.span.end, last.span.end), newText: ` ${[...fill, column8].join(' ')}` };
}

const keyBlob = (key: HostPublicKey): Buffer => Buffer.from(key.line.split(' ')[1] ?? '', 'base64');

/** The host key algorithms of a key type (an RSA key signs as rsa-sha2-*). */
function algorithmsOf(type: string): string[] {
  return type === 'ssh-rsa' ? ['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa'] : [type];
}

/**
 * Why the presented key must not be pinned, if it must not: it is not the key column 8 holds,
 * or known_hosts has another key for the host (of its type, or only of other types, or marks
 * it @revoked). Then the answer is the "key changed" advice, never a prompt to trust it.
 */
function contradictionOf(
  key: HostPublicKey,
  column8: HostPublicKey | undefined,
  policy: HostKeyPolicy | undefined,
  alias: string,
  named?: ReadonlyMap<string, string>,
): string | undefined {
  if (column8 !== undefined && column8.line !== key.line) {
    return hostKeyChangedAdvice({
      alias,
      keyType: key.type,
      fingerprint: key.fingerprint,
      expectedFingerprint: column8.fingerprint,
      recorded: { kind: 'column-8' },
    });
  }
  if (policy === undefined) return undefined;
  const verdict = checkHostKey(keyBlob(key), policy);
  if (verdict.kind === 'mismatch' && verdict.source.kind === 'known-hosts') {
    const words = named?.get(verdict.source.file);
    if (words !== undefined) {
      return hostKeyChangedAdvice({
        alias,
        keyType: key.type,
        fingerprint: key.fingerprint,
        expectedFingerprint: verdict.expected.fingerprint,
        recorded: undefined,
        recordedAs: words,
      });
    }
    const recorded = {
      kind: 'known-hosts' as const,
      file: verdict.source.file,
      line: verdict.source.line,
      lookupName: policy.lookupName,
    };
    return hostKeyChangedAdvice({
      alias,
      keyType: key.type,
      fingerprint: key.fingerprint,
      expectedFingerprint: verdict.expected.fingerprint,
      recorded,
    });
  }
  if (verdict.kind === 'revoked') {
    return `${alias} presented the ${key.type} key ${key.fingerprint}, which ${verdict.source.kind === 'known-hosts' ? `${verdict.source.file} line ${verdict.source.line}` : 'column 8'} marks @revoked: it is not pinned. Give the builder a new host key and record that one.`;
  }
  if (verdict.kind === 'unknown' && (verdict.otherTypes.length > 0 || verdict.certAuthorityOnly)) {
    const first = knownHostsEntries(policy.lookupName, [...policy.userFiles, ...policy.globalFiles])[0];
    const place = first ? `${first.file} line ${first.line}` : 'known_hosts';
    return `${alias} presented the ${key.type} key ${key.fingerprint}, but ${place} knows '${policy.lookupName}' by ${verdict.certAuthorityOnly ? 'a certificate authority' : `its ${verdict.otherTypes.join(', ')} key`}, which it did not offer: treat this as a changed key, not a new one. Verify it out of band with \`${fingerprintCommand(key.type)}\` on the builder's own console; only if it matches, add it to known_hosts yourself.`;
  }
  return undefined;
}

/** What the user confirmed: the builder's key, as fetched, for the host the URI names. */
export interface ConfirmedKey {
  key: HostPublicKey;
  fetched: PresentedKey;
  host: string;
}

export interface ConfirmRequest {
  connection: Connection;
  /** The targeted Nix passes a port in the URI on to ssh. */
  portInUri: boolean;
  configFile: string | undefined;
  /** False when the config file comes from the workspace: read without ssh (its `Match exec` would run). */
  sshTrusted?: boolean;
  /** Where the host's ssh settings come from, when not the user's own config: said in the prompt. */
  via?: string;
  /** known_hosts files made from something else (programs.ssh.knownHosts): what to call them. */
  knownHostsNamed?: ReadonlyMap<string, string>;
  timeoutMs?: number;
  /** Says why nothing is pinned (and tells the user). */
  fail: (reason: string) => PinOutcome;
}

/**
 * The flow both sides share (a machines line here, a `nix.buildMachines` entry in
 * nixModules/pinDeclaredHostKey.ts): the host's ssh settings, its key fetched (key exchange
 * only), refused when it contradicts what is on record, and the user's word on its fingerprint.
 */
export async function confirmHostKey(machine: Machine, request: ConfirmRequest): Promise<ConfirmedKey | PinOutcome> {
  const { connection, fail } = request;
  const parts = parseStoreUri(machine.storeUri);
  if (parts.scheme !== 'ssh' && parts.scheme !== 'ssh-ng') return fail(`${machine.storeUri} is not an SSH builder.`);

  const lookup = await lookUpSshSettings(
    requestFor(parts, {
      portInUri: request.portInUri,
      configFile: request.configFile,
      trusted: request.sshTrusted ?? true,
    }),
  );
  // A user or host that ssh would read as an option is refused here, before anything runs.
  if ('error' in lookup) return fail(`${lookup.error}.`);
  const { hostName, port: sshPort, proxyJump, proxyCommand } = lookup.host;
  if (proxyJump.length > 0 || proxyCommand !== undefined) {
    return fail(
      `${parts.host} is reached through a proxy (ProxyJump/ProxyCommand), which pinning does not follow. Run \`ssh-keyscan\` from the jump host, or \`base64 -w0 /etc/ssh/ssh_host_ed25519_key.pub\` on the builder.`,
    );
  }

  // What is on record decides, not the caller's arguments: the same check whoever sent them.
  const recordedInColumn8 = column8Key(machine);
  const policy = hostKeyPolicy(lookup.host, parts.host, undefined);
  const knownTypes = preferredHostKeyAlgorithms(policy);
  const column8Types = recordedInColumn8
    ? algorithmsOf(recordedInColumn8.type).filter((algorithm) => knownTypes.includes(algorithm))
    : [];
  let fetched: PresentedKey;
  try {
    fetched = await fetchHostKey({
      host: hostName,
      port: sshPort,
      hostKeyAlgorithms: [...column8Types, ...knownTypes.filter((algorithm) => !column8Types.includes(algorithm))],
      ...(request.timeoutMs ? { timeoutMs: request.timeoutMs } : {}),
    });
  } catch (error) {
    return fail(
      `could not get the host key of ${parts.host} (${hostName}:${sshPort}): ${error instanceof Error ? error.message : String(error)}.`,
    );
  }
  const key = parsePublicKeyLine(fetched.line);
  if (!key) return fail(`${hostName}:${sshPort} sent a ${fetched.type} key this extension cannot read.`);

  const contradiction = contradictionOf(key, recordedInColumn8, policy, parts.host, request.knownHostsNamed);
  if (contradiction !== undefined) return fail(contradiction);
  const verified = checkHostKey(keyBlob(key), policy);

  const address = hostName === parts.host && sshPort === 22 ? '' : `${hostName}:${sshPort}`;
  const via = request.via ? `${address}${address ? ', ' : ''}${request.via}` : address;
  const where = via ? `${parts.host} (${via})` : parts.host;
  const pin = { title: 'Pin' };
  const alreadyKnown =
    verified.kind === 'verified' && verified.source.kind === 'known-hosts'
      ? ` It matches ${verified.source.file} line ${verified.source.line}.`
      : '';
  const choice = await connection.window.showInformationMessage(
    `Pin this host key for ${where}? ${key.type} ${key.fingerprint} (${keygenLine(key).split(' ')[0]} bits).${alreadyKnown} Compare the fingerprint with what \`${fingerprintCommand(key.type)}\` prints on the builder before you pin it.`,
    pin,
    { title: 'Cancel' },
  );
  if (choice?.title !== pin.title) return { pinned: false, reason: 'cancelled' };
  return { key, fetched, host: parts.host };
}

/** Says why nothing is pinned, in a message to the user too. */
export function pinFailure(connection: Connection): (reason: string) => PinOutcome {
  return (reason) => {
    void connection.sendNotification('window/showMessage', {
      type: MessageType.Error,
      message: `Pin host key: ${reason}`,
    });
    return { pinned: false, reason };
  };
}

/** The key the user confirmed, checked again against what `now` holds where it goes. */
export function changedMeanwhile(confirmed: ConfirmedKey, now: HostPublicKey | undefined): string | undefined {
  return contradictionOf(confirmed.key, now, undefined, confirmed.host);
}

export async function pinHostKey(args: PinHostKeyArguments, deps: PinDependencies): Promise<PinOutcome> {
  const { connection } = deps;
  const fail = pinFailure(connection);
  if (!deps.trusted())
    return fail('the workspace is not trusted, so no connection is made. Trust the workspace to pin host keys.');

  const document = deps.document(args.uri);
  const analysis = document && (await deps.analysis(document));
  const machine = analysis && findMachine(analysis, args);
  if (!document || !machine) return fail(`the line with ${args.storeUri} is gone.`);
  const confirmed = await confirmHostKey(machine, {
    connection,
    portInUri: analysis.target.rules.portInUri,
    configFile: await deps.sshConfigFile(args.uri),
    fail,
    ...(deps.timeoutMs ? { timeoutMs: deps.timeoutMs } : {}),
  });
  if ('pinned' in confirmed) return confirmed;

  // The text may have changed while the user read the prompt: find the line again, and check
  // again that it does not hold another key now.
  const now = deps.document(args.uri);
  const nowAnalysis = now && (await deps.analysis(now));
  const nowMachine = nowAnalysis && findMachine(nowAnalysis, args);
  if (!now || !nowMachine) return fail(`the line with ${args.storeUri} is gone.`);
  const changed = changedMeanwhile(confirmed, column8Key(nowMachine));
  if (changed !== undefined) return fail(changed);
  const result = await connection.workspace.applyEdit({
    label: `Pin the host key of ${confirmed.host}`,
    edit: { changes: { [args.uri]: [hostKeyEdit(now, nowMachine, confirmed.fetched.column8)] } },
  });
  if (!result.applied)
    return fail(`the editor did not apply the edit${result.failureReason ? ` (${result.failureReason})` : ''}.`);
  return { pinned: true, keyLine: confirmed.fetched.line, fingerprint: confirmed.key.fingerprint };
}
