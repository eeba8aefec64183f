// The warnings: what Nix accepts without a word and then goes wrong (a machine never used, a
// host ssh refuses, a setting ignored), read from the parsed model. The parsers report what
// Nix rejects; these functions report the rest, so a caller shows `parsed.problems` and then
// `lintBuilders(parsed, …)` (or `lintNixConf`). Codes and severities are in problem.ts's table:
//
//   code                        severity     in short
//   unknown-system              warning      column 2: a system nobody builds for ("Did you mean x86_64-linux?")
//   max-jobs-zero               warning      column 4 is 0: no job slots, never used
//   speed-factor-zero           warning      column 5 is 0: Nix makes it 1
//   speed-factor-fraction       information  column 5 is a fraction: fine from 2.20, older Nix rejects it
//   host-key-raw                warning      column 8 is the bare AAAA… key: ssh refuses the host
//   host-key-with-host          warning      column 8 decodes to a known_hosts line (host in front): ssh misreads it
//   host-key-not-a-key          warning      column 8 decodes to something that is not a key line
//   column-missing              warning      a value shaped like another column's (`4` as the key): a column left out
//   extra-columns               warning      columns after the eighth are ignored
//   include-missing             warning      `@file` that does not exist: skipped silently
//   ssh-key-missing / -unreadable / -not-private / -permissions / -encrypted
//                               warning      column 3: ssh cannot log in with this key
//   ssh-key-relative            warning      column 3 not absolute: Nix 2.34+ refuses to connect
//   duplicate-machine           warning      the same store URI twice
//   host-starts-with-dash       warning      `-host`: Nix (or ssh) refuses to connect
//   store-uri-unusable          warning      not ssh:// or ssh-ng:// (binary cache, local store, typo)
//   shell-in-store-setting      warning      remote-program / remote-store with shell metacharacters: runs on the builder
//   port-in-uri                 warning      `host:port` before Nix 2.31
//   mandatory-without-need      information  column 7 set: only derivations requiring all of it come here
//   unknown-feature             warning      a near miss of a well-known feature (`big_parallel`)
//   unknown-setting             warning      nix.conf: a name Nix ignores (`buidlers`)
//   conf-invalid-value          error        nix.conf: a value Nix refuses (`max-jobs = four`)
//   nothing-can-build           warning      nix.conf: max-jobs = 0 and no builder

import type { Problem } from '../problem';
import type { NixVersion, VersionRules } from '../nixVersion';
import type { Machine, ParsedBuilders } from '../machines';
import type { ParsedNixConf } from '../nixConf';
import { placedEntries, type LineMemo, type LineParse, type TextLine } from '../lineMemo';
import { placedProblems, placedRun, type LineProblems } from '../problemsByLine';
import { lintColumns } from './columns';
import { lintHostKey } from './hostKey';
import { lintIncludes } from './includes';
import { lintMissingColumn } from './missingColumn';
import { placeInOrigin } from '../machines';
import { placeInConfOrigin } from './place';
import { plainStoreUri, storeUriHash, type PlainMachine } from '../plainLine';
import { lintSettings } from './settings';
import { keyInspector, lintSshKey, lintSshKeyColumn, type KeyFileMemo, type KeyInspector } from './sshKey';
import { lintShellInStoreSetting } from './shellInStoreSetting';
import { lintDuplicates, lintStoreUri } from './storeUri';

export interface LintContext {
  /** The targeted Nix version. */
  version: NixVersion;
  /** `rulesFor(version)`. */
  rules: VersionRules;
  /** Home directory used to expand `~` in key paths: root's home when a nix-daemon builds (the daemon runs ssh as root). */
  keyHome: string;
  /** True when builds go through a nix-daemon (multi-user): messages then say the daemon/root reads the key. */
  daemon: boolean;
  /** Where the SSH key checks keep what they read: the server's is watched (context/watchedFiles.ts); none, per lint run. */
  keyFiles?: KeyFileMemo;
}

/**
 * The warnings of a machines file or a `builders` value (the parser's errors are in
 * `parsed.problems`, not repeated here), in text order. Reads the SSH key files named in
 * column 3; nothing else touches the system.
 */
export function lintBuilders(parsed: ParsedBuilders, context: LintContext, memo?: LineMemo): Problem[] {
  const inspect = keyInspector(context, context.keyFiles);
  if (memo?.made(parsed)) return placedProblems(lintByLine(parsed, context, inspect));
  const problems: Problem[] = [...lintIncludes(parsed)];
  for (const machine of parsed.machines) {
    for (const p of lintMachine(machine, context, inspect)) problems.push(placeInOrigin(p, machine));
  }
  for (const p of lintDuplicates(parsed.machines)) problems.push(p); // unbounded: no spread into push (stack overflow)
  return inTextOrder(problems);
}

