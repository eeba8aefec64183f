// Random builders texts for the differential test against real Nix: valid and invalid columns,
// `-`, both separators, comments, tabs, blank entries, extra columns, base64 good and bad, and
// `@file` includes of files that exist (written by the test), do not exist, are a directory or
// include themselves. Built from pieces users really write, plus the edge cases Nix decides on.

import type { Rng } from './prng';

export interface GeneratedCase {
  /** The builders text. */
  text: string;
  /** Files the text includes: absolute path → content. The test writes them before running Nix. */
  files: Record<string, string>;
}

/** Values of one column: what Nix 2.8 accepts, and what it rejects or reads unexpectedly. */
interface Pool {
  good: readonly string[];
  bad: readonly string[];
}

const hosts: Pool = {
  good: [
    'builder',
    'nix@builder.example.org',
    'ssh://nix@10.0.0.2',
    'ssh-ng://mac-mini',
    'user@host:2222',
    'auto',
    'local',
    'daemon?x=1',
    '?root=/x',
    'host-',
    'ssh://[::1]',
    'hôte',
    '--',
  ],
  bad: ['-', '#not-a-comment', '@not-an-include'],
};
const systems: Pool = {
  good: [
    'x86_64-linux',
    'aarch64-linux',
    'x86_64-linux,aarch64-linux',
    'aarch64-darwin,x86_64-darwin',
    'x86_64-linux,x86_64-linux',
    'i686-linux,,x86_64-linux',
    ',',
    ',,,',
    'x86-64-linux',
    '-',
    '(weird)',
  ],
  bad: [],
};
const keys: Pool = { good: ['-', '/root/.ssh/id_ed25519', '~/.ssh/id_builder', 'key'], bad: [] };
const numbers: Pool = {
  good: ['-', '0', '1', '2', '8', '16', '+3', '007', '4294967295', '+0'],
  bad: [
    '4294967296',
    '18446744073709551616',
    '-1',
    '-0',
    '+',
    '1.5',
    '0.5',
    '.5',
    '1e3',
    'x',
    '3x',
    '0x10',
    'inf',
    'NaN',
    '١',
    '+-3',
  ],
};
const features: Pool = {
  good: ['-', 'kvm', 'big-parallel,kvm', 'kvm,benchmark,kvm', 'nixos-test', ',', 'b,,a', 'z,a,m', 'gccarch-znver3'],
  bad: [],
};
const hostKeys: Pool = {
  good: [
    '-',
    // base64 of a whole OpenSSH public key line (what Nix wants)
    'c3NoLWVkMjU1MTkgQUFBQUMzTnphQzFsWkRJMU5URTVBQUFBSUpTMk9ja01YUjJvSW9TNWh6YzQ5N2hQY1hJV2ZjeEpNOVJYdWxQTkZxWVUgcm9vdEBidWlsZGVyCg==',
    // the raw key part: valid base64 too
    'AAAAC3NzaC1lZDI1NTE5AAAAIJS2OckMXR2oIoS5hzc497hPcXIWfcxJM9RXulPNFqYU',
    'QUFB',
    'A',
    'A=!!',
    '====',
    'ab+/',
  ],
  bad: ['bad!', 'ab.c', 'ssh-ed25519', 'AAAA-BBBB', 'é'],
};
const extras: Pool = { good: ['extra', 'x', '-', 'ninth tenth', '1.5', 'bad!'], bad: [] };
const columnSeparators = [' ', ' ', ' ', '  ', '\t', ' \t '];
const entrySeparators = ['\n', '\n', ';', ' ; ', ';\n', '\n\n', ';;', '\r\n', ' ;\t'];
/** At the start or end of a text, spaces around a separator make a blank entry (Nix 2.8 rejects it). */
const edgeSeparators = ['\n', ';', ';\n', '\n\n', ';;', '\r\n'];

export interface GeneratorPlaces {
  /** A directory the test owns: included files are written into it. */
  dir: string;
}

/** How likely each choice is to be one Nix rejects: some cases are mostly valid, some are not. */
interface Mood {
  rng: Rng;
  badness: number;
}

export function generateBuildersCase(rng: Rng, places: GeneratorPlaces): GeneratedCase {
  const files: Record<string, string> = {};
  let fileCount = 0;
  const mood: Mood = { rng, badness: rng.pick([0, 0.03, 0.03, 0.1, 0.3]) };
  const text = generateText(mood, places, files, () => fileCount++, 0);
  return { text, files };
}

function generateText(
  mood: Mood,
  places: GeneratorPlaces,
  files: Record<string, string>,
  nextFile: () => number,
  depth: number,
): string {
  const { rng } = mood;
  const count = rng.int(4) + (depth === 0 ? 1 : 0);
  const edge = () => rng.pick(rng.chance(mood.badness) ? entrySeparators : edgeSeparators);
  let text = rng.chance(0.1) ? edge() : '';
  for (let i = 0; i < count; i++) {
    if (i > 0) text += rng.pick(entrySeparators);
    text += generateEntry(mood, places, files, nextFile, depth);
  }
  if (rng.chance(0.2)) text += edge();
  return text;
}

