// Just enough of Nix's two remote protocols to ask a builder what Nix itself would find:
// - `nix-store --serve` (ssh://): the greeting Nix 2.8 checks first (SERVE_MAGIC_1/2); noise
//   from the login shell makes it fail with "'nix-store --serve' protocol mismatch".
// - the worker protocol of `nix-daemon --stdio` (ssh-ng://, and the daemon behind
//   `nix-store --serve` for a user who cannot write the store): the greeting, the daemon's
//   version, and whether the daemon trusts the SSH user. Daemons from protocol 1.35 (Nix 2.15)
//   say so in the greeting; older ones (Nix 2.8 speaks 1.34) do not, but when an untrusted
//   client sets a restricted setting they answer "ignoring the client-specified setting …,
//   because it is a restricted setting and you are not a trusted user" (a warning on 2.8, a
//   debug message later: we ask for debug verbosity to hear both). The setting we send,
//   `show-trace = false`, is harmless: it is its default and the connection is then closed.
// Numbers are 64-bit little-endian; strings are a length, the bytes and zero padding to 8. The
// framing (u64, wireString, ChannelReader) is shared with dispatch/serveSession.ts.
import type { ClientChannel } from 'ssh2';

const WORKER_MAGIC_1 = 0x6e697863;
const WORKER_MAGIC_2 = 0x6478696f;
export const SERVE_MAGIC_1 = 0x390c9deb;
export const SERVE_MAGIC_2 = 0x5452eecb;
const SERVE_PROTOCOL_VERSION = (2 << 8) | 5;
const CLIENT_WORKER_MINOR = 35;

const STDERR_NEXT = 0x6f6c6d67;
const STDERR_READ = 0x64617461;
const STDERR_WRITE = 0x64617416;
const STDERR_LAST = 0x616c7473;
const STDERR_ERROR = 0x63787470;
const STDERR_START_ACTIVITY = 0x53545254;
const STDERR_STOP_ACTIVITY = 0x53544f50;
const STDERR_RESULT = 0x52534c54;
const wopSetOptions = 19;

/** A number as Nix writes it: 64-bit little-endian. */
export function u64(value: number): Buffer {
  const buffer = Buffer.alloc(8);
  buffer.writeBigUInt64LE(BigInt(value));
  return buffer;
}

/** A string as Nix writes it: its length, its bytes, zero padding to a multiple of 8. */
export function wireString(text: string): Buffer {
  return wireBytes(Buffer.from(text, 'utf8'));
}

/** Bytes as Nix writes a string (a file's contents in a NAR). */
export function wireBytes(bytes: Buffer): Buffer {
  return Buffer.concat([u64(bytes.length), bytes, Buffer.alloc((8 - (bytes.length % 8)) % 8)]);
}

/** A list of strings (Nix's `Strings`, `StorePathSet`): the count, then each string. */
export function wireStrings(texts: readonly string[]): Buffer {
  return Buffer.concat([u64(texts.length), ...texts.map(wireString)]);
}

export class ProtocolError extends Error {
  constructor(
    readonly reason: 'closed' | 'timeout' | 'mismatch' | 'remote-error',
    message: string,
  ) {
    super(message);
  }
}

/** Above this many unread bytes the channel is paused, so a big stream waits in the builder. */
const pauseAboveBytes = 8 * 1024 * 1024;

/**
 * Reads exact byte counts from a channel's stdout; gathers stderr for messages. The bytes are
 * kept as the chunks that came (a NAR of many MiB is not copied again per chunk), and the
 * channel is paused while too much is unread: SSH's window then holds the builder back.
 */
export class ChannelReader {
  private chunks: Buffer[] = [];
  private buffered = 0;
  private ended = false;
  private paused = false;
  private waiter: (() => void) | undefined;
  /** Everything read so far (for "got '…'" messages), bounded. */
  seen = Buffer.alloc(0);
  stderr = '';
  private skip: Buffer | undefined;