/**
 * `lintBuilders` of a parse lineMemo.ts made, as its lines keep the warnings (problemsByLine.ts):
 * a kept line's machines are linted where the line starts (0) and its warnings are kept with it,
 * never moved, while the key files' memo is of the same generation (never without one).
 */
export function lintBuildersByLine(parsed: LineParse, context: LintContext): LineProblems[] {
  return lintByLine(parsed, context, keyInspector(context, context.keyFiles));
}

function lintByLine(parsed: LineParse, context: LintContext, inspect: KeyInspector): LineProblems[] {
  // Each line's warnings are put in order once, when it is linted: lines do not overlap, so
  // their lists end to end are in text order, and only the includes' and duplicates' warnings
  // are merged in, into the lines they are on (no sort of every warning on each edit).
  const runs: LineProblems[] = [];
  /** For each run, the index of its line. */
  const runLines: number[] = [];
  // Every machine Nix keeps, for the duplicates check: its line, its place among the line's
  // entries (a plain line's are read only for a duplicate) and its store URI's hash.
  const lineOf: TextLine[] = [];
  const entryOf: number[] = [];
  const hashes: number[] = [];
  const add = (line: TextLine, entry: number, machine: Machine | undefined) => {
    if (machine !== undefined && !machine.valid) return;
    lineOf.push(line);
    entryOf.push(entry);
    hashes.push(machine === undefined ? line.read!.plain!.uriHash : storeUriHash(machine.storeUri));
  };
  const lines = parsed.lines;
  for (let index = 0; index < lines.length; index++) {
    const line = lines[index]!;
    if (line.read === undefined) {
      const found: Problem[] = [];
      line.entries.forEach(({ machine }, i) => {
        if (machine === undefined) return;
        add(line, i, machine);
        for (const p of lintMachine(machine, context, inspect)) found.push(placeInOrigin(p, machine));
      });
      if (found.length > 0) {
        runs.push(placedRun(inTextOrder(found)));
        runLines.push(index);
      }
      continue;
    }
    const read = line.read;
    if (read.plain !== undefined && read.plain.keyStart < 0) {
      // A plain line without an SSH key: nothing to say, nothing to keep; only the duplicates check looks at it.
      add(line, 0, undefined);
      continue;
    }
    if (read.lint === undefined || inspect.generation === undefined || read.lint.generation !== inspect.generation) {
      const generation = inspect.generation ?? -1;
      if (read.plain !== undefined) {
        // At most one warning: what its SSH key file holds.
        read.lint = { generation, problems: lintPlainMachine(read.text, read.plain, context, inspect), run: undefined };
      } else {
        const found: Problem[] = [];
        for (const { machine } of read.entries)
          if (machine !== undefined) for (const p of lintMachine(machine, context, inspect)) found.push(p);
        read.lint = { generation, problems: inTextOrder(found), run: undefined };
      }
    }
    const lint = read.lint;
    if (lint.problems.length > 0) {
      // The line's run of the last analysis while the line starts at the same place (most lines above an edit).
      if (lint.run?.start !== line.start) lint.run = { start: line.start, problems: lint.problems, line: line.text };
      runs.push(lint.run);
      runLines.push(index);
    }
    if (read.plain !== undefined) {
      add(line, 0, undefined);
      continue;
    }
    read.entries.forEach(({ machine }, i) => {
      if (machine !== undefined) add(line, i, machine);
    });
  }
  // A plain line's machine where the line is (what the features ask for next), the others' from their line's start.
  const placed = (line: TextLine) => line.read === undefined || line.read.plain !== undefined;
  const machineAt = (i: number): Machine => {
    const line = lineOf[i]!;
    const entries = placed(line) ? placedEntries(line) : line.read!.entries;
    return entries[entryOf[i]!]!.machine!;
  };
  const duplicates = lintDuplicates({
    length: hashes.length,
    hash: (i) => hashes[i]!,
    storeUri: (i) => {
      const read = lineOf[i]!.read;
      return read?.plain !== undefined ? plainStoreUri(read.text, read.plain) : machineAt(i).storeUri;
    },
    machine: machineAt,
    // A kept line's spans count from its start; an `@file` line's and a plain line's are in the text.
    offset: (i) => (placed(lineOf[i]!) ? 0 : lineOf[i]!.start),
  });
  const includes = inTextOrder(lintIncludes(parsed));
  const placedDuplicates = inTextOrder(duplicates);
  if (includes.length === 0 && placedDuplicates.length === 0) return runs;
  return mergedIntoLines(lines, runs, runLines, includes, placedDuplicates);
}

