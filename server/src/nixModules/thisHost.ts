// Which host a .nix file's builders are declared for. A workspace often holds several NixOS
// configurations (a flake's `nixosConfigurations.<name>`, or one file per host setting
// `networking.hostName`): only the one built on this machine writes its /etc/nix/machines, so
// only that one is compared with it ("rebuild to apply"). The others apply where they are built;
// comparing them here would name every builder of every other host as "new".
//
// Decided: a file no named configuration reaches (no hostName anywhere up its imports, no flake
// name) is compared as before: nothing says it is for another host. A file in several
// configurations is compared when any of them is this machine's.
import { hostname } from 'node:os';
import { markdownText, plainText } from '../health/findingText';
import type { HealthFinding } from '../protocol';
import type { BuilderConfiguration } from './builderConfigurations';

/** For whom a file declares its builders. */
export type DeclaredFor = { host: 'this' } | { host: 'unnamed' } | { host: 'other'; name: string };

/** This machine's names as a configuration names it: the host name as the system gives it, and its first label. */
export function thisHostNames(name = hostname()): string[] {
  const lower = name.toLowerCase();
  return [...new Set([lower, lower.split('.')[0]!])].filter((n) => n !== '');
}

/** Whose configuration `file` is part of, among `configurations`; `here` are this machine's names. */
export function declaredFor(
  file: string,
  configurations: readonly BuilderConfiguration[],
  here: readonly string[] = thisHostNames(),
): DeclaredFor {
  const containing = configurations.filter((c) => c.files.includes(file));
  if (containing.length === 0) return { host: 'unnamed' };
  const isHere = (c: BuilderConfiguration) => c.names.some((n) => here.includes(n.toLowerCase()));
  if (containing.some(isHere)) return { host: 'this' };
  return { host: 'other', name: containing[0]!.names[0]! };
}

/** The view's finding on a file declared for another host: nothing of it is compared here. */
export function otherHostFinding(name: string, here: readonly string[] = thisHostNames()): HealthFinding {
  const message = `This machine is ${here[0]}, and its machines file comes from its own configuration; the builders declared for ${name} apply where that configuration is built.`;
  return {
    code: 'declared-for-other-host',
    severity: 'info',
    title: `Declared for ${name}: not compared with this machine`,
    message: plainText(message),
    markdown: markdownText(message),
  };
}
