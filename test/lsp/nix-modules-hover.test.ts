// The hovers on the options of a .nix file's builders, over a real LSP connection: every
// attribute name of an entry says what the NixOS module says of it (type, default, its own
// description), where it lands in the machines line and what it writes there for this entry;
// `nix.buildMachines` and `nix.distributedBuilds` say what they do, with the lines of the list.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Hover, MarkupContent } from 'vscode-languageserver-protocol';
import { entryOptions } from '../../server/src/nixModules/entryOptions';
import { positionOf } from './helpers/edits';
import { LspClient } from './helpers/lspClient';

let client: LspClient;
let dir: string;
let count = 0;

before(async () => {
  const dynamic = { dynamicRegistration: true };
  client = await LspClient.start({ capabilities: { textDocument: { synchronization: dynamic, hover: dynamic } } });
  client.settings = { nixVersion: '2.8' };
  dir = mkdtempSync(join(tmpdir(), 'nix-builders-nixhover-'));
  uri = await client.open(join(dir, `configuration-${count++}.nix`), 'nix', text);
  await client.diagnostics(uri);
});

after(async () => {
  await client.stop();
  rmSync(dir, { recursive: true, force: true });
});

const textOf = (hover: Hover | null) => (hover?.contents as MarkupContent | undefined)?.value ?? '';

const text = `{ lib, ... }:
{
  nix.distributedBuilds = true;
  nix.buildMachines = [
    {
      hostName = "builder.example.org";
      protocol = "ssh-ng";
      sshUser = "nix";
      system = "x86_64-linux";
      systems = [ "aarch64-linux" ];
      sshKey = "/root/.ssh/id_builder";
      maxJobs = 4;
      speedFactor = 2;
      supportedFeatures = [ "kvm" ];
      mandatoryFeatures = [ "big-parallel" ];
      publicHostKey = "c3NoLWVkMjU1MTkgQUFBQUMzTnphQzFsWkRJMU5URTVBQUFBSUhj";
    }
    { hostName = "second"; systems = [ "aarch64-linux" "armv7l-linux" ]; }
  ];
}
`;
const line =
  'ssh-ng://nix@builder.example.org x86_64-linux /root/.ssh/id_builder 4 2 kvm,big-parallel big-parallel c3NoLWVkMjU1MTkgQUFBQUMzTnphQzFsWkRJMU5URTVBQUFBSUhj';

let uri: string;

const hoverOn = async (marker: string) => textOf(await client.hover(uri, positionOf(text, marker)));

describe('every attribute name of an entry', () => {
  test('says its type, default, the module’s own description and where it lands in the line', async () => {
    for (const [name, option] of Object.entries(entryOptions)) {
      const hover = await hoverOn(`${name} =`);
      assert.ok(hover.startsWith(`**${name}** · ${option.type}`), `${name}: ${hover}`);
      assert.ok(hover.includes(option.description), `${name}: the module's description`);
      assert.ok(hover.includes(`In the machines line: ${option.inLine}`), `${name}: where it lands`);
      assert.ok(hover.includes('```\n' + line + '\n```'), `${name}: the rendered line`);
    }
  });

  test('and what it writes in this entry’s line, or that it writes nothing there', async () => {
    assert.match(await hoverOn('hostName = "builder'), /Here it writes `builder\.example\.org`\./);
    assert.match(await hoverOn('protocol ='), /Here it writes `ssh-ng`\./);
    assert.match(await hoverOn('supportedFeatures ='), /Here it writes `kvm`\./);
    assert.match(
      await hoverOn('mandatoryFeatures ='),
      /Here it writes `big-parallel` in column 6 and `big-parallel` in column 7\./,
    );
    assert.match(await hoverOn('speedFactor ='), /default `1`.*Here it writes `2`\./s);
    // `system` wins: the list is not written.
    assert.match(await hoverOn('systems = [ "aarch64-linux" ];'), /Here it writes nothing to the line\./);
    assert.match(await hoverOn('systems = [ "aarch64-linux" "armv7l'), /Here it writes `aarch64-linux,armv7l-linux`\./);
  });
});

describe('the options around the entries', () => {
  test('nix.buildMachines: the module’s words, and every line NixOS writes from the list', async () => {
    const hover = await hoverOn('buildMachines');
    assert.match(hover, /\*\*nix\.buildMachines\*\* · list of \(submodule\) · default `\[ \]`/);
    assert.match(hover, /This option lists the machines to be used if distributed builds are enabled/);
    assert.ok(hover.includes('```\n' + line + '\nssh://second aarch64-linux,armv7l-linux - 1 1 - - -\n```'), hover);
  });

  test('nix.distributedBuilds: the module’s words, what false does, and what it is here', async () => {
    const hover = await hoverOn('distributedBuilds');
    assert.match(hover, /\*\*nix\.distributedBuilds\*\* · boolean · default `false`/);
    assert.match(hover, /Whether to distribute builds to the machines listed in `nix\.buildMachines`\./);
    assert.match(hover, /sets `builders` to null/);
    assert.match(hover, /Here `true`/);
  });

  test('written inside `nix = { … }` too', async () => {
    const nested =
      '{\n  nix = {\n    distributedBuilds = false;\n    buildMachines = [ { hostName = "b"; system = "x86_64-linux"; } ];\n  };\n}\n';
    const nestedUri = await client.open(join(dir, `configuration-${count++}.nix`), 'nix', nested);
    assert.match(
      textOf(await client.hover(nestedUri, positionOf(nested, 'distributedBuilds'))),
      /Here `false`: no build/,
    );
    assert.match(
      textOf(await client.hover(nestedUri, positionOf(nested, 'buildMachines'))),
      /```\nssh:\/\/b x86_64-linux - 1 1 - - -\n```/,
    );
  });
});
