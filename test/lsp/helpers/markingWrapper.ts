// A real program behind a wrapper that leaves a mark: the lsp tests count what the server ran
// (nix-instantiate, ssh) by putting the wrapper first on the server's PATH.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** A wrapper of `program` in `bin`: it appends `program args…` to `marks`, then runs the real one. */
export function markingWrapper(bin: string, program: string, marks: string): void {
  const real = execFileSync('sh', ['-c', `command -v ${program}`], { encoding: 'utf8' }).trim();
  writeFileSync(join(bin, program), `#!/bin/sh\necho "${program} $*" >> '${marks}'\nexec '${real}' "$@"\n`, {
    mode: 0o755,
  });
}

/** What the wrappers marked so far, one line per run. */
export function marked(marks: string): string {
  return existsSync(marks) ? readFileSync(marks, 'utf8') : '';
}
