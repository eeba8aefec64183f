// Is the key the builder presents the one we expect? Decided the way ssh decides it under Nix:
// with column 8 set, Nix 2.8 writes `<URI host> <key line>` to a temporary file and passes
// `-oUserKnownHostsFile=<that file>` after NIX_SSHOPTS, so ssh reads that file instead of the
// user's known_hosts (unless NIX_SSHOPTS already set UserKnownHostsFile: ssh keeps the first
// value), plus the global files. ssh looks the key up under HostKeyAlias, else the HostName (as
// `[host]:port` off port 22), which is why a column-8 key written under an alias is only found
// with `HostKeyAlias <alias>`. Same type and another key is a mismatch (fatal); no entry of the
// presented type is unknown.
import { blobKeyType, fingerprintOf, readHostKeyColumn } from '../model/hostKey';
import { knownHostsFor, plainKeysFor, readKnownHostsFile, type KnownHostEntry } from './knownHosts';
import { knownHostsName, type ResolvedHost } from './sshConfig';

/** The key the builder presented. */
export interface PresentedKey {
  /** `ssh-ed25519`, `ssh-rsa`, `ecdsa-sha2-nistp256`, … */
  type: string;
  /** `SHA256:…` as `ssh-keygen -lf` prints it. */
  fingerprint: string;
  /** `type base64` (a known_hosts / .pub line without comment). */
  line: string;
  /** What column 8 should hold to pin it: base64 of the line. */
  column8: string;
}

export type HostKeySource = { kind: 'column-8' } | { kind: 'known-hosts'; file: string; line: number };

export type HostKeyVerdict =
  | { kind: 'verified'; key: PresentedKey; source: HostKeySource }
  | { kind: 'mismatch'; key: PresentedKey; source: HostKeySource; expected: { type: string; fingerprint: string } }
  | { kind: 'revoked'; key: PresentedKey; source: HostKeySource }
  | {
      kind: 'unknown';
      key: PresentedKey;
      /** The name ssh looked the key up under. */
      lookupName: string;
      /** Key types known for the name, other than the presented one. */
      otherTypes: string[];
      /** Column 8 holds this very key, but ssh will not see it (the names differ). */
      column8NameMismatch: boolean;
      /** Only `@cert-authority` lines matched: host certificates are not checked here. */
      certAuthorityOnly: boolean;
    };

/** What the check reads: column 8 (as Nix hands it to ssh) and the known_hosts files. */
export interface HostKeyPolicy {
  lookupName: string;
  /**
   * The HostName alone, for a port other than 22 and no HostKeyAlias: when nothing of the key's
   * type is known for `[host]:port`, OpenSSH also accepts the key recorded for the bare host
   * (sshconnect.c `check_host_key`, "checking without port identifier"; seen for real with
   * OpenSSH 9.2p1 and Debian sid's client in test/system/pinned-key-port.test.ts). That is what
   * lets a column-8 key work with the port in the URI on Nix 2.31+: Nix files it for the bare host.
   */
  withoutPort?: string;
  /** Column 8 as Nix passes it, when set. */
  column8:
    | {
        /** The name Nix writes the key under (the URI's host). */
        uriHost: string;
        /** The key, when column 8 decodes to a key line ssh can read. */
        entry: KnownHostEntry | undefined;
        /** Why ssh does not use it at all (NIX_SSHOPTS sets UserKnownHostsFile). */
        ignoredBecause: string | undefined;
      }
    | undefined;
  /** The user's known_hosts files ssh reads (none when column 8 replaces them). */
  userFiles: string[];
  globalFiles: string[];
}

export function presentedKey(blob: Buffer): PresentedKey {
  const type = blobKeyType(blob) ?? 'unknown';
  const line = `${type} ${blob.toString('base64')}`;
  return { type, fingerprint: fingerprintOf(blob), line, column8: Buffer.from(line).toString('base64') };
}

/** The policy for a resolved host and the machine's column 8 (`publicHostKey`). */
export function hostKeyPolicy(host: ResolvedHost, uriHost: string, publicHostKey: string | undefined): HostKeyPolicy {
  const lookupName = knownHostsName(host);
  const bare = host.hostKeyAlias === undefined && host.port !== 22 ? { withoutPort: host.hostName } : {};
  if (publicHostKey === undefined || publicHostKey === '') {
    return {
      lookupName,
      ...bare,
      column8: undefined,
      userFiles: host.userKnownHostsFiles,
      globalFiles: host.globalKnownHostsFiles,
    };
  }
  const overridden = host.commandLine.settings.some(
    (setting) => setting.flag === '-o' && setting.name === 'userknownhostsfile',
  );
  let entry: KnownHostEntry | undefined;
  const reading = readHostKeyColumn(publicHostKey);
  if (reading.kind === 'key-line') {
    const [type, base64] = reading.key.line.split(' ');
    const key = Buffer.from(base64 ?? '', 'base64');
    entry = { file: 'column 8', line: 0, marker: undefined, hosts: uriHost, hashed: false, keyType: type ?? '', key };
  }
  if (overridden) {
    return {
      lookupName,
      ...bare,
      column8: {
        uriHost,
        entry,
        ignoredBecause: 'NIX_SSHOPTS sets UserKnownHostsFile, and ssh keeps the first value it is given',
      },
      userFiles: host.userKnownHostsFiles,
      globalFiles: host.globalKnownHostsFiles,
    };
  }
  return {
    lookupName,
    ...bare,
    column8: { uriHost, entry, ignoredBecause: undefined },
    userFiles: [],
    globalFiles: host.globalKnownHostsFiles,
  };
}