  constructor(
    private readonly channel: ClientChannel,
    skipPrefix: Buffer | undefined,
    options: { stderr?: boolean } = {},
  ) {
    this.skip = skipPrefix !== undefined && skipPrefix.length > 0 ? skipPrefix : undefined;
    channel.on('data', (chunk: Buffer) => {
      this.chunks.push(chunk);
      this.buffered += chunk.length;
      if (this.seen.length < 4096) this.seen = Buffer.concat([this.seen, chunk]).subarray(0, 4096);
      this.dropSkip();
      if (this.buffered > pauseAboveBytes && !this.paused) {
        this.paused = true;
        channel.pause();
      }
      this.waiter?.();
    });
    if (options.stderr !== false)
      channel.stderr.on('data', (chunk: Buffer) => {
        if (this.stderr.length < 8192) this.stderr += chunk.toString('utf8');
      });
    const end = () => {
      this.ended = true;
      this.waiter?.();
    };
    channel.on('close', end);
    channel.on('end', end);
  }

  /** Whether the channel has ended (nothing more will come). */
  get closed(): boolean {
    return this.ended;
  }

  /** Drops the login shell's known noise when the stream starts with exactly that. */
  private dropSkip(): void {
    const skip = this.skip;
    if (skip === undefined) return;
    const head = this.take(Math.min(skip.length, this.buffered), false);
    if (!head.equals(skip.subarray(0, head.length))) {
      this.skip = undefined;
      return;
    }
    if (head.length >= skip.length) {
      this.take(skip.length, true);
      this.skip = undefined;
    }
  }

  /** The first `count` buffered bytes (there must be that many), removed when `consume`. */
  private take(count: number, consume: boolean): Buffer {
    if (count === 0) return Buffer.alloc(0);
    const first = this.chunks[0]!;
    let out: Buffer;
    if (first.length >= count) out = first.subarray(0, count);
    else {
      const joined = Buffer.concat(this.chunks);
      this.chunks = [joined];
      out = joined.subarray(0, count);
    }
    if (consume) this.consume(count);
    return out;
  }

  private consume(count: number): void {
    let left = count;
    while (left > 0) {
      const first = this.chunks[0]!;
      if (first.length <= left) {
        this.chunks.shift();
        left -= first.length;
      } else {
        this.chunks[0] = first.subarray(left);
        left = 0;
      }
    }
    this.buffered -= count;
    if (this.paused && this.buffered <= pauseAboveBytes / 2) {
      this.paused = false;
      this.channel.resume();
    }
  }

  /** Waits for more bytes (or the end) until the deadline; Infinity waits as long as it takes. */
  private async more(deadline: number): Promise<void> {
    if (this.ended) throw new ProtocolError('closed', 'the remote program ended');
    const left = deadline - Date.now();
    if (left <= 0) throw new ProtocolError('timeout', 'no answer in time');
    await new Promise<void>((resolve) => {
      const timer = Number.isFinite(left) ? setTimeout(resolve, left) : undefined;
      this.waiter = () => {
        clearTimeout(timer);
        resolve();
      };
    });
    this.waiter = undefined;
    if (this.skip !== undefined && this.ended) this.skip = undefined;
  }

  async read(count: number, deadline: number): Promise<Buffer> {
    while (this.buffered < count || this.skip !== undefined) await this.more(deadline);
    return Buffer.from(this.take(count, true));
  }

  /**
   * Hands the next `count` bytes to `write` as they come, in the pieces they came in (a NAR
   * streamed on without holding it); `write` may return a promise to hold the reading back.
   */
  async pass(count: number, deadline: number, write: (piece: Buffer) => void | Promise<void>): Promise<void> {
    let left = count;
    while (left > 0) {
      while (this.buffered === 0 || this.skip !== undefined) await this.more(deadline);
      const first = this.chunks[0]!;
      const piece = first.length <= left ? first : first.subarray(0, left);
      this.consume(piece.length);
      left -= piece.length;
      await write(piece);
    }
  }

  /**
   * Drops everything before `marker` (the login shell's greeting before a protocol's first
   * word) and the marker itself; returns what was dropped. Gives up after `maxBytes`.
   */
  async skipTo(marker: Buffer, maxBytes: number, deadline: number): Promise<Buffer> {
    for (;;) {
      const head =
        this.buffered === 0 ? Buffer.alloc(0) : this.take(Math.min(this.buffered, maxBytes + marker.length), false);
      const at = head.indexOf(marker);
      if (at >= 0) {
        const dropped = Buffer.from(head.subarray(0, at));
        this.consume(at + marker.length);
        return dropped;
      }
      if (head.length >= maxBytes + marker.length) throw new ProtocolError('mismatch', 'not the expected greeting');
      await this.more(deadline);
    }
  }

  async readNumber(deadline: number): Promise<number> {
    const bytes = await this.read(8, deadline);
    const value = bytes.readBigUInt64LE(0);
    return value > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(value);
  }

