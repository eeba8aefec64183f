// A forgotten column, as the user meets it in the editor: the warning on the value that has
// another column's shape, and the quick fix that inserts `-`. Real Nix says what each line
// means: before the fix it reads the line shifted (as the warning says), after the fix it reads
// the machine the user meant. On the machine's Nix and on each Nix of the version lab.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { parseNixVersion } from '../../server/src/model/nixVersion';
import { caseDirs } from '../helpers/caseDirs';
import { askNixAboutBuilders, type InstalledNix } from '../helpers/nix';
import { requireLabNixes, requireRealNix } from '../helpers/requireNix';
import { applyWorkspaceEdit } from './helpers/edits';
import { LspClient } from './helpers/lspClient';

const hostKey = Buffer.from(
  'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJS2OckMXR2oIoS5hzc497hPcXIWfcxJM9RXulPNFqYU',
).toString('base64');

interface Case {
  name: string;
  line: string;
  /** The line the user meant: what the fix must give. */
  fixed: string;
  title: RegExp;
  /** How Nix reads the line as written (`(systems, maxJobs, supported, mandatory)`), or that it refuses it. */
  before: (system: string) => string | 'refused';
  /** How Nix reads the fixed line: the machine the user meant. */
  after: (system: string) => string;
}

const cases: Case[] = [
  {
    name: 'the key left out: 4 is read as the key and 1 as maxJobs',
    line: 'ssh://b x86_64-linux 4 1',
    fixed: 'ssh://b x86_64-linux - 4 1',
    title: /^Insert '-' for the missing column$/,
    before: () => '(x86_64-linux, 1, , )',
    after: () => '(x86_64-linux, 4, , )',
  },
  {
    name: 'systems and key left out: two dashes',
    line: 'ssh://b 4 1',
    fixed: 'ssh://b - - 4 1',
    title: /^Insert '-' for the missing columns$/,
    before: () => '(4, 1, , )',
    after: (system) => `(${system}, 4, , )`,
  },
  {
    name: 'mandatory features left out: the host key is read as a mandatory feature (the machine is never used)',
    line: `ssh://b x86_64-linux - 4 1 kvm ${hostKey}`,
    fixed: `ssh://b x86_64-linux - 4 1 kvm - ${hostKey}`,
    title: /^Insert '-' for the missing column$/,
    before: () => `(x86_64-linux, 4, kvm, ${hostKey})`,
    after: () => '(x86_64-linux, 4, kvm, )',
  },
  {
    name: 'speedFactor left out: a feature where the number goes, which Nix refuses',
    line: 'ssh://b x86_64-linux - 4 kvm',
    fixed: 'ssh://b x86_64-linux - 4 - kvm',
    title: /^Insert '-' for the missing column$/,
    before: () => 'refused',
    after: () => '(x86_64-linux, 4, kvm, )',
  },
];

const nixes = [
  requireRealNix('the missing-column fix gives the machine meant'),
  ...requireLabNixes('the missing-column fix gives the machine meant'),
].filter((n): n is InstalledNix => n !== undefined);

let client: LspClient;
const caseDir = caseDirs('missing-column');
before(async () => {
  client = await LspClient.start();
});
after(async () => client.stop());

let slot = 0;
async function nixReads(line: string, nix: InstalledNix): Promise<string> {
  const answer = await askNixAboutBuilders(line, caseDir(), slot++, nix);
  if (!answer.accepted) return 'refused';
  assert.equal(answer.rows.length, 1, JSON.stringify(answer.rows));
  return answer.rows[0]!;
}

for (const nix of nixes) {
  const version = parseNixVersion(nix.versionText)!;
  describe(`a forgotten column, on ${nix.versionText}`, () => {
    before(async () => client.changeSettings({ nixVersion: `${version.major}.${version.minor}` }));

    for (const c of cases) {
      test(c.name, async () => {
        const uri = await client.open(join(caseDir(), 'machines'), 'nix-machines', `${c.line}\n`);
        const diagnostics = await client.diagnostics(uri);
        const diagnostic = diagnostics.find((d) => d.code === 'column-missing');
        assert.ok(diagnostic, JSON.stringify(diagnostics));
        assert.equal(diagnostic.severity, 2);
        const action = (await client.codeActions(uri, diagnostic.range, [diagnostic])).find((a) =>
          c.title.test(a.title),
        );
        assert.ok(action?.edit, 'no insert-dash fix');
        const fixed = applyWorkspaceEdit(action.edit, { [uri]: `${c.line}\n` })[uri]!;
        assert.equal(fixed, `${c.fixed}\n`);

        // The warning is right that Nix misreads the line, and the fix gives what was meant.
        assert.equal(await nixReads(c.line, nix), c.before(nix.system));
        assert.equal(await nixReads(c.fixed, nix), c.after(nix.system));

        const version = await client.change(uri, fixed);
        const again = await client.diagnostics(uri, (p) => p.version === version);
        assert.equal(
          again.find((d) => d.code === 'column-missing'),
          undefined,
          JSON.stringify(again),
        );
        await client.close(uri);
      });
    }
  });
}

test('a value of another column with no place to go: warned, no fix that would shift the line wrong', async () => {
  await client.changeSettings({ nixVersion: '2.8' });
  // Two systems with a space: `aarch64-linux` lands in the key column; a `-` would not mend it.
  const uri = await client.open(join(caseDir(), 'machines'), 'nix-machines', 'ssh://b x86_64-linux aarch64-linux 4\n');
  const diagnostic = (await client.diagnostics(uri)).find((d) => d.code === 'column-missing');
  assert.ok(diagnostic);
  assert.match(
    String(diagnostic.message),
    /'aarch64-linux', a system, as in column 2, but Nix reads it as the SSH key .*Move it to column 2 \(comma-separated, no spaces\)/,
  );
  const actions = await client.codeActions(uri, diagnostic.range, [diagnostic]);
  assert.equal(actions.filter((a) => /Insert '-'/.test(a.title)).length, 0);
});

test('a complete line with every column in its place: no warning', async () => {
  await client.changeSettings({ nixVersion: '2.8' });
  const uri = await client.open(
    join(caseDir(), 'machines'),
    'nix-machines',
    `ssh://b x86_64-linux,aarch64-linux /root/.ssh/id_builder 4 2 kvm,big-parallel - ${hostKey}\nssh://c x86_64-linux - 1\n`,
  );
  const diagnostics = await client.diagnostics(uri);
  assert.equal(
    diagnostics.find((d) => d.code === 'column-missing'),
    undefined,
    JSON.stringify(diagnostics),
  );
});
