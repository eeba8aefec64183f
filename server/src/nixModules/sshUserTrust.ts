// `sshUser` against the builder's own `trusted-users`, when the builder's NixOS configuration is
// in the workspace too (builderConfigurations.ts). A user the builder's Nix does not trust logs
// in and starts Nix there, and then the build fails: Nix refuses what the client sends ("error:
// you are not privileged to build input-addressed derivations", what the lab's `untrusted`
// builder prints). The daemon trusts a user listed by name, `*`, or a listed `@group` the user is
// in (matchUser, src/nix/unix/daemon.cc at 2.26.3); root needs no entry, since root's Nix opens
// the store itself instead of asking the daemon (runDaemon: only a RemoteStore is forwarded).
import { pathToFileURL } from 'node:url';
import type { Span } from '../model/problem';
import type { BuilderConfiguration, TrustedUsersSetting } from './builderConfigurations';
import { shownPath } from './builderConfigurations';
import type { DeclaredEntry } from './declarations';
import { moduleProblem, nixStringLiteral, type NixModuleFix, type NixModuleProblem } from './moduleProblem';

/** The configurations of `entry`'s builder: those reached by its host name (or its first label). */
export function configurationsOf(
  hostName: string,
  configurations: readonly BuilderConfiguration[],
): BuilderConfiguration[] {
  const host = hostName.toLowerCase();
  const short = host.split('.')[0]!;
  const exact = configurations.filter((c) => c.names.some((n) => n.toLowerCase() === host));
  if (exact.length > 0) return exact;
  // `builder.example.org` and a configuration whose host name is `builder` and sets no domain.
  return configurations.filter((c) => c.names.some((n) => !n.includes('.') && n.toLowerCase() === short));
}

export function sshUserTrustProblems(
  entries: readonly DeclaredEntry[],
  configurations: readonly BuilderConfiguration[],
  file: string,
): NixModuleProblem[] {
  const found: NixModuleProblem[] = [];
  for (const entry of entries) {
    const user = entry.attributes.get('sshUser');
    const host = entry.attributes.get('hostName');
    if (user?.value.kind !== 'string' || host?.value.kind !== 'string') continue;
    if (user.value.value === 'root') continue;
    for (const configuration of configurationsOf(host.value.value, configurations)) {
      const problem = trustProblem(user.value.value, user.valueSpan, host.value.value, configuration, file);
      if (problem) found.push(problem);
    }
  }
  return found;
}

function trustProblem(
  user: string,
  span: Span,
  host: string,
  configuration: BuilderConfiguration,
  file: string,
): NixModuleProblem | undefined {
  // Only literal lists can be read; one that is not stays unknown, and so does the user's trust.
  const lists = configuration.trustedUsers.filter((t) => t.setting.value.kind === 'list');
  if (lists.length === 0 || lists.length !== configuration.trustedUsers.length) return undefined;
  const listed = lists.flatMap((t) =>
    t.setting.value.kind === 'list'
      ? t.setting.value.items.flatMap((i) => (i.value.kind === 'string' ? [i.value.value] : []))
      : [],
  );
  if (listed.includes(user) || listed.includes('*')) return undefined;
  const groups = listed.filter((name) => name.startsWith('@')).map((name) => name.slice(1));
  const userGroups = configuration.groups.get(user) ?? [];
  if (groups.some((g) => userGroups.includes(g))) return undefined;
  const first = lists[0]!;
  const where = `${shownPath(first.file, file)} line ${lineOf(first.text, first.setting.nameSpan.start)}`;
  const written = listed.map((name) => `"${name}"`).join(' ');
  const builder = `builder ${host}'s own configuration (${where}: \`trusted-users = [ ${written} ]\`)`;
  const failure =
    'Nix logs in, then refuses what this machine sends it ("error: you are not privileged to build input-addressed derivations")';
  const fix = addUserFix(user, first);
  const elsewhere =
    'unless another module of that configuration adds it (modules outside the workspace, or values only known once built, are not read here)';
  if (groups.length > 0) {
    const named = groups.map((g) => `\`${g}\``).join(', ');
    return moduleProblem(
      'nixos-ssh-user-trust-unknown',
      span,
      `\`${user}\` is not in the trusted-users of ${builder}, and whether it is in group ${named} there is not known here: that configuration does not put it there (\`users.users.${user}.extraGroups\`). If it is not, ${failure}. Add \`${user}\` to that list${fix ? ' (the quick fix does)' : ''}, or put it in the group.`,
      fix,
    );
  }
  return moduleProblem(
    'nixos-ssh-user-untrusted',
    span,
    `\`${user}\` is not in the trusted-users of ${builder}, ${elsewhere}: ${failure}. Add \`${user}\` to that list${fix ? ' (the quick fix does)' : ''}, or log in as a user it lists.`,
    fix,
  );
}

function lineOf(text: string, offset: number): number {
  let line = 1;
  for (let i = text.indexOf('\n'); i >= 0 && i < offset; i = text.indexOf('\n', i + 1)) line++;
  return line;
}

/** `"user"` added at the end of the list literal, in its layout; none when the value is no plain list. */
function addUserFix(user: string, trusted: TrustedUsersSetting): NixModuleFix | undefined {
  const { text, setting } = trusted;
  if (setting.value.kind !== 'list') return undefined;
  const close = text.lastIndexOf(']', setting.valueSpan.end);
  if (close < setting.valueSpan.start) return undefined;
  const literal = nixStringLiteral(user);
  const last = setting.value.items.at(-1);
  const lineStart = (at: number) => text.lastIndexOf('\n', at - 1) + 1;
  let span: Span = { start: close, end: close };
  let newText = /\s/.test(text[close - 1] ?? '') ? `${literal} ` : ` ${literal}`;
  if (last && lineStart(last.span.start) !== lineStart(close)) {
    // One item a line: the new one on a line of its own, indented as the last.
    const indent = /^[ \t]*/.exec(text.slice(lineStart(last.span.start)))![0];
    span = { start: last.span.end, end: last.span.end };
    newText = `\n${indent}${literal}`;
  }
  return {
    title: `Add ${user} to the trusted-users of ${shownPath(trusted.file, trusted.file)}`,
    span,
    newText,
    in: { uri: pathToFileURL(trusted.file).toString(), text },
  };
}