  async readString(deadline: number, maxBytes = 1024 * 1024): Promise<string> {
    const length = await this.readNumber(deadline);
    if (length > maxBytes) throw new ProtocolError('mismatch', `a string of ${length} bytes`);
    const bytes = await this.read(length + ((8 - (length % 8)) % 8), deadline);
    return bytes.subarray(0, length).toString('utf8');
  }

  /** A list of strings (a StorePathSet, Strings). */
  async readStrings(deadline: number, maxCount = 1_000_000): Promise<string[]> {
    const count = await this.readNumber(deadline);
    if (count > maxCount) throw new ProtocolError('mismatch', `a list of ${count} strings`);
    const out: string[] = [];
    for (let i = 0; i < count; i++) out.push(await this.readString(deadline));
    return out;
  }

  /** Waits briefly for the channel to end (to collect stderr after a failure). */
  async drain(deadline: number): Promise<void> {
    while (!this.ended && Date.now() < deadline) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.max(0, deadline - Date.now()));
        this.waiter = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.waiter = undefined;
    }
  }
}

export type ProtocolFailure = {
  ok: false;
  /** closed: the program ended (stderr says why); mismatch: it spoke something else. */
  reason: 'closed' | 'timeout' | 'mismatch' | 'remote-error';
  /** What came back instead (printable, bounded). */
  got: string;
  stderr: string;
  message: string;
};

export type ServeGreeting = { ok: true; version: string } | ProtocolFailure;

export type WorkerGreeting =
  | {
      ok: true;
      /** The daemon's protocol version, e.g. `1.34`. */
      protocol: string;
      /** Its Nix version (protocol ≥ 1.33). */
      nixVersion: string | undefined;
      /** Whether it trusts the SSH user; undefined when it would not say. */
      trusted: boolean | undefined;
      /** How `trusted` was learnt. */
      trustSource: 'handshake' | 'restricted-setting' | undefined;
      /** Messages the daemon sent (warnings). */
      messages: string[];
    }
  | ProtocolFailure;

/** Bytes as text for a message: printable ASCII only, bounded. */
export const printable = (bytes: Buffer) =>
  bytes
    .toString('utf8')
    .replace(/[^\x20-\x7e\n\t]/g, '.')
    .trim()
    .slice(0, 300);

async function failure(reader: ChannelReader, error: unknown, deadline: number): Promise<ProtocolFailure> {
  await reader.drain(Math.min(deadline, Date.now() + 1000));
  const reason = error instanceof ProtocolError ? error.reason : 'closed';
  return {
    ok: false,
    reason,
    got: printable(reader.seen),
    stderr: reader.stderr.trim(),
    message: error instanceof Error ? error.message : String(error),
  };
}

/** Nix 2.8's `nix-store --serve` greeting, exactly as LegacySSHStore sends it. */
export async function serveGreeting(
  channel: ClientChannel,
  timeoutMs: number,
  skipPrefix?: Buffer,
): Promise<ServeGreeting> {
  const deadline = Date.now() + timeoutMs;
  const reader = new ChannelReader(channel, skipPrefix);
  channel.write(Buffer.concat([u64(SERVE_MAGIC_1), u64(SERVE_PROTOCOL_VERSION)]));
  try {
    const magic = await reader.readNumber(deadline);
    if (magic !== SERVE_MAGIC_2) throw new ProtocolError('mismatch', 'not the nix-store --serve greeting');
    const version = await reader.readNumber(deadline);
    channel.end();
    return { ok: true, version: `${version >> 8}.${version & 0xff}` };
  } catch (error) {
    channel.end();
    return failure(reader, error, deadline);
  }
}

