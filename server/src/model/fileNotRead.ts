// An included file we do not read, though Nix would try: a FIFO or a device (never opened: it
// would block the server, or never end), or a file over the size cap. A parser's `readFile`
// throws this; the parsers turn it into an `include-not-a-file` or `include-too-large` warning
// (Nix itself does not reject these files: it hangs, runs out of memory, or reads them).
import { sizeInWords, type SpecialFileType } from './regularFile';

export type NotReadReason =
  { kind: 'not-a-file'; type: SpecialFileType } | { kind: 'too-large'; size: number; limit: number };

export class FileNotRead extends Error {
  constructor(
    readonly path: string,
    readonly reason: NotReadReason,
  ) {
    super(notReadMessage(path, reason));
  }
}

/** What happens when Nix reads such a file: the user's reason to point at another one. */
function whatNixDoes(type: SpecialFileType): string {
  switch (type) {
    case 'FIFO (named pipe)':
      return 'Nix opens it and hangs until something writes to it';
    case 'character device':
      return 'Nix reads it to its end, and a device like /dev/zero has none: Nix runs out of memory (/dev/null gives nothing)';
    case 'block device':
      return 'Nix reads the whole device into memory';
    case 'socket':
      return 'Nix cannot open it';
  }
}

/** The diagnostic's text, without the line's own advice (the parser adds what to write instead). */
export function notReadMessage(path: string, reason: NotReadReason): string {
  if (reason.kind === 'not-a-file') {
    return `'${path}' is a ${reason.type}, not a regular file: not read here (it could block or never end). ${whatNixDoes(reason.type)}.`;
  }
  return `'${path}' is ${sizeInWords(reason.size)} (${reason.size.toLocaleString('en-US')} bytes), over the ${sizeInWords(reason.limit)} read here: its contents are not checked. Nix reads it whole; a machines file or nix.conf is normally a few KiB, so check that this is the right file.`;
}
