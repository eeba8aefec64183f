// What a .nix file does not write out (`let` names, arithmetic, `with`, `inherit`) is evaluated
// by real Nix in its scope, in a trusted workspace only; what needs the configuration or
// nixpkgs (`pkgs.…`) stays unknown and the hover says so. Untrusted, nothing is evaluated.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Diagnostic, Hover, MarkupContent } from 'vscode-languageserver-protocol';
import { positionOf } from './helpers/edits';
import { LspClient } from './helpers/lspClient';
import { requireRealNix } from '../helpers/requireNix';

const textOf = (hover: Hover | null) => (hover?.contents as MarkupContent | undefined)?.value ?? '';

const text = `{ lib, pkgs, ... }:
let
  arm = "aarch64-" + os;
  os = "linux";
  cores = 8;
  hostName = "arm-box";
in
with { feature = "kvm"; };
{
  nix.distributedBuilds = true;
  nix.buildMachines = [
    {
      inherit hostName;
      system = arm;
      maxJobs = cores * 2;
      supportedFeatures = [ "big-parallel" ] ++ [ feature ];
      sshUser = pkgs.builderUser;
      speedFactor = lib.mkDefault 2;
    }
    {
      hostName = "typo";
      systems = map (cpu: cpu + "-linux") [ "x86-64" ];
    }
  ];
}
`;

let dir: string;
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'nix-builders-nixeval-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

async function opened(trusted: boolean): Promise<{ client: LspClient; uri: string; diagnostics: Diagnostic[] }> {
  const client = await LspClient.start({ initializationOptions: { trusted } });
  client.settings = { nixVersion: '2.8' };
  const uri = await client.open(join(dir, `${trusted ? 'trusted' : 'untrusted'}.nix`), 'nix', text);
  return { client, uri, diagnostics: await client.diagnostics(uri) };
}

const nix = requireRealNix('values a configuration does not write out are evaluated by real Nix');

describe('evaluating what is not written out', { skip: nix === undefined }, () => {
  test('trusted: let names, arithmetic, with and inherit are evaluated; pkgs stays unknown', async () => {
    const { client, uri, diagnostics } = await opened(true);
    try {
      const hover = textOf(await client.hover(uri, positionOf(text, 'system = arm')));
      assert.match(hover, /```\nssh:\/\/«pkgs\.builderUser»@arm-box aarch64-linux - 16 2 big-parallel,kvm - -\n```/);
      assert.match(hover, /Not known before the system is built: `sshUser`.*Real Nix could not evaluate them/s);
      // The evaluated systems of the second builder are checked like written ones, on the expression.
      const typo = diagnostics.find((d) => d.code === 'unknown-system');
      assert.ok(typo, JSON.stringify(diagnostics));
      assert.deepEqual(typo.range.start, positionOf(text, 'map (cpu'));
      assert.match(typeof typo.message === 'string' ? typo.message : '', /x86-64-linux.*Did you mean x86_64-linux\?/s);
    } finally {
      await client.stop();
    }
  });

  test('untrusted: nothing is evaluated, and the hover says why', async () => {
    const { client, uri, diagnostics } = await opened(false);
    try {
      const hover = textOf(await client.hover(uri, positionOf(text, 'system = arm')));
      assert.match(
        hover,
        /```\nssh:\/\/«pkgs\.builderUser»@«hostName» «arm» - «cores \* 2» 2 «\[ "big-parallel" \] \+\+ \[ feature \]» - -\n```/,
      );
      assert.match(hover, /Nothing is evaluated in an untrusted workspace/);
      assert.equal(diagnostics.filter((d) => d.code === 'unknown-system').length, 0);
    } finally {
      await client.stop();
    }
  });
});
