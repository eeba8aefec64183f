// The keys offered to a builder, in ssh's order (sshconnect2.c `pubkey_prepare`): the agent's
// keys first (an agent key that is also an identity file stands in for that file), then the
// identity files the agent does not hold. With IdentitiesOnly, agent keys that are not identity
// files are left out. A file key is offered by its public half (the .pub file, or the public
// part an OpenSSH key keeps in clear), so the server says whether it accepts the key before
// any passphrase is asked for, as ssh does; only then is the key decrypted, with a passphrase
// from the caller's `askPassphrase`. Passphrases and key material stay in memory, in this
// object, and are never put in a message.
import { maxKeyFileSize } from '../model/identityFile';
import { readRegularFileBytes } from '../model/regularFile';
import { fingerprintOf } from '../model/hostKey';
import {
  BaseAgent,
  utils,
  type ParsedKey,
  type SigningRequestOptions,
  type SignCallback,
  type IdentityCallback,
} from 'ssh2';

/**
 * Asks the user for the passphrase of a key file; undefined when they decline. `signal` aborts
 * when the asker no longer waits (the connection gave up, or the prompt went unanswered too
 * long): close the prompt then.
 */
export type AskPassphrase = (keyFile: string, signal?: AbortSignal) => Promise<string | undefined>;

export type IdentityState =
  | 'missing'
  | 'unreadable'
  | 'not-a-key'
  /** Encrypted, with no public half to offer (no .pub, not an OpenSSH-format key). */
  | 'encrypted-no-public-key'
  | 'offered'
  /** The server accepted it; no passphrase was given. */
  | 'encrypted-no-passphrase'
  /** The server accepted it; the passphrase given does not open it. */
  | 'wrong-passphrase'
  /** Signed with it (this is the key that logged in when auth succeeded). */
  | 'signed';

export interface IdentityReport {
  /** The file, or `agent` for an agent key that is not a file. */
  source: string;
  fingerprint: string | undefined;
  state: IdentityState;
  /** The agent signs for this key. */
  viaAgent: boolean;
}

interface Identity {
  report: IdentityReport;
  publicKey: ParsedKey | undefined;
  file: string | undefined;
  privateKey: ParsedKey | undefined;
  encrypted: boolean;
  viaAgent: boolean;
}

const isError = (value: unknown): value is Error => value instanceof Error;

function firstKey(parsed: ParsedKey | ParsedKey[] | Error): ParsedKey | Error {
  if (Array.isArray(parsed)) return parsed[0] ?? new Error('no key');
  return parsed;
}

/** The public key an encrypted `openssh-key-v1` file keeps in clear. */
export function publicKeyOfOpenSshPrivateKey(text: string): Buffer | undefined {
  const match = /-----BEGIN OPENSSH PRIVATE KEY-----([\s\S]*?)-----END OPENSSH PRIVATE KEY-----/.exec(text);
  if (!match) return undefined;
  const data = Buffer.from(match[1]!.replace(/\s+/g, ''), 'base64');
  const magic = 'openssh-key-v1\0';
  if (data.toString('latin1', 0, magic.length) !== magic) return undefined;
  let at = magic.length;
  const readString = (): Buffer | undefined => {
    if (at + 4 > data.length) return undefined;
    const length = data.readUInt32BE(at);
    at += 4;
    if (at + length > data.length) return undefined;
    const value = data.subarray(at, at + length);
    at += length;
    return value;
  };
  readString(); // cipher
  readString(); // kdf
  readString(); // kdf options
  if (at + 4 > data.length) return undefined;
  const count = data.readUInt32BE(at);
  at += 4;
  if (count < 1) return undefined;
  return readString();
}

function blobToKey(blob: Buffer): ParsedKey | undefined {
  const length = blob.length >= 4 ? blob.readUInt32BE(0) : 0;
  const type = blob.subarray(4, 4 + length).toString('latin1');
  const parsed = firstKey(utils.parseKey(`${type} ${blob.toString('base64')}`));
  return isError(parsed) ? undefined : parsed;
}

