// A `nix.buildMachines` list that is not written out entry by entry (`map (h: { … }) [ … ]`,
// `builtins.map mkBuilder hosts` with both let-bound, a let-bound list of entries): in a trusted
// workspace real Nix evaluates it (restricted, no NIX_PATH) and each builder it makes is shown
// and checked on the expression like a written entry; untrusted, nothing is evaluated and the
// hover and the hint say so.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Diagnostic, Hover, MarkupContent, TextEdit } from 'vscode-languageserver-protocol';
import { applyEdits, positionOf } from './helpers/edits';
import { LspClient } from './helpers/lspClient';
import { requireRealNix } from '../helpers/requireNix';

const textOf = (hover: Hover | null) => (hover?.contents as MarkupContent | undefined)?.value ?? '';
const messageOf = (d: Diagnostic) => (typeof d.message === 'string' ? d.message : d.message.value);

const text = `{ config, pkgs, ... }:
let
  hosts = [ "alpha" "beta" ];
  mkBuilder = host: {
    hostName = host;
    systems = [ "x86_64-linux" "x86-64-linux" ];
    sshUser = pkgs.builderUser;
    maxJobs = 4;
  };
in
{
  nix.distributedBuilds = true;
  nix.buildMachines =
    map (s: { hostName = "arm-\${s}"; system = s; }) [ "aarch64-linux" "aarch64-linx" ]
    ++ builtins.map mkBuilder hosts
    ++ config.moreBuilders;
}
`;

let dir: string;
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'nix-builders-nixmap-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

async function opened(trusted: boolean): Promise<{ client: LspClient; uri: string; diagnostics: Diagnostic[] }> {
  const dynamic = { dynamicRegistration: true };
  const client = await LspClient.start({
    initializationOptions: { trusted },
    capabilities: {
      textDocument: { synchronization: dynamic, hover: dynamic, codeAction: dynamic, inlayHint: dynamic },
    },
  });
  client.settings = { nixVersion: '2.8' };
  const uri = await client.open(join(dir, `${trusted ? 'trusted' : 'untrusted'}.nix`), 'nix', text);
  return { client, uri, diagnostics: await client.diagnostics(uri) };
}
const whole = { start: { line: 0, character: 0 }, end: { line: 20, character: 0 } };

const nix = requireRealNix('a nix.buildMachines list made with map is evaluated by real Nix');

