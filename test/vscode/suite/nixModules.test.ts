// Builders declared in a configuration.nix, as a user sees them in VS Code: the file is a `nix`
// document the server registered for, the diagnostic sits on the attribute, the hover and the
// inlay hint show the line NixOS writes, and the Remote Builders view lists the declared builders.
// Against a machines file the system generated (in the real Nix store, behind a link, named by
// the user's nix.conf for this test), the view and the attribute say "rebuild to apply"; a .nix
// file another program writes reaches the view through the client's watcher of **/*.nix.
import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as vscode from 'vscode';
import type { NixBuildersApi } from '../../../client/src/extension';
import type { Node } from '../../../client/src/tree/items';
import { assertShowsRows, assertShowsText, extensionId, screenshotShowing, waitFor, workspaceFile } from './helpers';

const text = `{ config, pkgs, ... }:
{
  nix.distributedBuilds = true;
  nix.buildMachines = [
    {
      hostName = "builder.example.org";
      sshUser = "nix";
      systems = [ "x86_64-linux" "x86-64-linux" ];
      maxJobs = 4;
      supportedFeatures = [ "kvm" "big-parallel" ];
    }
    {
      hostName = "mac-mini.local";
      system = "aarch64-darwin";
    }
  ];
}
`;

/** What the system was last built with: builder.example.org had 2 jobs, old-builder was still there. */
const generated = `ssh://nix@builder.example.org x86_64-linux - 2 1 kvm - -
ssh://old-builder.example.org x86_64-linux - 1 1 - - -
`;

/**
 * The machines file as NixOS makes it (a link into the store), named by the user's nix.conf
 * (NIX_USER_CONF_FILES, runTests.ts's file that does not exist otherwise); undone by the returned function.
 */
function generatedMachinesFile(): () => void {
  const userConf = process.env.NIX_USER_CONF_FILES;
  assert.ok(userConf, 'runTests.ts names a user nix.conf');
  const dir = mkdtempSync(join(tmpdir(), 'nix-builders-generated-'));
  mkdirSync(join(dir, 'built'));
  writeFileSync(join(dir, 'built', 'machines'), generated);
  const inStore = execFileSync('nix-store', ['--add', join(dir, 'built', 'machines')], { encoding: 'utf8' }).trim();
  const path = join(dir, 'machines');
  symlinkSync(inStore, path);
  writeFileSync(userConf, `builders = @${path}\n`);
  return () => {
    rmSync(userConf, { force: true });
    rmSync(dir, { recursive: true, force: true });
  };
}

const labelOf = (item: vscode.TreeItem) => (typeof item.label === 'string' ? item.label : (item.label?.label ?? ''));

suite('Builders declared in Nix', () => {
  test('configuration.nix: a diagnostic on the attribute, the rendered line, the builders in the view', async () => {
    const undo = generatedMachinesFile();
    try {
      await declaredInTheView();
    } finally {
      undo();
      rmSync(workspaceFile('laptop.nix').fsPath, { force: true });
    }
    // The suites after this one see the test's nix.conf builders again.
    const extension = vscode.extensions.getExtension<NixBuildersApi>(extensionId);
    const { machinesTree } = await extension!.activate();
    await waitFor('the view without the generated machines file', async () => {
      machinesTree.refresh();
      const sources = (await machinesTree.getChildren()).filter((node) => node.kind === 'source');
      return sources[0]?.kind === 'source' && sources[0].source.file?.endsWith('/etc-nix/nix.conf');
    });
  });
});

