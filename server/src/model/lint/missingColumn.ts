// A forgotten column: Nix reads columns by position only, so `ssh://b x86_64-linux 4 1` (the
// key left out) takes `4` as the SSH key and `1` as maxJobs, without a word. A value whose
// shape is clearly another column's (a number where the key goes, a system among the features,
// a host key among the mandatory features) is the sign; when putting `-` in front of it moves
// it and every later column to a place each fits, the fix inserts exactly those `-`.

import { problem, type Problem } from '../problem';
import { columnNames, type Column, type Machine } from '../machines';
import { base64Refusal } from '../nixStrings';
import { hostKeyReading } from './hostKeyReading';
import { knownSystems } from '../systems';
import { commonFeatures } from './columns';

/** What a value clearly is; values of no clear shape (a key file name, a feature of one's own) have none. */
type Shape = 'number' | 'fraction' | 'system' | 'path' | 'feature' | 'host key';

/** The column's title as messages say it, in Nix's order (index 0 is column 1). */
const titles = [
  'store URI',
  'systems',
  'SSH key',
  'maxJobs',
  'speedFactor',
  'supported features',
  'mandatory features',
  'host key',
];

/** Each shape in words, with the column it belongs to. */
const shapeWords: Record<Shape, string> = {
  number: 'a whole number, as in maxJobs (column 4) or speedFactor (column 5)',
  fraction: 'a fraction, as in speedFactor (column 5)',
  system: 'a system, as in column 2',
  path: 'a file path, as in the SSH key (column 3)',
  feature: 'a system feature, as in columns 6 and 7',
  'host key': 'a host key, as in column 8',
};

/** Where a value of this shape goes, for the advice when no `-` makes the line fit. */
const homeColumn: Record<Shape, string> = {
  number: 'column 4 or 5',
  fraction: 'column 5',
  system: 'column 2 (comma-separated, no spaces)',
  path: 'column 3',
  feature: 'column 6 or 7 (comma-separated, no spaces)',
  'host key': 'column 8',
};

/** A value as messages quote it: a host key is long, its start says enough. */
const quoted = (text: string) => `'${text.length > 24 ? `${text.slice(0, 16)}…` : text}'`;

const isFeature = (item: string) => (commonFeatures as readonly string[]).includes(item) || /^gccarch-./.test(item);

function shapeOf(text: string): Shape | undefined {
  if (/^[0-9]+$/.test(text)) return 'number';
  if (/^[0-9]*\.[0-9]+$|^[0-9]+\.$/.test(text)) return 'fraction';
  if (text.startsWith('/') || text.startsWith('~/') || text.startsWith('./')) return 'path';
  const items = text.split(',');
  if (items.every((item) => knownSystems.has(item) && item !== 'builtin')) return 'system';
  if (items.every(isFeature)) return 'feature';
  // Short base64 (`QUFB`) is also a word: only a value that decodes to a key counts as one.
  if (text.length >= 40 && base64Refusal(text) === undefined && hostKeyReading(text).kind !== 'not-a-key')
    return 'host key';
  return undefined;
}

/** Whether a value of this shape belongs in column `index` (0-based); no shape: only where Nix takes any text. */
function fits(index: number, shape: Shape | undefined): boolean {
  switch (index) {
    case 1:
      return shape === undefined || shape === 'system';
    case 2:
      return shape === undefined || shape === 'path';
    case 3:
      return shape === 'number';
    case 4:
      return shape === 'number' || shape === 'fraction';
    case 5:
    case 6:
      // A number among features is odd but not a sign of a shift: no opinion.
      return shape === undefined || shape === 'feature' || shape === 'number';
    case 7:
      return shape === 'host key';
    default:
      return false;
  }
}

/**
 * True when column `index` (1..6) has, without working its shape out, one that fits there: the
 * common lines (`x86_64-linux /key 4 1 kvm -`) are then done with no regular expression run.
 * Each case is what `shapeOf` gives: known systems are never numbers or paths, and a comma list
 * with an empty item is of no shape (which fits columns 2, 6 and 7).
 */
function surelyFits(index: number, column: Column, machine: Machine): boolean {
  const text = column.text;
  if (text === '-') return true;
  switch (index) {
    case 1:
      return machine.systems.every((system) => knownSystems.has(system));
    case 2:
      return text.startsWith('/');
    case 3:
    case 4:
      for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) < 48 || text.charCodeAt(i) > 57) return false;
      return true;
    case 5:
      return machine.supportedFeatures.every(isFeature);
    case 6:
      return machine.mandatoryFeatures.every(isFeature);
    default:
      return false;
  }
}

export function lintMissingColumn(machine: Machine): Problem[] {
  let plain = true;
  for (let i = 1; i < 7 && plain; i++) {
    const column = machine.columns[columnNames[i]!];
    if (column === undefined) break;
    plain = surelyFits(i, column, machine);
  }
  return plain ? [] : missingColumnByShapes(machine);
}

/** The check itself, from every column's shape (`lintMissingColumn` without its shortcut). */
export function missingColumnByShapes(machine: Machine): Problem[] {
  const columns = columnNames.map((name) => machine.columns[name]).filter((c): c is Column => c !== undefined);
  // Each column's shape worked out once, and only when asked (column 8's only for a shift).
  const shapes: (Shape | undefined | null)[] = columns.map(() => null);
  const shape = (i: number) => (shapes[i] === null ? (shapes[i] = shapeOf(columns[i]!.text)) : shapes[i]);
  const fitsHere = (index: number, i: number) => columns[i]!.text === '-' || fits(index, shape(i));
  // Column 8 has no room after it, and its own lints say what is wrong there.
  let first = -1;
  for (let i = 1; i < Math.min(columns.length, 7) && first < 0; i++)
    if (!fitsHere(i, i) && shape(i) !== undefined) first = i;
  if (first < 0) return [];
  const column = columns[first]!;
  const found = shape(first)!;
  const later = columns.slice(first);
  let missing = 0;
  for (let shift = 1; columns.length + shift <= 8; shift++) {
    if (later.every((_, i) => fitsHere(first + i + shift, first + i))) {
      missing = shift;
      break;
    }
  }
  const lead = `Column ${first + 1} (${titles[first]}) is ${quoted(column.text)}, ${shapeWords[found]}`;
  if (missing === 0) {
    return [
      problem(
        'column-missing',
        column.span,
        `${lead}, but Nix reads it as the ${titles[first]} (columns count by position, whatever they hold). Move it to ${homeColumn[found]}.`,
      ),
    ];
  }
  const asRead = later
    .slice(0, 3)
    .map((c, i) => `${quoted(c.text)} as the ${titles[first + i]}`)
    .join(', ');
  const meant = later
    .slice(0, 3)
    .map((c, i) => `${quoted(c.text)} as the ${titles[first + i + missing]}`)
    .join(', ');
  const columnsWord = missing === 1 ? 'is a column' : `are ${missing} columns`;
  // Where the shift puts a word into maxJobs, speedFactor or the host key, Nix refuses the list.
  const nixSays = machine.valid ? 'without a word' : 'and refuses the whole list over it';
  return [
    problem(
      'column-missing',
      column.span,
      `${lead}: ${columnsWord} missing before it? Nix counts columns by position and reads ${asRead}, ${nixSays}. Put '-' for each column left out (the quick fix inserts ${missing === 1 ? 'one' : missing}): then Nix reads ${meant}.`,
      undefined,
      { suggestion: `${'- '.repeat(missing)}${column.text}` },
    ),
  ];
}
