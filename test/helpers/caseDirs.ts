// A fresh directory per generated case (its included files, Nix's config and working directory),
// all under one temporary root that is removed when the test process exits.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

export function caseDirs(prefix: string): () => string {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), `${prefix}-`));
  process.on('exit', () => fs.rmSync(root, { recursive: true, force: true }));
  let caseNumber = 0;
  return () => {
    const dir = path.join(root, `case-${caseNumber++}`);
    fs.mkdirSync(dir);
    return dir;
  };
}
