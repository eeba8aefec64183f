// A client of `nix-store --serve --write` on one SSH channel: what Nix's own build hook opens on
// an ssh:// builder (LegacySSHStore), with every step of an offload sent as a command over it
// instead of a `nix-store` process per step. One login shell, one Nix start-up, one store open.
// The remote program is started with remoteProcess.ts' PID line, so a cancel really stops it
// (and the build it runs); its stderr is the build log, line by line.
//
// The protocol, read from each Nix's own server (opServe) so one client speaks to all three:
//   2.8.0   src/nix-store/nix-store.cc, src/libstore/serve-protocol.hh
//   2.26.3  src/nix-store/nix-store.cc, src/libstore/serve-protocol{,-connection}.cc
//   2.34.8  src/nix/nix-store/nix-store.cc, src/libstore/serve-protocol.cc
// All three speak version 2.7 (SERVE_PROTOCOL_VERSION in 2.8.0 and 2.26.3, ServeProto::latest
// in 2.34.8) and agree on min(client, server); we offer 2.7, as Nix 2.8's own client does.
// The greeting: we send SERVE_MAGIC_1 and our version; the server answers SERVE_MAGIC_2 and
// its version, then reads ours. A login shell that prints a greeting puts it before the magic:
// it is skipped here (and kept, so the offload can say so), where Nix fails with
// "'nix-store --serve' protocol mismatch".
// Commands (numbers, strings and string lists as health/nixProtocol.ts frames them):
//   1 QueryValidPaths lock substitute paths → paths (substitute only with --write, all three)
//   4 ImportPaths, then a `nix-store --export` stream (its end marker ends it) → 1
//   6 BuildPaths paths options → status, and a message when status ≠ 0
//   7 QueryClosure includeOutputs paths → paths
//   2 QueryPathInfos paths → per valid path: path, deriver, references, download size, NAR
//     size, and from 2.4 the NAR hash, CA and signatures; then ''
//   3 DumpStorePath path → the NAR, with no length: the NAR size from QueryPathInfos frames it
// ExportPaths (5) is not used: NixOS/nix 9df99e0658 removed it before 2.34 ("unknown serve
// command 5" there, which ends the session). The copy back is what 2.34's own LegacySSHStore
// does: path infos, then each NAR; we write them as the export stream `nix-store --import` reads
// (Store::exportPaths in 2.8.0 src/libstore/export-import.cc), dependencies first, each NAR
// checked against the hash the builder has for it.
import { createHash } from 'node:crypto';
import type { Writable } from 'node:stream';
import type { Client } from 'ssh2';
import {
  ChannelReader,
  ProtocolError,
  SERVE_MAGIC_1,
  SERVE_MAGIC_2,
  u64,
  wireString,
  printable,
  wireStrings,
} from '../health/nixProtocol';
import { startRemote, type RemoteExit, type RemoteProcess } from './remoteProcess';
import { nixStoreCommand, type RemoteNixStore } from './remoteNixStore';
import { dependenciesFirst, exportTrailer, nix32, type ExportedPath } from './exportStream';
import { ByteCounter, Tail } from './streamParts';

export { ProtocolError } from '../health/nixProtocol';

/** The version we offer: 2.7, what all three servers speak (see above). */
const CLIENT_VERSION = (2 << 8) | 7;
/** The commands we send: ServeCommand (2.8.0), ServeProto::Command (2.26.3, 2.34.8). */
const command = {
  queryValidPaths: 1,
  queryPathInfos: 2,
  dumpStorePath: 3,
  importPaths: 4,
  buildPaths: 6,
  queryClosure: 7,
};
/** How much a login shell may print before the greeting before we call it something else. */
const maxNoiseBytes = 64 * 1024;
/** The copies go to ssh2 in pieces this big (streamParts.ts says why). */
const streamBatchBytes = 1024 * 1024;