export interface KeyringOptions {
  identityFiles: readonly string[];
  identitiesOnly: boolean;
  /** The user's ssh-agent, if any. */
  agent?: BaseAgent<ParsedKey>;
  askPassphrase?: AskPassphrase;
  /** Reads a key file (tests); default readFileSync. */
  readFile?: (file: string) => Buffer;
}

/** Attempts at a passphrase before giving up, as ssh allows. */
const passphraseAttempts = 3;

export class Keyring extends BaseAgent<ParsedKey> {
  private identities: Identity[] | undefined;
  /** Why the agent could not be asked, if it could not. */
  agentProblem: string | undefined;

  constructor(private readonly options: KeyringOptions) {
    super();
  }

  /** What happened to each key, in offering order. */
  reports(): IdentityReport[] {
    return (this.identities ?? []).map((identity) => ({ ...identity.report }));
  }

  private loadFile(file: string): Identity {
    const report: IdentityReport = { source: file, fingerprint: undefined, state: 'offered', viaAgent: false };
    const identity: Identity = {
      report,
      publicKey: undefined,
      file,
      privateKey: undefined,
      encrypted: false,
      viaAgent: false,
    };
    let content: Buffer;
    try {
      content = (this.options.readFile ?? readKeyFile)(file);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      report.state = code === 'ENOENT' || code === 'ENOTDIR' ? 'missing' : 'unreadable';
      return identity;
    }
    const parsed = firstKey(utils.parseKey(content));
    if (!isError(parsed)) {
      if (!parsed.isPrivateKey()) {
        report.state = 'not-a-key';
        return identity;
      }
      identity.privateKey = parsed;
      identity.publicKey = blobToKey(parsed.getPublicSSH());
    } else if (/encrypted|passphrase/i.test(parsed.message) || /ENCRYPTED/.test(content.toString('latin1', 0, 200))) {
      identity.encrypted = true;
      let blob = publicKeyOfOpenSshPrivateKey(content.toString('latin1'));
      if (blob === undefined) {
        try {
          const pub = firstKey(utils.parseKey((this.options.readFile ?? readKeyFile)(`${file}.pub`)));
          if (!isError(pub)) blob = pub.getPublicSSH();
        } catch {
          // No .pub next to it.
        }
      }
      identity.publicKey = blob === undefined ? undefined : blobToKey(blob);
      if (identity.publicKey === undefined) report.state = 'encrypted-no-public-key';
    } else {
      report.state = 'not-a-key';
      return identity;
    }
    if (identity.publicKey !== undefined) report.fingerprint = fingerprint(identity.publicKey);
    return identity;
  }

  private async agentKeys(): Promise<ParsedKey[]> {
    const agent = this.options.agent;
    if (agent === undefined) return [];
    return new Promise((resolve) => {
      agent.getIdentities((error, keys) => {
        if (error || !Array.isArray(keys)) {
          this.agentProblem = error ? 'the ssh-agent did not answer' : 'the ssh-agent gave no keys';
          resolve([]);
          return;
        }
        const parsed: ParsedKey[] = [];
        for (const key of keys) {
          const one = firstKey(utils.parseKey(key as ParsedKey));
          if (!isError(one)) parsed.push(one);
        }
        resolve(parsed);
      });
    });
  }

  private async load(): Promise<Identity[]> {
    const files = this.options.identityFiles.map((file) => this.loadFile(file));
    const remaining = [...files];
    const ordered: Identity[] = [];
    for (const key of await this.agentKeys()) {
      const blob = key.getPublicSSH();
      const index = remaining.findIndex((identity) => identity.publicKey?.getPublicSSH().equals(blob) === true);
      if (index >= 0) {
        const identity = remaining.splice(index, 1)[0]!;
        identity.viaAgent = true;
        identity.report.viaAgent = true;
        identity.publicKey = key;
        ordered.push(identity);
      } else if (!this.options.identitiesOnly) {
        ordered.push({
          report: { source: 'agent', fingerprint: fingerprint(key), state: 'offered', viaAgent: true },
          publicKey: key,
          file: undefined,
          privateKey: undefined,
          encrypted: false,
          viaAgent: true,
        });
      }
    }
    ordered.push(...remaining);
    return ordered;
  }

