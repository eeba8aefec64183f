// Small stream pieces the offload and the distributed build share: splitting a byte stream into
// log lines (a line may arrive in several chunks), keeping the last lines for an error's tail,
// counting the bytes that pass through a pipe (without holding them). A login shell's greeting
// before a binary stream is skipped where the stream is read (health/nixProtocol.ts).
import { Transform, type TransformCallback } from 'node:stream';

/** Calls `onLine` for each complete line; `flush()` delivers a last line without a newline. */
export class LineSplitter {
  private partial = '';
  private readonly decoder = new TextDecoder('utf-8');

  constructor(private readonly onLine: (line: string) => void) {}

  push(chunk: Buffer | string): void {
    const text = this.partial + (typeof chunk === 'string' ? chunk : this.decoder.decode(chunk, { stream: true }));
    const lines = text.split('\n');
    this.partial = lines.pop() ?? '';
    for (const line of lines) this.onLine(line.endsWith('\r') ? line.slice(0, -1) : line);
  }

  flush(): void {
    const rest = this.partial + this.decoder.decode();
    this.partial = '';
    if (rest !== '') this.onLine(rest);
  }
}

/** The last `size` lines seen. */
export class Tail {
  private readonly lines: string[] = [];

  constructor(private readonly size = 25) {}

  push(line: string): void {
    this.lines.push(line);
    if (this.lines.length > this.size) this.lines.shift();
  }

  get(): string[] {
    return [...this.lines];
  }
}

/**
 * Passes bytes through unchanged and counts them; with `batchBytes`, hands them on in pieces of
 * at least that many bytes (the last one smaller). An SSH channel costs ssh2 CPU per write, not
 * per byte: measured on the lab (offload.bench.ts), 50 MiB in 64 KiB writes (what a pipe from
 * nix-store gives) took 531 ms and 152 ms of CPU, in 1 MiB writes 396 ms and 104 ms, where
 * OpenSSH's `ssh host cat` took 376 ms and 50 ms. For bulk streams only (a NAR): a batch waits
 * for its bytes, and the rest goes at the end.
 */
export class ByteCounter extends Transform {
  bytes = 0;
  private held: Buffer[] = [];
  private heldBytes = 0;

  constructor(private readonly batchBytes = 0) {
    super();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.bytes += chunk.length;
    if (this.batchBytes === 0) return callback(null, chunk);
    this.held.push(chunk);
    this.heldBytes += chunk.length;
    if (this.heldBytes < this.batchBytes) return callback();
    callback(null, this.release());
  }

  override _flush(callback: TransformCallback): void {
    callback(null, this.heldBytes > 0 ? this.release() : undefined);
  }

  private release(): Buffer {
    const batch = this.held.length === 1 ? this.held[0]! : Buffer.concat(this.held, this.heldBytes);
    this.held = [];
    this.heldBytes = 0;
    return batch;
  }
}

/** `1.2 MiB`, `340 KiB`, `12 B`. */
export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${value} B` : `${value < 10 ? value.toFixed(1) : Math.round(value)} ${units[unit]}`;
}
