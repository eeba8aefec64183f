// Formatting never changes what Nix reads. Over the fuzz corpus (generated machines files and
// nix.confs, mutated and random texts) and for each Nix version's rules, the formatted text parses
// to the same machines (store URI, systems, key, maxJobs, speedFactor, features, host key,
// validity), the same includes and the same errors; formatting twice changes nothing more.
// Replay a failure with FORMAT_FUZZ_SEED=<seed> (printed when it fails).

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { isDeepStrictEqual } from 'node:util';
import { formatMachines, formatNixConf } from '../../server/src/language/formatting';
import { applyChanges } from './helpers/applyChanges';
import { parseBuilders, type ParsedBuilders } from '../../server/src/model/machines';
import { parseNixConf, type ParsedNixConf } from '../../server/src/model/nixConf';
import { rulesFor, type VersionRules } from '../../server/src/model/nixVersion';
import { nix2_8Rules } from '../helpers/nix2_8Rules';
import { generateBuildersCase, generateNixConfCase } from '../helpers/builders-generator';
import { makeRng, seedFrom, type Rng } from '../helpers/prng';

const rulesets: [string, VersionRules][] = [
  ['2.8', nix2_8Rules],
  ['2.24', rulesFor({ major: 2, minor: 24, patch: 0 })],
  ['2.31', rulesFor({ major: 2, minor: 31, patch: 0 })],
];

const formatM = (text: string) => applyChanges(text, formatMachines(text));
const formatC = (text: string) => applyChanges(text, formatNixConf(text));

/** What Nix reads from a builders text, without positions or row text (whitespace may differ). */
function reading(parsed: ParsedBuilders) {
  return {
    machines: parsed.machines.map((m) => ({
      file: m.file,
      storeUri: m.storeUri,
      systems: m.systems,
      usesLocalSystem: m.usesLocalSystem,
      sshKey: m.sshKey,
      maxJobs: m.maxJobs,
      speedFactor: m.speedFactor,
      supportedFeatures: m.supportedFeatures,
      mandatoryFeatures: m.mandatoryFeatures,
      publicHostKey: m.publicHostKey,
      extraColumns: m.extraColumns.map((c) => c.text),
      valid: m.valid,
    })),
    includes: parsed.includes.map((i) => ({ path: i.path, status: i.status, file: i.file })),
    entries: parsed.entries.map((e) => e.kind),
    // Nix's messages quote the row: compare them with the quoted row left out.
    errors: parsed.problems.map((p) => ({ code: p.code, file: p.file, nix: p.nixMessage?.replace(/'[^]*'/, "'…'") })),
  };
}

function confReading(conf: ParsedNixConf) {
  return {
    settings: conf.settings.map((s) => ({
      name: s.name,
      value: s.value,
      file: s.file,
      builders: s.builders && reading(s.builders),
    })),
    includes: conf.includes.map((i) => ({ path: i.path, status: i.status })),
    errors: conf.problems.map((p) => ({ code: p.code, file: p.file })),
  };
}

const alphabet = [
  ' ',
  ' ',
  '\t',
  '\n',
  '\n',
  '\r',
  ';',
  '#',
  '@',
  '-',
  ',',
  '=',
  'a',
  'x86_64-linux',
  '1',
  '1.5',
  'ssh://h',
  'QUFB',
  'builders',
  'include',
];

function mutate(rng: Rng, text: string): string {
  let result = text;
  for (let i = 0; i < 1 + rng.int(3); i++) {
    const at = rng.int(result.length + 1);
    result = rng.chance(0.6)
      ? result.slice(0, at) + rng.pick(alphabet) + result.slice(at)
      : result.slice(0, at) + result.slice(at + 1 + rng.int(3));
  }
  return result;
}

describe('formatting keeps what Nix reads', () => {
  const seed = seedFrom('FORMAT_FUZZ_SEED');

  test(`machines files: 4 000 generated and mutated texts, three Nix versions (seed ${seed})`, () => {
    const rng = makeRng(seed);
    for (let i = 0; i < 4000; i++) {
      const generated = generateBuildersCase(rng, { dir: '/fuzz' });
      // Some start with a header comment, which Format Document aligns with the columns.
      const withHeader = rng.chance(0.2)
        ? `# URI systems key maxJobs speedFactor features mandatory host key\n${generated.text}`
        : generated.text;
      const text = rng.chance(0.3) ? mutate(rng, withHeader) : withHeader;
      const readFile = (path: string) => {
        if (path === '/fuzz') throw new Error('reading from file: Is a directory');
        return generated.files[path];
      };
      const formatted = formatM(text);
      assert.equal(
        formatM(formatted),
        formatted,
        `formatting twice changes more (seed ${seed}, case ${i}): ${JSON.stringify(text)}`,
      );
      for (const [name, rules] of rulesets) {
        const before = reading(parseBuilders(text, rules, { readFile, localSystem: 'x86_64-linux' }));
        const after = reading(parseBuilders(formatted, rules, { readFile, localSystem: 'x86_64-linux' }));
        if (!isDeepStrictEqual(before, after)) {
          assert.deepEqual(
            after,
            before,
            `Nix ${name} reads the formatted text differently (replay: FORMAT_FUZZ_SEED=${seed}, case ${i})\nbefore: ${JSON.stringify(text)}\nafter:  ${JSON.stringify(formatted)}`,
          );
        }
      }
    }
  });

  test(`nix.conf: 2 000 generated and mutated texts, three Nix versions (seed ${seed})`, () => {
    const rng = makeRng(seed ^ 0x9e3779b9);
    for (let i = 0; i < 2000; i++) {
      const generated = generateNixConfCase(rng, { dir: '/fuzz' });
      const text = rng.chance(0.3) ? mutate(rng, generated.text) : generated.text;
      const readFile = (path: string) => {
        if (path === '/fuzz') throw new Error('reading from file: Is a directory');
        return generated.files[path];
      };
      const formatted = formatC(text);
      assert.equal(formatC(formatted), formatted, `formatting twice changes more (seed ${seed}, case ${i})`);
      for (const [name, rules] of rulesets) {
        const options = { path: '/fuzz/nix.conf', readFile, localSystem: 'x86_64-linux' };
        const before = confReading(parseNixConf(text, rules, options));
        const after = confReading(parseNixConf(formatted, rules, options));
        if (!isDeepStrictEqual(before, after)) {
          assert.deepEqual(
            after,
            before,
            `Nix ${name} reads the formatted nix.conf differently (replay: FORMAT_FUZZ_SEED=${seed}, case ${i})\nbefore: ${JSON.stringify(text)}\nafter:  ${JSON.stringify(formatted)}`,
          );
        }
      }
    }
  });
});