/** Where the session's stderr goes, and its last lines for the offload using it. */
interface SessionLog {
  to: ((line: string) => void) | undefined;
  tail: Tail;
}

/** One path's record, as QueryPathInfos gives it. */
export interface ServePathInfo extends ExportedPath {
  narSize: number;
  /** `sha256:<nix32>`; '' from a server before 2.4. */
  narHash: string;
}

/** The build options of BuildPaths. Nix's own defaults: no limits, no repeats, keep nothing. */
export interface ServeBuildOptions {
  maxSilentTime?: number;
  buildTimeout?: number;
  maxLogSize?: number;
  keepFailed?: boolean;
}

export type ServeOpen =
  | { ok: true; session: ServeSession }
  /** The program ended, timed out or spoke something else; `exit` once it ended. */
  | { ok: false; error: ProtocolError; got: string; exit: RemoteExit | undefined };

/** Starts `<nix-store> [--store …] --serve --write` and exchanges the greeting. */
export async function openServeSession(
  client: Client,
  store: RemoteNixStore,
  options: { timeoutMs: number; onLog?: (line: string) => void },
): Promise<ServeOpen> {
  const log: SessionLog = { to: options.onLog, tail: new Tail(25) };
  const process = await startRemote(client, [...nixStoreCommand(store), '--serve', '--write'], {
    onStderrLine: (line) => {
      log.tail.push(line);
      log.to?.(line);
    },
  });
  const reader = new ChannelReader(process.channel, undefined, { stderr: false });
  process.channel.write(Buffer.concat([u64(SERVE_MAGIC_1), u64(CLIENT_VERSION)]));
  const deadline = Date.now() + options.timeoutMs;
  try {
    const noise = await reader.skipTo(u64(SERVE_MAGIC_2), maxNoiseBytes, deadline);
    const server = await reader.readNumber(deadline);
    // The major version must be 2 (BasicClientConnection::handshake, 2.26.3).
    if (server >> 8 !== 2)
      throw new ProtocolError(
        'mismatch',
        `unsupported 'nix-store --serve' protocol version ${server >> 8}.${server & 0xff}`,
      );
    const minor = Math.min(server & 0xff, CLIENT_VERSION & 0xff);
    return { ok: true, session: new ServeSession(process, reader, minor, noise, log) };
  } catch (error) {
    const protocolError = error instanceof ProtocolError ? error : new ProtocolError('closed', String(error));
    const got = printable(reader.seen);
    // A program that ended has an exit status and stderr worth more than our words.
    const exit =
      protocolError.reason === 'closed' ? await process.done : (await process.kill(), await process.done, undefined);
    return { ok: false, error: protocolError, got, exit };
  }
}

/** One `nix-store --serve --write` on a builder, used by one offload at a time. */
export class ServeSession {
  private replies: Promise<unknown> = Promise.resolve();

  constructor(
    /** The remote program: kill() stops it and what it builds. */
    readonly process: RemoteProcess,
    private readonly reader: ChannelReader,
    /** The negotiated minor version (major is 2). */
    readonly minor: number,
    /** What the login shell printed before the greeting ('' for a quiet one). */
    readonly noise: Buffer,
    private readonly log: SessionLog,
  ) {}

  /** Where the session's stderr (the build log) goes from now on. */
  set onLog(to: ((line: string) => void) | undefined) {
    this.log.to = to;
    this.log.tail = new Tail(25);
  }

  /**
   * The last stderr lines since `onLog` was last set: this offload's, not those of an earlier
   * one on a kept session (an old `error:` line must not name the cause of a new failure).
   */
  get stderrTail(): string[] {
    return this.log.tail.get();
  }

  /** The remote program has ended (or its channel closed): the session cannot be used again. */
  get ended(): boolean {
    return this.reader.closed;
  }

