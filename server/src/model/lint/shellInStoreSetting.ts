// Column 1: store settings whose value the builder's shell runs as code. Nix puts
// `remote-program` (and, from 2.20, `remote-store`) into the command line it sends over ssh
// without quoting it (see ../remoteShellSettings.ts), so `?remote-program=$(cmd)nix-store`
// runs cmd on the builder every time Nix connects. Nix accepts the text, so this is a warning;
// the build commands of this extension refuse such a machine (../usableMachine.ts).

import { storeReferenceError } from '../storeReference';
import { problem, type Problem } from '../problem';
import { storeUriAsNixReadsIt, type Machine } from '../machines';
import { versionRuleTable } from '../nixVersion';
import { shellCodeInStoreSettings } from '../remoteShellSettings';
import type { LintContext } from './index';
import { listInWords, majorMinor } from './place';

/** The store types whose settings reach a remote shell. */
const sshSchemes = ['ssh', 'ssh-ng', 'mounted-ssh-ng'];

/** Nix quotes remote-store itself before this version (`shellEscape`), for POSIX shells. */
const remoteStoreUnquotedSince = versionRuleTable.remoteStoreUnquoted.since;

/** A character as a reader sees it in a message: `'$'`, `"'"`, `a newline`, `a space`. */
function shown(c: string): string {
  if (c === '\n') return 'a newline';
  if (c === ' ') return 'a space';
  if (c === '\t') return 'a tab';
  if (c === "'") return `"'"`;
  const code = c.charCodeAt(0);
  return code < 0x20 || code === 0x7f ? `the control character \\x${code.toString(16).padStart(2, '0')}` : `'${c}'`;
}

export function lintShellInStoreSetting(machine: Machine, context: LintContext): Problem[] {
  const column = machine.columns.storeUri;
  const uri = storeUriAsNixReadsIt(column.text);
  const separator = uri.indexOf('://');
  if (separator < 0 || !sshSchemes.includes(uri.slice(0, separator))) return [];
  if (uri.startsWith('mounted-ssh-ng://') && !context.rules.mountedSshStore) return []; // no such store: never connects
  // From Nix 2.23 a URI that is not a URL fails the list when read (the parser's error): Nix never connects.
  if (storeReferenceError(uri, context.rules) !== undefined) return [];
  return shellCodeInStoreSettings(column.text).map((setting) => {
    const span = { start: column.span.start + setting.valueStart, end: column.span.start + setting.valueEnd };
    const quotedByThisNix = setting.name === 'remote-store' && !context.rules.remoteStoreUnquoted;
    const how = quotedByThisNix
      ? `Nix ${majorMinor(context.version)} single-quotes ${setting.name} for the builder's shell, but Nix ${majorMinor(remoteStoreUnquotedSince)} and later hand it over as it is, and a login shell that is not a POSIX shell (fish, csh) reads quotes differently: these characters can run as shell code there.`
      : `Nix hands this value to the builder's shell as part of the command it runs there, so these characters run as shell code on the builder each time Nix connects.`;
    return problem(
      'shell-in-store-setting',
      span,
      `${setting.name} is ${JSON.stringify(setting.value)}, which contains ${listInWords(setting.unsafe.map(shown))}: ${how} This extension refuses to use such a machine (probes, builds, distributed builds). Give ${setting.name} a plain path or name, e.g. ${
        setting.name === 'remote-program'
          ? uri.startsWith('ssh-ng')
            ? '/nix/var/nix/profiles/default/bin/nix-daemon'
            : '/nix/var/nix/profiles/default/bin/nix-store'
          : 'unix:///nix/var/nix/daemon-socket/socket'
      }; to run something before Nix on the builder, put it in a script there and name the script.`,
    );
  });
}