  override getIdentities(cb: IdentityCallback<ParsedKey>): void {
    this.load().then(
      (identities) => {
        this.identities = identities;
        cb(
          undefined,
          identities.filter((identity) => identity.publicKey !== undefined).map((identity) => identity.publicKey!),
        );
      },
      () => cb(new Error('could not read the identity files')),
    );
  }

  override sign(
    pubKey: ParsedKey,
    data: Buffer,
    options: SigningRequestOptions | SignCallback,
    cb?: SignCallback,
  ): void {
    const callback = (typeof options === 'function' ? options : cb)!;
    const signing = typeof options === 'function' ? {} : options;
    const blob = pubKey.getPublicSSH();
    const identity = this.identities?.find((candidate) => candidate.publicKey?.getPublicSSH().equals(blob) === true);
    if (identity === undefined) {
      callback(new Error('unknown key'));
      return;
    }
    if (identity.viaAgent && this.options.agent !== undefined) {
      this.options.agent.sign(identity.publicKey!, data, signing, (error, signature) => {
        if (!error) identity.report.state = 'signed';
        callback(error, signature);
      });
      return;
    }
    this.privateKeyOf(identity).then(
      (key) => {
        if (key === undefined) {
          callback(new Error('the key could not be opened'));
          return;
        }
        const signature = key.sign(data, (signing as { hash?: string }).hash);
        if (isError(signature)) {
          callback(new Error('signing failed'));
          return;
        }
        identity.report.state = 'signed';
        callback(undefined, signature);
      },
      () => callback(new Error('the key could not be opened')),
    );
  }

  private async privateKeyOf(identity: Identity): Promise<ParsedKey | undefined> {
    if (identity.privateKey !== undefined) return identity.privateKey;
    if (identity.file === undefined || !identity.encrypted) return undefined;
    const ask = this.options.askPassphrase;
    if (ask === undefined) {
      identity.report.state = 'encrypted-no-passphrase';
      return undefined;
    }
    let content: Buffer;
    try {
      content = (this.options.readFile ?? readKeyFile)(identity.file);
    } catch {
      identity.report.state = 'unreadable';
      return undefined;
    }
    for (let attempt = 0; attempt < passphraseAttempts; attempt++) {
      const passphrase = await ask(identity.file);
      if (passphrase === undefined) {
        identity.report.state = attempt === 0 ? 'encrypted-no-passphrase' : 'wrong-passphrase';
        return undefined;
      }
      const parsed = firstKey(utils.parseKey(content, passphrase));
      if (!isError(parsed) && parsed.isPrivateKey()) {
        identity.privateKey = parsed;
        return parsed;
      }
      identity.report.state = 'wrong-passphrase';
    }
    return undefined;
  }
}

function fingerprint(key: ParsedKey): string {
  return fingerprintOf(key.getPublicSSH());
}

/**
 * A key file read as ssh would, but never hanging: only a regular file of at most 1 MiB is
 * read (column 3 of a workspace's machines file may name a FIFO or /dev/zero). Fails with an
 * errno-like code, as readFileSync does.
 */
function readKeyFile(file: string): Buffer {
  const read = readRegularFileBytes(file, maxKeyFileSize);
  if (read.kind === 'bytes') return read.bytes;
  const error: NodeJS.ErrnoException = new Error(`cannot read the key file ${file}`);
  error.code =
    read.kind === 'missing'
      ? 'ENOENT'
      : read.kind === 'failed'
        ? read.code
        : read.kind === 'directory'
          ? 'EISDIR'
          : 'EINVAL';
  throw error;
}
