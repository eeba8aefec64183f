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

/** A module being written: a systems list just opened, and a misspelt system. */
const editing = `{
  nix.distributedBuilds = true;
  nix.buildMachines = [
    { hostName = "builder.example.org"; systems = [ "" ]; }
    { hostName = "arm.example.org"; system = "aarch64-linx"; }
  ];
}
`;

suite('Writing nix.buildMachines in VS Code', () => {
  test('completion in a systems string shows the systems Nix knows; the quick fix changes a misspelt system to the nearest', async () => {
    const uri = workspaceFile('writing.nix');
    await vscode.workspace.fs.writeFile(uri, Buffer.from(editing));
    try {
      const editor = await vscode.window.showTextDocument(uri);
      assert.equal(editor.document.languageId, 'nix');
      const inside = editor.document.positionAt(editing.indexOf('[ "') + 3);
      const list = await waitFor('completion items in the systems string', async () => {
        const result = await vscode.commands.executeCommand<vscode.CompletionList>(
          'vscode.executeCompletionItemProvider',
          uri,
          inside,
        );
        return result.items.some((i) => (typeof i.label === 'string' ? i.label : i.label.label) === 'aarch64-linux')
          ? result
          : undefined;
      });
      assert.ok(list.items.length > 2);
      // What the user sees: the suggest widget in the string, this machine's system first.
      editor.selection = new vscode.Selection(inside, inside);
      await vscode.commands.executeCommand('editor.action.triggerSuggest');
      await screenshotShowing('nix-modules-completion', (shot) => {
        assertShowsRows(shot, 'suggest', [/^x86_64-linux this machine$/, /^aarch64-linux$/, /^aarch64-darwin$/]);
        assert.ok(
          !shot.shows.suggest.rows.some((row) => /^(hostName|sshUser|maxJobs)\b/.test(row)),
          'no option names in a value',
        );
      });
      await vscode.commands.executeCommand('hideSuggestWidget');

      const misspelt = await waitFor('the unknown-system warning on aarch64-linx', () =>
        vscode.languages
          .getDiagnostics(uri)
          .find((d) => d.code === 'unknown-system' && editor.document.getText(d.range).includes('linx')),
      );
      editor.selection = new vscode.Selection(misspelt.range.start, misspelt.range.start);
      const actions = await waitFor('the quick fix', async () => {
        const result = await vscode.commands.executeCommand<vscode.CodeAction[]>(
          'vscode.executeCodeActionProvider',
          uri,
          misspelt.range,
          vscode.CodeActionKind.QuickFix.value,
        );
        return result.some((a) => a.title === 'Change to aarch64-linux') ? result : undefined;
      });
      const fix = actions.find((a) => a.title === 'Change to aarch64-linux')!;
      assert.equal(fix.kind?.value, 'quickfix');
      assert.equal(fix.isPreferred, true);
      // Applied as the lightbulb's preferred fix is (Auto Fix, at the cursor), not by the test's own edit.
      await vscode.commands.executeCommand('editor.action.autoFix');
      await waitFor('the fix in the file', () => editor.document.getText() !== editing);
      assert.equal(editor.document.getText(), editing.replace('"aarch64-linx"', '"aarch64-linux"'));
      await waitFor(
        'the warning to go away',
        () =>
          !vscode.languages.getDiagnostics(uri).some((d) => d.code === 'unknown-system' && d.message.includes('linx')),
      );
    } finally {
      await vscode.commands.executeCommand('workbench.action.revertAndCloseActiveEditor');
      rmSync(uri.fsPath, { force: true });
    }
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