describe('a list made with map', { skip: nix === undefined }, () => {
  test('trusted: each builder map makes is shown on the expression, with what needs pkgs left unknown', async () => {
    const { client, uri } = await opened(true);
    try {
      const mapped = textOf(await client.hover(uri, positionOf(text, 'map (s:')));
      assert.match(
        mapped,
        /Real Nix evaluated this part of `nix\.buildMachines` \(restricted, without nixpkgs\): 2 builders/,
      );
      assert.match(
        mapped,
        /```\nssh:\/\/arm-aarch64-linux aarch64-linux - 1 1 - - -\nssh:\/\/arm-aarch64-linx aarch64-linx - 1 1 - - -\n```/,
      );
      const bound = textOf(await client.hover(uri, positionOf(text, 'builtins.map')));
      assert.match(
        bound,
        /```\nssh:\/\/«pkgs\.builderUser»@alpha x86_64-linux,x86-64-linux - 4 1 - - -\nssh:\/\/«pkgs\.builderUser»@beta x86_64-linux,x86-64-linux - 4 1 - - -\n```/,
      );
      assert.match(bound, /Not known before the system is built: `sshUser`/);
      // What needs the configuration stays unknown, and says so.
      const config = textOf(await client.hover(uri, positionOf(text, 'config.moreBuilders')));
      assert.match(
        config,
        /known only after evaluation.*Real Nix could not evaluate it without the rest of the configuration/s,
      );

      // On nix.buildMachines: every builder the list makes, and the part that stays unknown.
      const list = textOf(await client.hover(uri, positionOf(text, 'buildMachines')));
      assert.match(
        list,
        /```\nssh:\/\/arm-aarch64-linux [^\n]*\nssh:\/\/arm-aarch64-linx [^\n]*\nssh:\/\/«pkgs\.builderUser»@alpha [^\n]*\nssh:\/\/«pkgs\.builderUser»@beta [^\n]*\n```/,
      );
      assert.match(list, /One part of the list is known only after evaluation\. Real Nix could not evaluate it/);

      const hints = await client.inlayHints(uri, whole);
      assert.deepEqual(
        hints.map((h) => h.label),
        [
          'machines: ssh://arm-aarch64-linux aarch64-linux - 1 1 - - -',
          'machines: ssh://arm-aarch64-linx aarch64-linx - 1 1 - - -',
          'machines: ssh://«pkgs.builderUser»@alpha x86_64-linux,x86-64-linux - 4 1 - - -',
          'machines: ssh://«pkgs.builderUser»@beta x86_64-linux,x86-64-linux - 4 1 - - -',
          'machines: known after evaluation',
        ],
      );
    } finally {
      await client.stop();
    }
  });

  test('trusted: the builders are checked; a value from the list on the map expression, a literal of the function on itself', async () => {
    const { client, uri, diagnostics } = await opened(true);
    try {
      const systems = diagnostics.filter((d) => d.code === 'unknown-system');
      // aarch64-linx comes from the list: on the whole `map …` expression, with no fix (it makes every builder).
      const fromList = systems.find((d) => messageOf(d).includes('aarch64-linx'));
      assert.ok(fromList, JSON.stringify(diagnostics));
      assert.deepEqual(fromList.range.start, positionOf(text, 'map (s:'));
      const listActions = await client.codeActions(uri, fromList.range, [fromList]);
      assert.deepEqual(listActions, []);
      // x86-64-linux is written in mkBuilder: on that literal, once, with the fix there.
      const written = systems.filter((d) => messageOf(d).includes('x86-64-linux'));
      assert.equal(written.length, 1, `once for both builders: ${JSON.stringify(systems)}`);
      assert.deepEqual(written[0]!.range.start, positionOf(text, '"x86-64-linux"'));
      const actions = await client.codeActions(uri, written[0]!.range, [written[0]!]);
      assert.equal(actions.length, 1, JSON.stringify(actions));
      assert.equal(
        applyEdits(text, actions[0]!.edit!.changes![uri]! as TextEdit[]),
        text.replace('"x86-64-linux"', '"x86_64-linux"'),
      );
    } finally {
      await client.stop();
    }
  });

  test('untrusted: nothing is evaluated, and the hover and the hint say that evaluation needs trust', async () => {
    const { client, uri, diagnostics } = await opened(false);
    try {
      const hover = textOf(await client.hover(uri, positionOf(text, 'map (s:')));
      assert.match(
        hover,
        /This part of `nix\.buildMachines` is not written out: its builders are known only after evaluation/,
      );
      assert.match(hover, /Nothing is evaluated in an untrusted workspace: trust the workspace/);
      assert.match(
        textOf(await client.hover(uri, positionOf(text, 'buildMachines'))),
        /3 parts of the list are known only after evaluation\. Nothing is evaluated in an untrusted workspace/,
      );
      assert.deepEqual(
        (await client.inlayHints(uri, whole)).map((h) => [h.label, h.tooltip]),
        Array(3).fill([
          'machines: known after evaluation',
          'Evaluation needs a trusted workspace: trust it to let Nix evaluate this list (restricted, without nixpkgs).',
        ]),
      );
      assert.equal(diagnostics.filter((d) => d.code === 'unknown-system').length, 0);
      // The function's attributes still have their hovers: what the module says of them.
      assert.match(
        textOf(await client.hover(uri, positionOf(text, 'maxJobs'))),
        /\*\*maxJobs\*\* · signed integer.*Written in a function that makes each builder/s,
      );
    } finally {
      await client.stop();
    }
  });

  test('a let-bound list of entries: each entry is the builder of its place, checked on its own literals', async () => {
    const bound = `{ pkgs, ... }:
let
  builders = [
    { hostName = "one"; system = "x86_64-linux"; maxJobs = 0; }
    { hostName = "two"; systems = [ "aarch64-linux" ]; sshUser = pkgs.builderUser; }
  ];
in
{
  nix.distributedBuilds = true;
  nix.buildMachines = builders;
}
`;
    for (const trusted of [true, false]) {
      const client = await LspClient.start({
        initializationOptions: { trusted },
        capabilities: {
          textDocument: { synchronization: { dynamicRegistration: true }, hover: { dynamicRegistration: true } },
        },
      });
      client.settings = { nixVersion: '2.8' };
      try {
        const uri = await client.open(join(dir, `bound-${trusted}.nix`), 'nix', bound);
        const diagnostics = await client.diagnostics(uri);
        const jobs = textOf(await client.hover(uri, positionOf(bound, 'maxJobs')));
        const zero = diagnostics.filter((d) => d.code === 'max-jobs-zero');
        if (trusted) {
          assert.match(jobs, /\*\*maxJobs\*\*.*Here it writes `0`\..*```\nssh:\/\/one x86_64-linux - 0 1 - - -\n```/s);
          assert.match(
            textOf(await client.hover(uri, positionOf(bound, 'sshUser'))),
            /```\nssh:\/\/«pkgs\.builderUser»@two aarch64-linux - 1 1 - - -\n```/,
          );
          assert.equal(zero.length, 1, JSON.stringify(diagnostics));
          assert.deepEqual(zero[0]!.range.start, positionOf(bound, '0; }'));
        } else {
          assert.match(
            jobs,
            /Written in a list that `nix\.buildMachines` names.*Nothing is evaluated in an untrusted workspace/s,
          );
          assert.deepEqual(zero, []);
        }
      } finally {
        await client.stop();
      }
    }
  });
});