async function readStderr(reader: ChannelReader, deadline: number, minor: number, messages: string[]): Promise<void> {
  for (;;) {
    const kind = await reader.readNumber(deadline);
    switch (kind) {
      case STDERR_LAST:
        return;
      case STDERR_NEXT:
        messages.push((await reader.readString(deadline)).trim());
        break;
      case STDERR_ERROR: {
        let message: string;
        if (minor >= 26) {
          await reader.readString(deadline); // "Error"
          await reader.readNumber(deadline); // level
          await reader.readString(deadline); // name
          message = await reader.readString(deadline);
          await reader.readNumber(deadline); // position (unused)
          const traces = await reader.readNumber(deadline);
          for (let i = 0; i < traces; i++) {
            await reader.readNumber(deadline);
            await reader.readString(deadline);
          }
        } else {
          message = await reader.readString(deadline);
          await reader.readNumber(deadline);
        }
        throw new ProtocolError('remote-error', message.trim());
      }
      case STDERR_START_ACTIVITY: {
        await reader.readNumber(deadline); // id
        await reader.readNumber(deadline); // level
        await reader.readNumber(deadline); // type
        await reader.readString(deadline); // text
        await readFields(reader, deadline);
        await reader.readNumber(deadline); // parent
        break;
      }
      case STDERR_STOP_ACTIVITY:
        await reader.readNumber(deadline);
        break;
      case STDERR_RESULT:
        await reader.readNumber(deadline);
        await reader.readNumber(deadline);
        await readFields(reader, deadline);
        break;
      case STDERR_READ:
      case STDERR_WRITE:
      default:
        throw new ProtocolError('mismatch', `unexpected message ${kind.toString(16)} from the daemon`);
    }
  }
}

async function readFields(reader: ChannelReader, deadline: number): Promise<void> {
  const count = await reader.readNumber(deadline);
  for (let i = 0; i < count; i++) {
    const type = await reader.readNumber(deadline);
    if (type === 0) await reader.readNumber(deadline);
    else if (type === 1) await reader.readString(deadline);
    else throw new ProtocolError('mismatch', 'a log field of unknown type');
  }
}

const untrustedMessage = /not a trusted user/;

/**
 * The worker protocol greeting with `nix-daemon --stdio`, then (for daemons that do not say it in
 * the greeting) the restricted-setting test for trust. Closes the channel's input at the end.
 */
export async function workerGreeting(
  channel: ClientChannel,
  timeoutMs: number,
  skipPrefix?: Buffer,
): Promise<WorkerGreeting> {
  const deadline = Date.now() + timeoutMs;
  const reader = new ChannelReader(channel, skipPrefix);
  const messages: string[] = [];
  channel.write(u64(WORKER_MAGIC_1));
  try {
    const magic = await reader.readNumber(deadline);
    if (magic !== WORKER_MAGIC_2) throw new ProtocolError('mismatch', 'not the nix-daemon greeting');
    const serverVersion = await reader.readNumber(deadline);
    const minor = serverVersion & 0xff;
    const clientVersion = (1 << 8) | Math.min(minor, CLIENT_WORKER_MINOR);
    const clientMinor = clientVersion & 0xff;
    const hello = [u64(clientVersion)];
    if (clientMinor >= 14) hello.push(u64(0)); // no CPU affinity
    if (clientMinor >= 11) hello.push(u64(0)); // reserveSpace (obsolete)
    channel.write(Buffer.concat(hello));
    let nixVersion: string | undefined;
    if (clientMinor >= 33) nixVersion = await reader.readString(deadline);
    let trusted: boolean | undefined;
    let trustSource: 'handshake' | 'restricted-setting' | undefined;
    if (clientMinor >= 35) {
      const flag = await reader.readNumber(deadline);
      if (flag === 1 || flag === 2) {
        trusted = flag === 1;
        trustSource = 'handshake';
      }
    }
    await readStderr(reader, deadline, clientMinor, messages);
    if (trusted === undefined) {
      const verbosityDebug = 6;
      const fields = [0, 0, 0, verbosityDebug, 1, 0, 1, 0, 0, 0, 0, 0];
      const request = [u64(wopSetOptions), ...fields.map(u64)];
      if (clientMinor >= 12) request.push(u64(1), wireString('show-trace'), wireString('false'));
      channel.write(Buffer.concat(request));
      const optionMessages: string[] = [];
      await readStderr(reader, deadline, clientMinor, optionMessages);
      messages.push(
        ...optionMessages.filter(
          (message) => !/^(performing daemon worker op|received daemon op|acquiring|\d+ operations)/.test(message),
        ),
      );
      trusted = !optionMessages.some((message) => untrustedMessage.test(message));
      trustSource = 'restricted-setting';
    }
    channel.end();
    return {
      ok: true,
      protocol: `${serverVersion >> 8}.${minor}`,
      nixVersion,
      trusted,
      trustSource,
      messages: messages.filter((message) => message !== '').slice(0, 20),
    };
  } catch (error) {
    channel.end();
    return failure(reader, error, deadline);
  }
}