  /**
   * Reads one reply after the replies asked for before it: a command is written at once, so
   * commands sent one after another go in one round trip (the server answers in order).
   */
  private reply<T>(read: () => Promise<T>): Promise<T> {
    const answer = this.replies.then(read);
    this.replies = answer.then(
      () => undefined,
      () => undefined,
    );
    return answer;
  }

  private write(...parts: Buffer[]): void {
    this.process.channel.write(parts.length === 1 ? parts[0]! : Buffer.concat(parts));
  }

  /** Which of `paths` the builder has, after substituting the others when `substitute`. */
  async queryValidPaths(paths: readonly string[], substitute: boolean, timeoutMs: number): Promise<string[]> {
    this.write(u64(command.queryValidPaths), u64(0), u64(substitute ? 1 : 0), wireStrings(paths));
    return this.reply(() => this.reader.readStrings(Date.now() + timeoutMs));
  }

  /**
   * Imports an export stream (a local `nix-store --export`'s stdout) on the builder. The stream
   * goes into the channel without ending it (the export's own end marker ends the command);
   * resolves with the bytes sent once the builder said it imported them.
   */
  async importPaths(exportStream: NodeJS.ReadableStream): Promise<number> {
    this.write(u64(command.importPaths));
    const counter = new ByteCounter(streamBatchBytes);
    exportStream.pipe(counter).pipe(this.process.channel, { end: false });
    // Read at once: a builder that refuses ends the session mid-stream, and that is the news.
    const reply = await this.reply(() => this.reader.readNumber(Infinity));
    if (reply !== 1) throw new ProtocolError('mismatch', `the builder answered ${reply} to an import`);
    return counter.bytes;
  }

  /** Builds the derivations (all their outputs); status 0, or Nix's status and message. */
  async buildPaths(
    drvPaths: readonly string[],
    options: ServeBuildOptions = {},
  ): Promise<{ status: number; message: string }> {
    // getBuildSettings / Serialise<BuildOptions>::read: the same fields and order in 2.8.0,
    // 2.26.3 and 2.34.8. From 2.2 maxLogSize; from 2.3 nrRepeats and enforceDeterminism
    // (2.26.3 and 2.34.8 refuse nrRepeats ≠ 0 and ignore enforceDeterminism; 2.8.0 with no
    // repeats never compares); from 2.7 keepFailed.
    const fields = [u64(options.maxSilentTime ?? 0), u64(options.buildTimeout ?? 0)];
    if (this.minor >= 2) fields.push(u64(options.maxLogSize ?? 0));
    if (this.minor >= 3) fields.push(u64(0), u64(0));
    if (this.minor >= 7) fields.push(u64(options.keepFailed ? 1 : 0));
    this.write(u64(command.buildPaths), wireStrings(drvPaths), ...fields);
    return this.reply(async () => {
      const status = await this.reader.readNumber(Infinity);
      if (status === 0) return { status, message: '' };
      return { status, message: await this.reader.readString(Infinity) };
    });
  }

  /** The closure of `paths` on the builder (their references, transitively). */
  async queryClosure(paths: readonly string[], timeoutMs: number): Promise<string[]> {
    this.write(u64(command.queryClosure), u64(0), wireStrings(paths));
    return this.reply(() => this.reader.readStrings(Date.now() + timeoutMs));
  }

  /** The records of those of `paths` the builder has. */
  async queryPathInfos(paths: readonly string[], timeoutMs: number): Promise<ServePathInfo[]> {
    this.write(u64(command.queryPathInfos), wireStrings(paths));
    return this.reply(async () => {
      const deadline = Date.now() + timeoutMs;
      const infos: ServePathInfo[] = [];
      for (;;) {
        const path = await this.reader.readString(deadline);
        if (path === '') return infos;
        const deriver = await this.reader.readString(deadline);
        const references = await this.reader.readStrings(deadline);
        await this.reader.readNumber(deadline); // download size (the NAR size again)
        const narSize = await this.reader.readNumber(deadline);
        let narHash = '';
        // From 2.4 (2.8.0 opServe; Serialise<UnkeyedValidPathInfo> in 2.26.3 and 2.34.8).
        if (this.minor >= 4) {
          narHash = await this.reader.readString(deadline);
          await this.reader.readString(deadline); // content address
          await this.reader.readStrings(deadline); // signatures
        }
        infos.push({ path, deriver, references, narSize, narHash });
      }
    });
  }

