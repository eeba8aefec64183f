// Reading a file a user named (an `@file`, an `include`, a file given to `check`, a key in
// column 3) without letting it freeze or exhaust the process. A workspace, even an untrusted
// one, can name `/dev/zero` (endless), a FIFO (open() blocks the event loop until a writer
// comes) or a device (opening some has side effects): so the path is stat'ed first and only a
// regular file is ever opened, and at most `limit` bytes are read. The open is non-blocking and
// re-checked with fstat, so a file swapped for a FIFO between the two calls is still refused.
import { closeSync, constants, fstatSync, openSync, readSync, statSync, type Stats } from 'node:fs';

/** What a path is when it is not a regular file or a directory, in the words of `ls -l`'s manual. */
export type SpecialFileType = 'FIFO (named pipe)' | 'character device' | 'block device' | 'socket';

/** Why a file was not read (or is not there). */
export type NotRegularFile =
  /** ENOENT or ENOTDIR: there is no such file. */
  | { kind: 'missing' }
  | { kind: 'directory' }
  /** Never opened. */
  | { kind: 'special'; type: SpecialFileType }
  /** Not read: larger than the limit (`size` is what stat or the read found, at least). */
  | { kind: 'too-large'; size: number; limit: number }
  /** stat, open or read failed: `code` is the errno name (EACCES, ELOOP, …). */
  | { kind: 'failed'; code: string; message: string };

export type RegularFileRead = { kind: 'text'; text: string } | NotRegularFile;
export type RegularFileBytes = { kind: 'bytes'; bytes: Buffer } | NotRegularFile;

function specialType(stats: Stats): SpecialFileType | undefined {
  if (stats.isFIFO()) return 'FIFO (named pipe)';
  if (stats.isCharacterDevice()) return 'character device';
  if (stats.isBlockDevice()) return 'block device';
  if (stats.isSocket()) return 'socket';
  return undefined;
}

function failed(error: unknown): NotRegularFile {
  const code = (error as NodeJS.ErrnoException).code ?? 'EIO';
  if (code === 'ENOENT' || code === 'ENOTDIR') return { kind: 'missing' };
  if (code === 'EISDIR') return { kind: 'directory' };
  return { kind: 'failed', code, message: error instanceof Error ? error.message : String(error) };
}

function classify(stats: Stats, limit: number): NotRegularFile | undefined {
  if (stats.isDirectory()) return { kind: 'directory' };
  const special = specialType(stats);
  if (special !== undefined) return { kind: 'special', type: special };
  if (stats.size > limit) return { kind: 'too-large', size: stats.size, limit };
  return undefined;
}

/** Reads `path` as UTF-8 when it is a regular file of at most `limit` bytes. Never throws, never blocks on a special file. */
export function readRegularFile(path: string, limit: number): RegularFileRead {
  const read = readRegularFileBytes(path, limit);
  return read.kind === 'bytes' ? { kind: 'text', text: read.bytes.toString('utf8') } : read;
}

/** `readRegularFile`, the bytes as they are (key files). */
export function readRegularFileBytes(path: string, limit: number): RegularFileBytes {
  let refused: NotRegularFile | undefined;
  try {
    refused = classify(statSync(path), limit);
  } catch (error) {
    return failed(error);
  }
  if (refused !== undefined) return refused;
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY);
  } catch (error) {
    return failed(error);
  }
  try {
    refused = classify(fstatSync(fd), limit);
    if (refused !== undefined) return refused;
    // The size stat gave can be stale (a growing file, /proc): read until EOF, one byte past the limit at most.
    const buffer = Buffer.allocUnsafe(Math.min(limit + 1, Math.max(fstatSync(fd).size + 1, 64 * 1024)));
    let chunks: Buffer[] = [];
    let total = 0;
    for (;;) {
      const read = readSync(fd, buffer, 0, buffer.length, null);
      if (read === 0) break;
      chunks.push(Buffer.from(buffer.subarray(0, read)));
      total += read;
      if (total > limit) {
        chunks = [];
        return { kind: 'too-large', size: total, limit };
      }
    }
    return { kind: 'bytes', bytes: Buffer.concat(chunks, total) };
  } catch (error) {
    return failed(error);
  } finally {
    closeSync(fd);
  }
}

/** `16 MiB`, `1.5 MiB`, `900 KiB`: sizes as people read them. */
export function sizeInWords(bytes: number): string {
  if (bytes >= 1024 * 1024) return `${Number((bytes / (1024 * 1024)).toFixed(1))} MiB`;
  if (bytes >= 1024) return `${Number((bytes / 1024).toFixed(1))} KiB`;
  return `${bytes} bytes`;
}