describe('formatting a machines file', () => {
  test('columns are aligned into a table two spaces apart (so `8  2` does not read as one value), comments kept after one space', () => {
    const text = [
      '# builders',
      'ssh://nix@builder.example.org x86_64-linux,i686-linux /root/.ssh/id_builder 8 2 big-parallel,kvm',
      'ssh-ng://mac-mini   aarch64-darwin  -  4 1   # the Mac',
      '\tssh://pi aarch64-linux',
      '',
    ].join('\n');
    assert.equal(
      formatM(text),
      [
        '# builders',
        'ssh://nix@builder.example.org  x86_64-linux,i686-linux  /root/.ssh/id_builder  8  2  big-parallel,kvm',
        'ssh-ng://mac-mini              aarch64-darwin           -                      4  1 # the Mac',
        'ssh://pi                       aarch64-linux',
        '',
      ].join('\n'),
    );
  });

  test('a `# URI systems …` header comment lines up with the columns it names; a comment of prose does not move', () => {
    const text = [
      '# Remote builders for Nix: one machine per line.',
      '# URI systems key maxJobs speedFactor supportedFeatures mandatoryFeatures hostKey',
      'ssh://nix@builder.example.org x86_64-linux /root/.ssh/id_builder 8 2 big-parallel,kvm - -',
      'ssh://pi aarch64-linux - 2 1 - - -',
      '',
    ].join('\n');
    const formatted = formatM(text).split('\n');
    assert.equal(formatted[0], '# Remote builders for Nix: one machine per line.');
    // Each header word starts where its column does, on every row.
    const starts = (line: string) => [...line.matchAll(/(?:^|(?<= ))[^ ]+/g)].map((m) => m.index);
    assert.deepEqual(starts(formatted[1]!).slice(2), starts(formatted[2]!).slice(1)); // `#` and `URI` share column 1
    assert.deepEqual(starts(formatted[2]!), starts(formatted[3]!));
    assert.equal(
      formatted[1],
      '# URI                          systems        key                    maxJobs  speedFactor  supportedFeatures  mandatoryFeatures  hostKey',
    );
    assert.equal(formatM(formatM(text)), formatM(text));
  });

  test('lines Nix could read differently are left exactly as they are', () => {
    const kept = [
      'a x86_64-linux ; b   aarch64-linux', // `;`: Nix 2.8 ends a `#` comment there
      '  # an entry of spaces before the comment: an error on Nix 2.8',
      '   @/etc/nix/machines', // a host on Nix 2.8, an include on 2.29
      '@ /etc/nix/machines   ',
      '   ',
      '# note ; ssh://x',
    ];
    const text = `${kept.join('\n')}\n`;
    assert.deepEqual(formatMachines(text), []);
  });

  test('CRLF line ends are kept', () => {
    assert.equal(formatM('a  x86_64-linux\r\nbb - 2\r\n'), 'a   x86_64-linux\r\nbb  -             2\r\n');
  });

  test('range formatting changes only the lines in the range, aligned as the whole document', () => {
    const text = 'a x86_64-linux 1\nlonger-host - 2\nb  x86_64-linux  3\n';
    const start = text.indexOf('b  ');
    const changes = formatMachines(text, { start, end: start + 1 });
    assert.equal(applyChanges(text, changes), 'a x86_64-linux 1\nlonger-host - 2\nb            x86_64-linux  3\n');
  });
});

describe('formatting a nix.conf', () => {
  test('setting and include lines get single spaces; comments, blank and illegal lines stay', () => {
    const text =
      '  max-jobs   =  0   # remote only\nbuilders =   ssh://a  x86_64-linux ;  @/etc/nix/machines\n!include    extra.conf\nbuilders=a\n# comment   \n\n';
    assert.equal(
      formatC(text),
      'max-jobs = 0 # remote only\nbuilders = ssh://a x86_64-linux ; @/etc/nix/machines\n!include extra.conf\nbuilders=a\n# comment   \n\n',
    );
  });
});