function generateEntry(
  mood: Mood,
  places: GeneratorPlaces,
  files: Record<string, string>,
  nextFile: () => number,
  depth: number,
): string {
  const { rng } = mood;
  const roll = rng.next();
  let entry: string;
  if (roll < 0.72) entry = generateMachine(mood);
  else if (roll < 0.84) entry = generateInclude(mood, places, files, nextFile, depth);
  else if (roll < 0.92) entry = '# ' + rng.pick(['a comment', 'big-parallel builders', 'x ; y', '@/etc/nix/machines']);
  else if (rng.chance(mood.badness * 2))
    entry = rng.pick([' ', '  ', '\t', ' \t', '\r']); // Nix 2.8 rejects these
  else entry = mutate(rng, generateMachine(mood));
  // Leading whitespace: Nix 2.8 keeps it (so `@` after it is a host name, and `#` leaves a blank entry).
  if (rng.chance(entry.startsWith('#') ? mood.badness : 0.12)) entry = rng.pick([' ', '\t', '  ']) + entry;
  // A trailing comment.
  if (rng.chance(0.15)) entry += rng.pick([' # comment', '#x', ' #', '\t# 4 cores']);
  return entry;
}

function value(mood: Mood, pool: Pool): string {
  const bad = pool.bad.length > 0 && mood.rng.chance(mood.badness);
  return mood.rng.pick(bad ? pool.bad : pool.good);
}

function generateMachine(mood: Mood): string {
  const { rng } = mood;
  const columnCount = rng.chance(0.15) ? 8 + rng.int(3) : 1 + rng.int(8);
  const pools = [hosts, systems, keys, numbers, numbers, features, features, hostKeys];
  const columns: string[] = [];
  for (let i = 0; i < columnCount; i++) columns.push(value(mood, pools[i] ?? extras));
  let text = columns[0]!;
  for (const c of columns.slice(1)) text += rng.pick(columnSeparators) + c;
  if (rng.chance(0.1)) text += rng.pick([' ', '\t', '\r']);
  return text;
}

function generateInclude(
  mood: Mood,
  places: GeneratorPlaces,
  files: Record<string, string>,
  nextFile: () => number,
  depth: number,
): string {
  const { rng } = mood;
  let path: string;
  if (rng.chance(mood.badness)) {
    if (rng.chance(0.8)) {
      path = places.dir; // a directory: Nix fails reading it
    } else {
      path = `${places.dir}/machines-${nextFile()}`;
      files[path] = `@${path}\n`; // includes itself: Nix overflows its stack (~1 s)
    }
  } else if (depth < 2 && rng.chance(0.65)) {
    path = `${places.dir}/machines-${nextFile()}`;
    files[path] = generateText(mood, places, files, nextFile, depth + 1);
  } else {
    path = `${places.dir}/does-not-exist-${rng.int(100)}`;
  }
  const spaced = rng.pick(['', '', ' ', '\t']);
  return `@${spaced}${path}${rng.pick(['', '', ' ', '\t ', ' #c'])}`;
}

/** Small edits that make a machine entry wrong in the ways people get it wrong. */
function mutate(rng: Rng, entry: string): string {
  const at = rng.int(entry.length + 1);
  const insert = rng.pick(['#', ';', '-', ' ', '\t', '@', ',', '=', '.', '+', '!', '\n', '1']);
  if (rng.chance(0.5)) return entry.slice(0, at) + insert + entry.slice(at);
  return entry.slice(0, at) + entry.slice(at + 1);
}

/**
 * A random nix.conf around builders lines: comments, other settings, `extra-builders`,
 * `include` / `!include` of files that exist or not, and lines Nix calls illegal. (No include
 * cycles: Nix 2.8 crashes on them without a message.)
 */
export function generateNixConfCase(rng: Rng, places: GeneratorPlaces): GeneratedCase {
  const files: Record<string, string> = {};
  let fileCount = 0;
  const nextFile = () => fileCount++;
  const mood: Mood = { rng, badness: rng.pick([0, 0.03, 0.1, 0.3]) };
  const confLines = (depth: number): string => {
    const lines: string[] = [];
    const count = 1 + rng.int(4);
    for (let i = 0; i < count; i++) {
      const roll = rng.next();
      if (roll < 0.45) lines.push(builderLine());
      else if (roll < 0.55)
        lines.push(rng.pick(['# a comment', '', '   ', 'cores = 2 # four', 'sandbox = false', 'keep-going = true']));
      else if (roll < 0.62) lines.push(`extra-builders = ${oneLine(generateText(mood, places, files, nextFile, 1))}`);
      else if (roll < 0.8) {
        const directive = rng.pick(['include', '!include']);
        if (depth < 2 && rng.chance(0.6)) {
          const name = `nix-${nextFile()}.conf`;
          files[`${places.dir}/${name}`] = confLines(depth + 1);
          lines.push(`${directive} ${rng.chance(0.5) ? name : `${places.dir}/${name}`}`);
        } else {
          const missing = directive === '!include' || rng.chance(mood.badness);
          lines.push(`${directive} ${missing ? rng.pick(['missing.conf', `${places.dir}/missing.conf`]) : places.dir}`);
        }
      } else if (rng.chance(mood.badness)) {
        lines.push(rng.pick(['builders=a', 'builders', 'include', 'include a b', '= a', 'builders : a', 'foo bar']));
      } else {
        lines.push(`builders = ${oneLine(generateText(mood, places, files, nextFile, 0))}`);
      }
    }
    return lines.join(rng.pick(['\n', '\n', '\r\n'])) + '\n';
  };
  // A `builders` line as written in nix.conf: `;`-separated, odd spacing, maybe a comment.
  const builderLine = () => {
    const value = oneLine(generateText(mood, places, files, nextFile, 0));
    return `${rng.pick(['', ' ', '\t'])}builders${rng.pick([' = ', '\t=\t', ' =  '])}${value}${rng.pick(['', ' # x', '#y'])}`;
  };
  return { text: confLines(0), files };
}

/** A builders text made fit for one nix.conf line: newlines become `;`. */
function oneLine(text: string): string {
  return text.replace(/\r?\n/g, ';');
}
