// Column 1, the store URI: the kinds of store Nix cannot build on, host names Nix or ssh refuse,
// a port before Nix 2.31, and the same builder listed twice. Nix parses none of this when it
// reads the machines; it finds out when it connects, and then skips the machine.

import { problem, type Problem, type ProblemData } from '../problem';
import { storeUriAsNixReadsIt, type Column, type Machine } from '../machines';
import { versionRuleTable, type VersionRules } from '../nixVersion';
import { subPiece, type Piece } from '../nixStrings';
import { nearest } from '../nearest';
import { parseStoreUri } from '../storeUri';
import { storeReferenceError } from '../storeReference';
import type { LintContext } from './index';
import { placeInOrigin } from '../machines';
import { majorMinor } from './place';
import { movedSpan } from '../lineMemo';
import { storeUriHash } from '../plainLine';

/** Schemes of stores a build hook can build on. */
const buildableSchemes = ['ssh', 'ssh-ng', 'mounted-ssh-ng'];
/** Stores that hold built paths but cannot build. */
const binaryCacheSchemes = ['http', 'https', 'file', 's3', 'gs'];
/** Stores on this machine. */
const localSchemes = ['unix', 'local'];

/** What column 1 is, with the pieces of an ssh URI located in the column (document offsets). */
type ColumnUri =
  | {
      kind: 'ssh';
      scheme: string;
      authority: Piece;
      user: Piece | undefined;
      host: Piece;
      hostName: Piece;
      port: Piece | undefined;
    }
  | { kind: 'binary-cache' | 'unknown-scheme'; scheme: string }
  /** A store on this machine: `auto`, `daemon`, `local`, `unix://…`, a path. */
  | { kind: 'local'; scheme: string };

/** Splits column 1 the way Nix and then ssh read it. */
function readColumnUri(column: Column, rules: VersionRules): ColumnUri {
  const text = column.text;
  const implicitSsh = storeUriAsNixReadsIt(text) !== text;
  const separator = text.indexOf('://');
  if (!implicitSsh && separator < 0) return { kind: 'local', scheme: '' };
  const scheme = implicitSsh ? 'ssh' : text.slice(0, separator);
  if (!buildableSchemes.includes(scheme) || (scheme === 'mounted-ssh-ng' && !rules.mountedSshStore)) {
    if (binaryCacheSchemes.includes(scheme)) return { kind: 'binary-cache', scheme };
    if (localSchemes.includes(scheme)) return { kind: 'local', scheme };
    return { kind: 'unknown-scheme', scheme };
  }
  // Nix cuts the store parameters off at `?`; the rest is what it hands ssh as `[user@]host`.
  const uri = parseStoreUri(text);
  const authority = subPiece(column, uri.authorityStart, uri.authorityEnd);
  const user =
    uri.user === undefined ? undefined : subPiece(column, uri.authorityStart, uri.authorityStart + uri.user.length);
  const host = subPiece(column, uri.hostStart, uri.authorityEnd); // with its `:port`
  const hostName = subPiece(column, uri.hostStart, uri.hostEnd);
  const port = uri.portStart === undefined ? undefined : subPiece(column, uri.portStart, uri.authorityEnd);
  return { kind: 'ssh', scheme, authority, user, host, hostName, port };
}

const needSsh = 'Use ssh://user@host or ssh-ng://user@host for a remote builder.';

