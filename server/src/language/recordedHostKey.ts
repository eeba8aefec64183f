// What this machine already has on record for a builder's host key, before anything connects:
// a key in column 8 of its line (base64 of a key line, or a bare key blob: a key either way),
// and the known_hosts entries ssh would look the host up in. "Pin the host key" is offered only
// when neither has one: a recorded key is something to compare the builder's key with, never
// something one click may overwrite (a changed key is ssh's "REMOTE HOST IDENTIFICATION HAS
// CHANGED").
import { readHostKeyColumn, type HostPublicKey } from '../model/hostKey';
import { knownHostsLineKey } from '../model/lint/hostKey';
import type { Machine } from '../model/machines';
import { parseStoreUri } from '../model/storeUri';
import { knownHostsFor, readKnownHostsFile, type KnownHostEntry } from '../ssh/knownHosts';
import { knownHostsName } from '../ssh/sshConfig';
import { lookUpSshSettings, requestFor } from './sshLookup';

/** The key column 8 holds, if it holds one. */
export function column8Key(machine: Machine): HostPublicKey | undefined {
  const column = machine.columns.publicHostKey;
  if (!column?.isSet) return undefined;
  const reading = readHostKeyColumn(column.text);
  // A whole known_hosts line is a key on record too, in the wrong form (its own quick fix).
  return reading.kind === 'not-a-key' ? knownHostsLineKey(reading.decoded) : reading.key;
}

/** The known_hosts entries (any marker) for `lookupName` in these files. */
export function knownHostsEntries(
  lookupName: string,
  files: readonly string[],
  read: (file: string) => KnownHostEntry[] = readKnownHostsFile,
): KnownHostEntry[] {
  return knownHostsFor(
    lookupName,
    files.flatMap((file) => read(file)),
  );
}

export interface RecordLookup {
  configFile: string | undefined;
  /** `ssh -G` may run; otherwise the config files are read without ssh. */
  trusted: boolean;
  /** The targeted Nix passes a port in the URI on to ssh. */
  portInUri: boolean;
}

/**
 * Whether a key is on record for the machine's host: column 8 or known_hosts. True also when
 * the host's ssh settings cannot be read, since then nothing can say the key is unknown.
 */
export async function hostKeyOnRecord(machine: Machine, lookup: RecordLookup): Promise<boolean> {
  if (column8Key(machine) !== undefined) return true;
  const parts = parseStoreUri(machine.storeUri);
  const settings = await lookUpSshSettings(requestFor(parts, lookup));
  if ('error' in settings) return true;
  const host = settings.host;
  return (
    knownHostsEntries(knownHostsName(host), [...host.userKnownHostsFiles, ...host.globalKnownHostsFiles]).length > 0
  );
}