/**
 * The includes' and duplicates' warnings (placed, in text order) merged into the runs of the
 * lines they are on: what merging them into all the lines' warnings end to end gives, ties
 * ordered includes', the line's, duplicates'. A line with none keeps its run as it is.
 */
function mergedIntoLines(
  lines: readonly TextLine[],
  runs: readonly LineProblems[],
  runLines: readonly number[],
  includes: Problem[],
  duplicates: Problem[],
): LineProblems[] {
  const result: LineProblems[] = [];
  let r = 0;
  let i = 0;
  let d = 0;
  for (let index = 0; index < lines.length; index++) {
    const end = index + 1 < lines.length ? lines[index + 1]!.start : Infinity;
    const own = runLines[r] === index ? runs[r++] : undefined;
    const fromI = i;
    const fromD = d;
    while (i < includes.length && includes[i]!.span.start < end) i++;
    while (d < duplicates.length && duplicates[d]!.span.start < end) d++;
    if (i === fromI && d === fromD) {
      if (own !== undefined) result.push(own);
      continue;
    }
    const placed = own === undefined ? [] : placedProblems([own]);
    result.push(placedRun(merged(merged(includes.slice(fromI, i), placed), duplicates.slice(fromD, d))));
  }
  return result;
}

/**
 * `lintMachine` of a plain line's machine (plainLine.ts): nothing to say but what its SSH key
 * file holds. Spans from the line's start, as a kept line's warnings are (problemsByLine.ts).
 */
export function lintPlainMachine(
  line: string,
  plain: PlainMachine,
  context: LintContext,
  inspect = keyInspector(context),
): Problem[] {
  const { keyStart, keyEnd } = plain;
  if (keyStart < 0) return [];
  const span = { start: keyStart, end: keyEnd };
  const column = { text: line.slice(keyStart, keyEnd), span, isSet: true };
  return lintSshKeyColumn(column, plainStoreUri(line, plain), context, inspect);
}

/** Two lists in text order as one; on a tie `a`'s first (what a stable sort of `a` then `b` gives). */
function merged(a: Problem[], b: Problem[]): Problem[] {
  if (b.length === 0) return a;
  if (a.length === 0) return b;
  const result: Problem[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length && j < b.length) result.push(textOrder(a[i]!, b[j]!) <= 0 ? a[i++]! : b[j++]!);
  while (i < a.length) result.push(a[i++]!);
  while (j < b.length) result.push(b[j++]!);
  return result;
}

const textOrder = (a: Problem, b: Problem) =>
  a.span.start - b.span.start || (a.fileSpan?.start ?? 0) - (b.fileSpan?.start ?? 0);

/**
 * The warnings of one machine on its own (no duplicates, no includes), spans in the text the
 * machine is written in (not moved onto an `@file`): what deciding about one machine needs.
 */
export function lintMachine(machine: Machine, context: LintContext, inspect = keyInspector(context)): Problem[] {
  // Pushed, not spread: most machines have none, and this runs for each of them.
  const problems: Problem[] = [];
  for (const found of [
    lintStoreUri(machine, context),
    lintShellInStoreSetting(machine, context),
    lintMissingColumn(machine),
    lintColumns(machine, context),
    lintSshKey(machine, context, inspect),
    lintHostKey(machine),
  ])
    for (const p of found) problems.push(p);
  return problems;
}

/**
 * The warnings (and value errors) of a nix.conf: its settings, and `lintBuilders` of every
 * `builders` line (problems of lines from an included nix.conf are shown on that include).
 * `extra-builders` lines are left out: Nix ignores them, and the parser already says so.
 */
export function lintNixConf(parsed: ParsedNixConf, context: LintContext): Problem[] {
  const problems = lintSettings(parsed, context);
  for (const setting of parsed.settings) {
    if (setting.name !== 'builders' || setting.builders === undefined) continue;
    for (const p of lintBuilders(setting.builders, context)) problems.push(placeInConfOrigin(p, setting));
  }
  return inTextOrder(problems);
}

/** By position in the parsed text, then in the included file; stable otherwise. */
function inTextOrder(problems: Problem[]): Problem[] {
  if (inOrder(problems)) return problems;
  return problems
    .map((p, i) => ({ p, i }))
    .sort((a, b) => textOrder(a.p, b.p) || a.i - b.i)
    .map(({ p }) => p);
}

/** Already by position (most files, most edits): the sort is skipped. */
function inOrder(problems: Problem[]): boolean {
  for (let i = 1; i < problems.length; i++) {
    if (textOrder(problems[i - 1]!, problems[i]!) > 0) return false;
  }
  return true;
}