/** Problems of one machine's column 1 (spans in the machine's own text). */
export function lintStoreUri(machine: Machine, context: LintContext): Problem[] {
  const column = machine.columns.storeUri;
  const uri = machine.storeUri;
  if (column.text.startsWith('@') && !context.rules.splitLinesFirst) {
    // `a ; @file`: before 2.29 Nix does not trim entries, so the `@` after the space is not an
    // include but a machine whose URI is a path. A classic when joining lines with `;`.
    return [
      problem(
        'include-after-space',
        column.span,
        `Nix ${majorMinor(context.version)} reads '${column.text}' as a machine, not as an include: '@' includes a file only as the very first character of an entry, and here a space comes before it. Remove the spaces between ';' (or the line start) and '@'. Nix 2.29 and later trim entries.`,
      ),
    ];
  }
  // From Nix 2.23 a store URI that is not a URL fails the whole list when it is read: the
  // parser's error (store-uri-not-a-url) says so, and nothing here may claim Nix takes it.
  if (storeReferenceError(uri, context.rules) !== undefined) return [];
  const parts = readColumnUri(column, context.rules);

  switch (parts.kind) {
    case 'binary-cache':
      return [
        problem(
          'store-uri-unusable',
          column.span,
          `'${uri}' is a binary cache: Nix can copy store paths to it but cannot build there, so every build sent to this machine fails. ${needSsh}`,
        ),
      ];
    case 'unknown-scheme': {
      const nixMessage = context.rules.storeSchemeErrorWording
        ? `don't know how to open Nix store with scheme '${parts.scheme}'`
        : `don't know how to open Nix store '${uri}'`;
      const scheme = nearest(parts.scheme, buildableSchemes.slice(0, 2));
      const suggestion = scheme === undefined ? undefined : `${scheme}${column.text.slice(parts.scheme.length)}`;
      return [
        problem(
          'store-uri-unusable',
          column.span,
          `Nix${parts.scheme === 'mounted-ssh-ng' ? ` ${majorMinor(context.version)} (before ${majorMinor(versionRuleTable.mountedSshStore.since)})` : ''} has no store type '${parts.scheme}://' and skips this machine when it tries it ("${nixMessage}"). ${
            scheme === undefined ? needSsh : `Did you mean ${scheme}://?`
          }`,
          nixMessage,
          suggestion === undefined ? undefined : { suggestion },
        ),
      ];
    }
    case 'local': {
      // Without `://`, Nix keeps the text as it is when it contains `/` (or is auto, daemon,
      // local, ?…), and opens the part before `?` as a store: a path is a store in that directory.
      const bare = column.text.split('?')[0]!;
      if (parts.scheme === '' && !['', 'auto', 'daemon', 'local'].includes(bare) && !bare.includes('/')) {
        // `nix@host?ssh-key=/k`: the `/` is in a parameter; Nix cannot open `nix@host`.
        const nixMessage = `don't know how to open Nix store '${uri}'`;
        return [
          problem(
            'store-uri-unusable',
            column.span,
            `Because it contains '/', Nix does not put ssh:// in front of '${column.text}', and then cannot open it ("${nixMessage}"), so it skips this machine. Write ssh://${column.text}.`,
            nixMessage,
            { suggestion: `ssh://${column.text}` },
          ),
        ];
      }
      const hangs = bare === 'local' || bare === 'auto';
      const why =
        parts.scheme === '' && bare.includes('/') && !bare.startsWith('/')
          ? `Nix reads '${column.text}' as a directory on this machine (it contains '/'), not as a host: builds sent there run here, in a store in that directory.`
          : `'${column.text}' is a Nix store on this machine, not a remote builder: builds sent there run here${
              hangs ? ', and Nix 2.8 even waits forever for a lock it holds itself' : ''
            }.`;
      return [problem('store-uri-unusable', column.span, `${why} ${needSsh}`)];
    }
    case 'ssh':
      return [...hostProblems(machine, parts, context), ...portProblems(parts, context)];
  }
}

function hostProblems(machine: Machine, parts: Extract<ColumnUri, { kind: 'ssh' }>, context: LintContext): Problem[] {
  const uri = machine.storeUri;
  const column = machine.columns.storeUri;
  const rules = context.rules;
  const checked = rules.sshAuthorityChecked;
  const from = (rule: 'sshAuthorityChecked' | 'sshStoreNeedsHostWording') =>
    `from Nix ${majorMinor(versionRuleTable[rule].since)}`;
  // Nix 2.31+ checks the authority itself (ssh.cc `checkValidAuthority`), with the `user@host` it parsed.
  const invalidAuthority = (reason: string) => `invalid SSH authority: '${parts.authority.text}': ${reason}`;
  if (parts.host.text === '') {
    const nixMessage = checked
      ? invalidAuthority('host name must not be empty')
      : parts.user !== undefined
        ? undefined
        : rules.sshStoreNeedsHostWording
          ? `\`${parts.scheme}\` store requires a valid SSH host as the authority part in Store URI`
          : `invalid SSH host name ''`;
    const words = checked
      ? ` (${from('sshAuthorityChecked')})`
      : rules.sshStoreNeedsHostWording && nixMessage !== undefined
        ? ` (${from('sshStoreNeedsHostWording')})`
        : '';
    return [
      problem(
        'store-uri-unusable',
        machine.columns.storeUri.span,
        `'${machine.columns.storeUri.text}' has no host name, so Nix skips this machine when it tries it${
          nixMessage === undefined ? ' (ssh: "Could not resolve hostname")' : ` ("${nixMessage}"${words})`
        }. ${needSsh}`,
        nixMessage,
      ),
    ];
  }
  if (parts.user !== undefined && parts.user.text === '') {
    // `ssh://@host`: ssh gets `@host` and prints its usage; from 2.31 Nix refuses it itself.
    const nixMessage = checked ? invalidAuthority('user name must not be empty') : undefined;
    return [
      problem(
        'store-uri-unusable',
        column.span,
        `The user name before '@' is empty, so Nix skips this machine when it tries it (${
          nixMessage === undefined ? 'ssh prints its usage' : `"${nixMessage}", ${from('sshAuthorityChecked')}`
        }). Write user@${parts.host.text}, or leave out the '@'.`,
        nixMessage,
        {
          suggestion: `${column.text.slice(0, parts.authority.span.start - column.span.start)}${column.text.slice(parts.authority.span.start - column.span.start + 1)}`,
        },
      ),
    ];
  }
  if (checked && (parts.user?.text.startsWith('-') || parts.hostName.text.startsWith('-'))) {
    const userFirst = parts.user?.text.startsWith('-') === true;
    const nixMessage = userFirst
      ? invalidAuthority(`user name '${parts.user!.text}' must not start with '-'`)
      : invalidAuthority(`host name '${parts.hostName.text}' must not start with '-'`);
    return [
      problem(
        'host-starts-with-dash',
        userFirst ? parts.user!.span : parts.hostName.span,
        `'${userFirst ? parts.user!.text : parts.hostName.text}' starts with '-', which ssh would read as an option: ${from('sshAuthorityChecked')} Nix refuses to connect and skips this machine ("cannot build on '${uri}': ${nixMessage}"). Fix the ${userFirst ? 'user' : 'host'} name.`,
        nixMessage,
      ),
    ];
  }
  if (parts.authority.text.startsWith('-')) {
    // Nix's own check (SSHMaster): the whole `user@host` it would hand ssh.
    const nixMessage = `invalid SSH host name '${parts.authority.text}'`;
    return [
      problem(
        'host-starts-with-dash',
        parts.user === undefined ? parts.host.span : parts.user.span,
        `'${parts.authority.text}' starts with '-', which ssh would read as an option: Nix refuses to connect and skips this machine ("cannot build on '${uri}': ${nixMessage}"). Fix the ${
          parts.user === undefined ? 'host' : 'user'
        } name.`,
        nixMessage,
      ),
    ];
  }
  if (parts.host.text.startsWith('-')) {
    // Nix passes `user@-host` on; ssh refuses it.
    const started = rules.sshStartErrorWording ? 'failed to start SSH connection to' : 'cannot connect to';
    const nixMessage = `${started} '${parts.authority.text}': hostname contains invalid characters`;
    return [
      problem(
        'host-starts-with-dash',
        parts.host.span,
        `A host name cannot start with '-': ssh refuses it and Nix skips this machine ("cannot build on '${uri}': ${nixMessage}"). Fix the host name.`,
        nixMessage,
      ),
    ];
  }
  return [];
}

function portProblems(parts: Extract<ColumnUri, { kind: 'ssh' }>, context: LintContext): Problem[] {
  if (parts.port === undefined || context.rules.portInUri) return [];
  const since = majorMinor(versionRuleTable.portInUri.since);
  const config = context.daemon
    ? "root's ~/.ssh/config or /etc/ssh/ssh_config (the nix-daemon runs ssh as root)"
    : '~/.ssh/config';
  const hostName = parts.hostName.text.replace(/^\[(.*)\]$/, '$1');
  const portSpan = { start: parts.port.span.start - 1, end: parts.port.span.end }; // with the `:`
  const user = parts.user === undefined ? '' : `${parts.user.text}@`;
  return [
    problem(
      'port-in-uri',
      portSpan,
      `Before Nix ${since}, a port in the URI does not reach ssh as a port: ssh gets '${parts.host.text}' as the host name and fails ("Could not resolve hostname ${parts.host.text}"), so Nix skips this machine. Remove ':${parts.port.text}' and give the port in ${config}: "Host ${hostName}" with "Port ${parts.port.text}" (then ${parts.scheme}://${user}${hostName}).`,
    ),
  ];
}

/**
 * The machines Nix keeps (valid), in text order, as the duplicates check goes through them: each
 * one's store URI hash first, its store URI for a hash seen before, and the machine itself only
 * for a duplicate and its first entry (a plain line's machine is then read: plainLine.ts).
 */
export interface MachinesInText {
  length: number;
  /** `storeUriHash` of machine i's store URI. */
  hash(i: number): number;
  storeUri(i: number): string;
  machine(i: number): Machine;
  /** Where machine i's spans count from: its line's start when they count from there (lineMemo.ts), else 0. */
  offset(i: number): number;
}

/** The second and later entries with a store URI already used (all spans placed). */
export function lintDuplicates(machines: readonly Machine[] | MachinesInText): Problem[] {
  let all: MachinesInText;
  if ('hash' in machines) all = machines;
  else {
    const valid = machines.filter((machine) => machine.valid);
    all = {
      length: valid.length,
      hash: (i) => storeUriHash(valid[i]!.storeUri),
      storeUri: (i) => valid[i]!.storeUri,
      machine: (i) => valid[i]!,
      offset: () => 0,
    };
  }
  const problems: Problem[] = [];
  const storeUriSpan = (i: number) => movedSpan(all.machine(i).columns.storeUri.span, all.offset(i));
  // Each URI's first machine, by hash, open addressing (no string per machine: a Map of them was
  // a sixth of opening a 10 000-machine file). Strings are compared only for equal hashes.
  let size = 16;
  while (size < 2 * all.length) size *= 2;
  const firsts = new Int32Array(size).fill(-1);
  const hashes = new Int32Array(all.length);
  for (let i = 0; i < all.length; i++) {
    const hash = all.hash(i);
    hashes[i] = hash;
    let slot = hash & (size - 1);
    let earlierAt = -1;
    for (; firsts[slot] !== -1; slot = (slot + 1) & (size - 1)) {
      const k = firsts[slot]!;
      if (hashes[k] === hash && all.storeUri(k) === all.storeUri(i)) {
        earlierAt = k;
        break;
      }
    }
    if (earlierAt < 0) {
      firsts[slot] = i;
      continue;
    }
    const machine = all.machine(i);
    const earlier = all.machine(earlierAt);
    const where = earlier.file === undefined ? 'earlier' : `earlier, in ${earlier.file}`;
    const slots = Math.max(earlier.maxJobs, machine.maxJobs);
    const related: NonNullable<ProblemData['related']> = {
      span: storeUriSpan(earlierAt),
      message: `The first entry for ${machine.storeUri}`,
    };
    if (earlier.file !== undefined) related.file = earlier.file;
    problems.push(
      placeInOrigin(
        problem(
          'duplicate-machine',
          storeUriSpan(i),
          `${machine.storeUri} is already a builder ${where} ('${shortRow(earlier.row)}'). Nix keeps both as separate machines, each with its own systems, features and speedFactor, but they share job slots (Nix locks slots by store URI: together at most ${slots} ${slots === 1 ? 'build' : 'builds'} at once), and when the host is down Nix tries it again for each entry. Merge them into one line, joining their systems and features.`,
          undefined,
          { related },
        ),
        machine,
      ),
    );
  }
  return problems;
}

/** An entry short enough to quote in a message. */
function shortRow(row: string): string {
  const text = row.trim().replace(/\s+/g, ' ');
  return text.length > 50 ? `${text.slice(0, 50)}…` : text;
}
