// The value columns of one machine entry (2 systems, 4 maxJobs, 5 speedFactor, 6 and 7
// features, and anything after 8): values Nix takes without a word that leave the machine
// unused, or used other than meant.

import { problem, type Problem } from '../problem';
import type { Machine } from '../machines';
import { versionRuleTable } from '../nixVersion';
import { readFloat, readUnsignedInt } from '../nixStrings';
import { knownSystems } from '../systems';
import { nearest } from '../nearest';
import type { LintContext } from './index';
import { commaItems, listInWords, majorMinor } from './place';

/** Features people put in columns 6 and 7 most; a near miss of one is a typo nobody asks for. */
export const commonFeatures = [
  'kvm',
  'big-parallel',
  'nixos-test',
  'benchmark',
  'apple-virt',
  'ca-derivations',
  'recursive-nix',
  'uid-range',
] as const;

/** Problems of columns 2, 4, 5, 6, 7 and 9+, with spans in the machine's own text. */
export function lintColumns(machine: Machine, context: LintContext): Problem[] {
  // Pushed, not spread: most machines have none, and this runs for each of them.
  const problems: Problem[] = [];
  for (const found of [
    unknownSystems(machine),
    maxJobsZero(machine),
    speedFactor(machine, context),
    features(machine),
    extraColumns(machine),
  ])
    for (const p of found) problems.push(p);
  return problems;
}

function unknownSystems(machine: Machine): Problem[] {
  const column = machine.columns.systems;
  if (column === undefined || !column.isSet) return [];
  // The column's items are `machine.systems` (as a list or a set): all known, nothing to place.
  if (machine.systems.every((system) => knownSystems.has(system))) return [];
  const problems: Problem[] = [];
  for (const item of commaItems(column)) {
    if (knownSystems.has(item.text)) continue;
    const suggestion = nearest(item.text, knownSystems);
    const advice =
      suggestion !== undefined
        ? `Did you mean ${suggestion}?`
        : 'Use a system as Nix names it, such as x86_64-linux or aarch64-darwin (`nix-instantiate --eval -E builtins.currentSystem` on the builder prints its own).';
    problems.push(
      problem(
        'unknown-system',
        item.span,
        `No derivation is built for the system '${item.text}', so Nix never sends this machine a build for it (Nix does not check the name). ${advice}`,
        undefined,
        suggestion !== undefined ? { suggestion } : undefined,
      ),
    );
  }
  return problems;
}

function maxJobsZero(machine: Machine): Problem[] {
  const column = machine.columns.maxJobs;
  if (column === undefined || !column.isSet || machine.maxJobs !== 0) return [];
  return [
    problem(
      'max-jobs-zero',
      column.span,
      'maxJobs is 0: this machine has no job slots, so Nix never gives it a job (and says nothing). Put the number of builds it may run at once, such as 1 or its CPU count, or remove the line.',
      undefined,
      { suggestion: '1' },
    ),
  ];
}

function speedFactor(machine: Machine, context: LintContext): Problem[] {
  const column = machine.columns.speedFactor;
  if (column === undefined || !column.isSet) return [];
  const value = context.rules.speedFactorIsFloat ? readFloat(column.text) : readUnsignedInt(column.text);
  if (value === undefined || Number.isNaN(value) || value < 0) return []; // the parser's error
  if (value === 0) {
    return [
      problem(
        'speed-factor-zero',
        column.span,
        "speedFactor 0 does not make this machine the last choice: Nix silently reads 0 as 1. To prefer other machines, give them a higher speedFactor (this one keeps 1), or write 1 or '-' here.",
      ),
    ];
  }
  // A fraction reaches here only on Nix that reads floats (on older Nix it is the parser's error).
  if (readUnsignedInt(column.text) === undefined && Number.isFinite(value)) {
    const since = majorMinor(versionRuleTable.speedFactorIsFloat.since);
    return [
      problem(
        'speed-factor-fraction',
        column.span,
        `speedFactor ${column.text} is fine for Nix ${since} and later, but older Nix rejects the whole builders list over it ("failed to convert column #4 … to 'unsigned int'"). If an older Nix also reads this file, use a whole number.`,
      ),
    ];
  }
  return [];
}

function features(machine: Machine): Problem[] {
  const problems: Problem[] = [];
  for (const [name, column] of [
    ['supportedFeatures', machine.columns.supportedFeatures],
    ['mandatoryFeatures', machine.columns.mandatoryFeatures],
  ] as const) {
    if (column === undefined || !column.isSet) continue;
    // The column's items are the machine's feature set: all well known, nothing to place.
    if (machine[name].every((item) => (commonFeatures as readonly string[]).includes(item))) continue;
    for (const item of commaItems(column)) {
      if ((commonFeatures as readonly string[]).includes(item.text)) continue;
      const suggestion = nearest(item.text, commonFeatures, 2);
      if (suggestion === undefined) continue; // a feature of the user's own: legitimate
      problems.push(
        problem(
          'unknown-feature',
          item.span,
          `'${item.text}' is not a feature derivations ask for (features must match exactly; Nix does not check the name), so ${
            name === 'supportedFeatures'
              ? `derivations that need ${suggestion} will not come here`
              : 'only derivations that require this misspelt feature could come here, and none do'
          }. Did you mean ${suggestion}?`,
          undefined,
          { suggestion },
        ),
      );
    }
  }

  const mandatory = machine.columns.mandatoryFeatures;
  if (mandatory !== undefined && mandatory.isSet && machine.mandatoryFeatures.length > 0) {
    const list = listInWords(machine.mandatoryFeatures);
    problems.push(
      problem(
        'mandatory-without-need',
        mandatory.span,
        `Only derivations whose requiredSystemFeatures include ${machine.mandatoryFeatures.length === 1 ? '' : 'all of '}${list} are built here; every other build skips this machine. If it should also take ordinary builds, move ${machine.mandatoryFeatures.length === 1 ? 'it' : 'them'} to column 6 (supported features) and put '-' here.`,
      ),
    );
  }
  return problems;
}

function extraColumns(machine: Machine): Problem[] {
  const extra = machine.extraColumns;
  if (extra.length === 0) return [];
  const span = { start: extra[0]!.span.start, end: extra[extra.length - 1]!.span.end };
  const texts = extra.map((c) => c.text).join(' ');
  return [
    problem(
      'extra-columns',
      span,
      `Nix reads eight columns and ignores the rest without a word: '${texts}' ${extra.length === 1 ? 'is' : 'are'} not used. Remove ${
        extra.length === 1 ? 'it' : 'them'
      } (a note needs a '#' in front); if a column is missing earlier on the line, put '-' in its place.`,
    ),
  ];
}