function entriesOf(policy: HostKeyPolicy, read: (file: string) => KnownHostEntry[]): KnownHostEntry[] {
  const entries: KnownHostEntry[] = [];
  const column8 = policy.column8;
  if (column8 !== undefined && column8.ignoredBecause === undefined && column8.entry !== undefined)
    entries.push(column8.entry);
  // One by one: a known_hosts of a million lines must not overflow the call stack.
  for (const file of [...policy.userFiles, ...policy.globalFiles]) for (const entry of read(file)) entries.push(entry);
  return entries;
}

const sourceOf = (entry: KnownHostEntry): HostKeySource =>
  entry.file === 'column 8' && entry.line === 0
    ? { kind: 'column-8' }
    : { kind: 'known-hosts', file: entry.file, line: entry.line };

/** Decides on the presented key blob. `read` is for tests (default: read the files). */
export function checkHostKey(
  blob: Buffer,
  policy: HostKeyPolicy,
  read: (file: string) => KnownHostEntry[] = readKnownHostsFile,
): HostKeyVerdict {
  const key = presentedKey(blob);
  const matching = knownHostsFor(policy.lookupName, entriesOf(policy, read));
  const revoked = matching.find((entry) => entry.marker === 'revoked' && entry.key.equals(blob));
  if (revoked) return { kind: 'revoked', key, source: sourceOf(revoked) };
  const plain = matching.filter((entry) => entry.marker === undefined);
  const same = plain.find((entry) => entry.key.equals(blob));
  if (same) return { kind: 'verified', key, source: sourceOf(same) };
  const changed = plain.find((entry) => entry.keyType === key.type);
  if (changed)
    return {
      kind: 'mismatch',
      key,
      source: sourceOf(changed),
      expected: { type: changed.keyType, fingerprint: fingerprintOf(changed.key) },
    };
  if (policy.withoutPort !== undefined) {
    const bare = plainKeysFor(policy.withoutPort, entriesOf(policy, read)).find((entry) => entry.key.equals(blob));
    if (bare) return { kind: 'verified', key, source: sourceOf(bare) };
  }
  const column8 = policy.column8?.entry;
  return {
    kind: 'unknown',
    key,
    lookupName: policy.lookupName,
    otherTypes: [...new Set(plain.map((entry) => entry.keyType))],
    column8NameMismatch:
      column8 !== undefined && column8.key.equals(blob) && policy.column8?.ignoredBecause === undefined,
    certAuthorityOnly: plain.length === 0 && matching.some((entry) => entry.marker === 'cert-authority'),
  };
}

const algorithmsOfType: Record<string, string[]> = {
  'ssh-rsa': ['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa'],
  'ssh-ed25519': ['ssh-ed25519'],
  'ecdsa-sha2-nistp256': ['ecdsa-sha2-nistp256'],
  'ecdsa-sha2-nistp384': ['ecdsa-sha2-nistp384'],
  'ecdsa-sha2-nistp521': ['ecdsa-sha2-nistp521'],
  'ssh-dss': ['ssh-dss'],
};

/** ssh2's host key algorithms (its default order). */
const defaultAlgorithms = [
  'ssh-ed25519',
  'ecdsa-sha2-nistp256',
  'ecdsa-sha2-nistp384',
  'ecdsa-sha2-nistp521',
  'rsa-sha2-512',
  'rsa-sha2-256',
  'ssh-rsa',
];

/**
 * Host key algorithms to offer, the types already known for the host first: OpenSSH does the
 * same, so a host known by its ECDSA key is not asked for its Ed25519 key and called unknown.
 */
export function preferredHostKeyAlgorithms(
  policy: HostKeyPolicy,
  read: (file: string) => KnownHostEntry[] = readKnownHostsFile,
): string[] {
  const known = plainKeysFor(policy.lookupName, entriesOf(policy, read));
  const first: string[] = [];
  for (const entry of known)
    for (const algorithm of algorithmsOfType[entry.keyType] ?? [])
      if (!first.includes(algorithm)) first.push(algorithm);
  return [...first, ...defaultAlgorithms.filter((algorithm) => !first.includes(algorithm))];
}