async function declaredInTheView(): Promise<void> {
  const uri = workspaceFile('configuration.nix');
  await vscode.workspace.fs.writeFile(uri, Buffer.from(text));
  const editor = await vscode.window.showTextDocument(uri);
  assert.equal(editor.document.languageId, 'nix');

  const diagnostics = await waitFor('diagnostics on configuration.nix', () => {
    const found = vscode.languages.getDiagnostics(uri);
    return found.length > 0 ? found : undefined;
  });
  const system = diagnostics.find((d) => d.code === 'unknown-system');
  assert.ok(system, JSON.stringify(diagnostics.map((d) => d.code)));
  assert.equal(editor.document.getText(system.range), '"x86-64-linux"');

  const position = editor.document.positionAt(text.indexOf('hostName'));
  const hovers = await waitFor('a hover on the entry', async () => {
    const found = await vscode.commands.executeCommand<vscode.Hover[]>('vscode.executeHoverProvider', uri, position);
    return found.length > 0 ? found : undefined;
  });
  const shown = hovers
    .flatMap((h) => h.contents.map((c) => (typeof c === 'string' ? c : 'value' in c ? c.value : '')))
    .join('\n');
  assert.match(shown, /ssh:\/\/nix@builder\.example\.org x86_64-linux,x86-64-linux - 4 1 kvm,big-parallel - -/);

  // "Rebuild to apply" on the attribute: the generated file has other lines.
  const rebuild = await waitFor('rebuild to apply on nix.buildMachines', () =>
    vscode.languages.getDiagnostics(uri).find((d) => d.code === 'nixos-rebuild-to-apply'),
  );
  assert.equal(editor.document.getText(rebuild.range), 'nix.buildMachines');
  assert.equal(rebuild.severity, vscode.DiagnosticSeverity.Information);

  const extension = vscode.extensions.getExtension<NixBuildersApi>(extensionId);
  const { machinesTree, machinesView } = await extension!.activate();
  machinesTree.refresh();
  const declared = await waitFor('the declared builders in the view', async () => {
    const nodes = await machinesTree.getChildren();
    return nodes.find(
      (node) =>
        node.kind === 'source' && node.source.file?.endsWith('/configuration.nix') && node.source.findings?.length,
    );
  });
  assert.equal(labelOf(machinesTree.getTreeItem(declared)), 'configuration.nix — 2 builders (declared)');
  const children = await machinesTree.getChildren(declared);
  const finding = children.find(
    (node): node is Extract<Node, { kind: 'source-finding' }> => node.kind === 'source-finding',
  );
  assert.ok(finding);
  assert.equal(finding.finding.title, 'Rebuild to apply (1 new, 1 gone, 1 changed)');
  assert.deepEqual(
    children.filter((node) => node.kind === 'machine').map((node) => labelOf(machinesTree.getTreeItem(node))),
    ['nix@builder.example.org', 'mac-mini.local'],
  );

  await vscode.commands.executeCommand('workbench.view.extension.nixBuilders');
  // Earlier suites expanded the lab's builders: only the declared source and its finding open.
  await vscode.commands.executeCommand('workbench.actions.treeView.nixBuilders.machines.collapseAll');
  await machinesView.reveal(finding, { expand: true });
  await vscode.window.showTextDocument(uri, { preserveFocus: false });
  editor.selection = new vscode.Selection(system.range.start, system.range.start);
  // Shown once: showing it again before each picture would catch it fading in.
  await vscode.commands.executeCommand('editor.action.showHover');
  await screenshotShowing(
    'nix-modules',
    (shot) => {
      assertShowsRows(shot, 'sidebar', [
        /configuration\.nix — 2 builders \(declared\).*Rebuild to apply/,
        /Rebuild to apply \(1 new, 1 gone, 1 changed\)/,
        /generated when the system was last built, is not what configuration\.nix declares now/,
        /New: `ssh:\/\/mac-mini\.local aarch64-darwin - 1 1 - - -`/,
        /Gone: `ssh:\/\/old-builder\.example\.org/,
        /Changed: `ssh:\/\/nix@builder\.example\.org x86_64-linux - 2 1 kvm - -` becomes/,
        /Run `sudo nixos-rebuild switch` to apply the configuration/,
        /nix@builder\.example\.org/,
        /mac-mini\.local/,
      ]);
      assertShowsText(shot, 'hover', [/ssh:\/\/nix@builder\.example\.org x86_64-linux,x86-64-linux - 4 1/]);
    },
    15_000,
    // A refresh of the view (a file watcher firing) may close the finding again.
    () => Promise.resolve(machinesView.reveal(finding, { expand: true })),
  );

  // Another program writes a new module: the client's watcher of **/*.nix brings it to the
  // view (the server watches only the files it already lists), with no refresh from the test.
  writeFileSync(
    workspaceFile('laptop.nix').fsPath,
    '{ nix.buildMachines = [ { hostName = "old-builder.example.org"; system = "x86_64-linux"; } ]; }\n',
  );
  const laptop = await waitFor('laptop.nix in the view', async () =>
    (await machinesTree.getChildren()).find(
      (node) => node.kind === 'source' && node.source.file?.endsWith('/laptop.nix'),
    ),
  );
  assert.equal(labelOf(machinesTree.getTreeItem(laptop)), 'laptop.nix — 1 builder (declared)');
}