  /**
   * Writes `paths` (which the builder has) into `sink` as `nix-store --export` would, for a
   * local `nix-store --import`; dependencies first. Returns the NAR bytes brought. The sink's
   * end is left to the caller.
   */
  async exportPaths(paths: readonly string[], sink: Writable, timeoutMs: number): Promise<number> {
    // Only what was asked for: a builder's records of other paths never reach our import.
    const asked = new Set(paths);
    const infos = (await this.queryPathInfos(paths, timeoutMs)).filter((info) => asked.has(info.path));
    const absent = paths.filter((path) => !infos.some((info) => info.path === path));
    if (absent.length > 0) throw new ProtocolError('remote-error', `the builder does not have ${absent.join(', ')}`);
    const ordered = dependenciesFirst(infos);
    // Every NAR asked for at once: the server answers them in order, without a round trip each.
    this.write(...ordered.map((info) => Buffer.concat([u64(command.dumpStorePath), wireString(info.path)])));
    const put = (piece: Buffer) => {
      if (sink.destroyed || sink.writableEnded) throw new ProtocolError('closed', 'the local import ended');
      return sink.write(piece) ? undefined : waitDrain(sink);
    };
    return this.reply(async () => {
      let bytes = 0;
      for (const info of ordered) {
        if (info.narSize === 0) throw new ProtocolError('mismatch', `the builder has no NAR size for ${info.path}`);
        await put(u64(1));
        const hash = createHash('sha256');
        await this.reader.pass(info.narSize, Infinity, (piece) => {
          hash.update(piece);
          return put(piece);
        });
        const got = `sha256:${nix32(hash.digest())}`;
        if (info.narHash !== '' && info.narHash !== got)
          throw new ProtocolError('mismatch', `the NAR of ${info.path} came with hash ${got}, not ${info.narHash}`);
        bytes += info.narSize;
        await put(exportTrailer(info));
      }
      await put(u64(0));
      return bytes;
    });
  }

  /** Ends the session: the server stops at the end of its input. */
  close(): void {
    try {
      this.process.channel.end();
    } catch {
      // Already gone.
    }
  }
}

/**
 * Sessions kept open between offloads on a pooled connection, so the next build on it (the
 * editor's warm path) starts without a login shell and a Nix start-up: at most one per
 * connection and store command, and out of here while an offload uses it (one at a time).
 * A session that ended while kept is dropped when taken; it goes with its connection.
 */
const kept = new WeakMap<object, Map<string, ServeSession>>();

/** The kept session of `connection` for `key` (the store command), now the caller's alone. */
export function takeKeptSession(connection: object, key: string): ServeSession | undefined {
  const sessions = kept.get(connection);
  const session = sessions?.get(key);
  sessions?.delete(key);
  return session === undefined || session.ended ? undefined : session;
}

/** Keeps `session` for the next offload on `connection`; closes it when one is kept already. */
export function keepSession(connection: object, key: string, session: ServeSession): void {
  session.onLog = undefined;
  const sessions = kept.get(connection) ?? new Map<string, ServeSession>();
  kept.set(connection, sessions);
  if (session.ended || sessions.has(key)) session.close();
  else sessions.set(key, session);
}

const waitDrain = (sink: Writable) =>
  new Promise<void>((resolve) => {
    const done = () => {
      sink.off('drain', done);
      sink.off('close', done);
      sink.off('error', done);
      resolve();
    };
    sink.on('drain', done);
    sink.on('close', done);
    sink.on('error', done);
  });
