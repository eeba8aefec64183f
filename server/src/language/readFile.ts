// How the language server reads files a machines file or nix.conf points at (`@file`,
// `include`): from disk, as Nix would. A missing file is `undefined` (Nix skips it or reports it,
// depending on where); any other failure throws, and the parser turns it into Nix's error.
import { readFileSync } from 'node:fs';

export function readFileAsNixDoes(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
    if (code === 'EISDIR') throw new Error(`reading from file: Is a directory`);
    if (code === 'EACCES') throw new Error(`opening file '${path}': Permission denied`);
    throw error;
  }
}
