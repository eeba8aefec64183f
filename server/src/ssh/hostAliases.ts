// The `Host` aliases of the user's ssh config, for completing a builder's host: each name a
// `Host` line gives that is not a pattern, the file that names it, and the HostName of its block.
// Read without ssh and with nothing evaluated; every Include is followed, inside any block, since
// an alias is worth offering whichever host is later asked about. The lines are read by the same
// rules as sshConfigFallback.ts, so an alias listed here is one that resolution finds.
import * as path from 'node:path';
import { configLines, includedFiles, readConfigFile, userConfigFile } from './sshConfigFallback';

export interface SshHostAlias {
  alias: string;
  /** The config file that names it. */
  file: string;
  /** Its `HostName`, when its block sets one (as written). */
  hostName?: string;
}

/** ssh's own limit on Include nesting. */
const maxDepth = 16;

/** The aliases of `configFile` (like `ssh -F`; default ~/.ssh/config) and its Includes, first naming kept. */
export function sshHostAliases(configFile: string | undefined, home: string): SshHostAlias[] {
  const aliases = new Map<string, SshHostAlias>();
  const userDir = path.join(home, '.ssh');
  // An included file starts in the block of its Include line and leaves that block as it was, as in ssh.
  const read = (file: string, depth: number, outerBlock: SshHostAlias[]): void => {
    const text = depth > maxDepth ? undefined : readConfigFile(file);
    if (text === undefined) return;
    let block = outerBlock;
    for (const { keyword, args } of configLines(text)) {
      if (keyword === 'host') {
        block = [];
        for (const name of args) {
          if (/[*?!]/.test(name) || aliases.has(name)) continue;
          const alias: SshHostAlias = { alias: name, file };
          aliases.set(name, alias);
          block.push(alias);
        }
      } else if (keyword === 'match') {
        block = [];
      } else if (keyword === 'include') {
        for (const arg of args)
          for (const included of includedFiles(arg, userDir, home)) read(included, depth + 1, block);
      } else if (keyword === 'hostname' && args[0] !== undefined) {
        for (const alias of block) alias.hostName ??= args[0];
      }
    }
  };
  const file = userConfigFile(configFile, home);
  if (file !== undefined) read(file, 0, []);
  return [...aliases.values()];
}
