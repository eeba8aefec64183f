// How the language server and the CLI read files a machines file or nix.conf points at
// (`@file`, `include`) and the files they are given: from disk, as Nix would, but never a FIFO
// or a device and never more than `maxIncludedFileSize` (see model/regularFile.ts). A missing
// file is `undefined` (Nix skips it or reports it, depending on where); a file we refuse throws
// `FileNotRead`; any other failure throws Nix's own error text, which the parser reports.
import { FileNotRead } from '../model/fileNotRead';
import { readRegularFile, type NotRegularFile, type RegularFileRead } from '../model/regularFile';

/**
 * Nix has no limit (it reads the whole file into memory). 16 MiB is over 100 000 machine lines
 * of typical length, the most the machines parser expands from includes anyway, and far more
 * than any real nix.conf; reading and checking that much still takes well under a second.
 */
export const maxIncludedFileSize = 16 * 1024 * 1024;

/** strerror() of the errno values Nix's `open` can report here, as Nix prints them. */
const nixErrnoText: Record<string, string> = {
  EACCES: 'Permission denied',
  EPERM: 'Operation not permitted',
  ELOOP: 'Too many levels of symbolic links',
  ENAMETOOLONG: 'File name too long',
  ENXIO: 'No such device or address',
  EIO: 'Input/output error',
};

export function readUserFile(path: string): RegularFileRead {
  return readRegularFile(path, maxIncludedFileSize);
}

export function readFileAsNixDoes(path: string): string | undefined {
  const read = readUserFile(path);
  switch (read.kind) {
    case 'text':
      return read.text;
    case 'missing':
      return undefined;
    case 'directory':
      // Nix opens a directory fine; its read() fails.
      throw new Error('reading from file: Is a directory');
    case 'special':
      // Opening a socket fails with ENXIO, as Nix reports; the others we never open.
      if (read.type === 'socket') throw new Error(`opening file '${path}': ${nixErrnoText.ENXIO}`);
      throw new FileNotRead(path, { kind: 'not-a-file', type: read.type });
    case 'too-large':
      throw new FileNotRead(path, { kind: 'too-large', size: read.size, limit: read.limit });
    case 'failed':
      throw new Error(`opening file '${path}': ${nixErrnoText[read.code] ?? read.message}`);
  }
}

/** The text of a file to place spans in (an included file, a document on disk), or undefined. */
export function readTextOrUndefined(path: string): string | undefined {
  const read = readUserFile(path);
  return read.kind === 'text' ? read.text : undefined;
}

/** Why `check` could not read a file it was given: the errno name, or what the file is. */
export function whyNotRead(read: NotRegularFile): string {
  switch (read.kind) {
    case 'missing':
      return 'ENOENT';
    case 'directory':
      return 'EISDIR';
    case 'special':
      return `a ${read.type}, not a regular file: not opened`;
    case 'too-large':
      return `over ${maxIncludedFileSize / (1024 * 1024)} MiB: not read`;
    case 'failed':
      return read.code;
  }
}
