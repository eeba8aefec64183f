// Quick fixes for how ssh reaches a builder, which need the machine and the files around it:
// a missing SSH key ("Choose a key file…", the client's dialog; one of the private keys that
// are there; or `-` so ssh picks one from its config) and a port in the URI before Nix 2.31 (move it into an ssh config `Host` entry,
// or say which Nix reads the file). Nothing is created that holds a secret: no key is made here.
import { accessSync, constants, existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import {
  CodeActionKind,
  type CodeAction,
  type Diagnostic,
  type Range,
  type WorkspaceEdit,
} from 'vscode-languageserver';
import type { TextDocument } from 'vscode-languageserver-textdocument';
import { parseStoreUri } from '../model/storeUri';
import { chooseKeyFileCommand, type ChooseKeyFileArguments } from '../protocol';
import type { Analysis } from './analysis';
import { ownMachines } from './documentMachines';
import { privateKeysIn } from './keyFiles';

export interface ConnectionFixInputs {
  document: TextDocument;
  analysis: Analysis;
  textOf: (uri: string) => string | undefined;
  canCreateFiles: boolean;
  /** `nixBuilders.sshConfigFile`, else the config of whoever runs ssh. */
  sshConfigFile: string | undefined;
}

/** Keys offered for a missing one: a lightbulb menu, not a directory listing. */
const keyChoices = 5;

const quickFix = (title: string, diagnostic: Diagnostic, edit: WorkspaceEdit, isPreferred = false): CodeAction => ({
  title,
  kind: CodeActionKind.QuickFix,
  diagnostics: [diagnostic],
  edit,
  isPreferred,
});

/** The ssh config the fixes write and name: the setting's, else ~/.ssh/config of whoever runs ssh (root under a nix-daemon). */
function sshConfigPath(inputs: ConnectionFixInputs): string {
  return inputs.sshConfigFile ?? join(inputs.analysis.target.keyHome, '.ssh', 'config');
}

/** ssh-key-missing: each private key found (in the homes ssh may run as), and `-`. */
export function missingKeyFixes(diagnostic: Diagnostic, range: Range, inputs: ConnectionFixInputs): CodeAction[] {
  const uri = inputs.document.uri;
  const homes = [...new Set([homedir(), inputs.analysis.target.keyHome])];
  const keys = [...new Set(homes.flatMap((home) => privateKeysIn(join(home, '.ssh')).map((key) => key.path)))];
  const choose: ChooseKeyFileArguments = { uri, range, startIn: join(homes[0]!, '.ssh') };
  const actions: CodeAction[] = [
    {
      title: 'Choose a key file…',
      kind: CodeActionKind.QuickFix,
      diagnostics: [diagnostic],
      command: { title: 'Choose a key file', command: chooseKeyFileCommand, arguments: [choose] },
    },
  ];
  actions.push(
    ...keys
      .slice(0, keyChoices)
      .map((path) => quickFix(`Use the key ${path}`, diagnostic, { changes: { [uri]: [{ range, newText: path }] } })),
  );
  const config = sshConfigPath(inputs);
  actions.push(
    quickFix(`Use '-': ssh picks the key (IdentityFile in ${config}, else ~/.ssh/id_*)`, diagnostic, {
      changes: { [uri]: [{ range, newText: '-' }] },
    }),
  );
  return actions;
}

/** port-in-uri: the port moves into a `Host` entry of the ssh config; or the nixVersion setting. */
export function portInUriFixes(diagnostic: Diagnostic, range: Range, inputs: ConnectionFixInputs): CodeAction[] {
  const actions: CodeAction[] = [];
  const start = inputs.document.offsetAt(range.start);
  const machine = ownMachines(inputs.analysis).find(
    (m) => m.columns.storeUri.span.start <= start && start < m.columns.storeUri.span.end,
  );
  const parts = machine === undefined ? undefined : parseStoreUri(machine.storeUri);
  if (parts?.port !== undefined && parts.host !== '') {
    const hostEntry = hostEntryEdit(parts.host.replace(/^\[(.*)\]$/, '$1'), parts.port, inputs);
    if (hostEntry !== undefined) {
      const { edit, config } = hostEntry;
      (edit.documentChanges ??= []).push({
        textDocument: { uri: inputs.document.uri, version: null },
        edits: [{ range, newText: '' }],
      });
      actions.push(
        quickFix(`Move the port into ${config} (Host ${parts.host} / Port ${parts.port})`, diagnostic, edit, true),
      );
    }
  }
  actions.push({
    title: 'Set nixBuilders.nixVersion: Nix 2.31 and later pass the port on to ssh',
    kind: CodeActionKind.QuickFix,
    diagnostics: [diagnostic],
    command: {
      title: 'Open the setting',
      command: 'workbench.action.openSettings',
      arguments: ['nixBuilders.nixVersion'],
    },
  });
  return actions;
}

/**
 * Appends `Host NAME` / `Port N` to the ssh config (creating it when the client can). At the
 * end, so no option written above for every host falls into the new entry's scope.
 */
function hostEntryEdit(
  host: string,
  port: string,
  inputs: ConnectionFixInputs,
): { edit: WorkspaceEdit; config: string } | undefined {
  const config = sshConfigPath(inputs);
  const uri = pathToFileURL(config).toString();
  const exists = existsSync(config);
  if (!writable(exists ? config : dirname(config))) return undefined;
  const entry = `Host ${host}\n  Port ${port}\n`;
  if (!exists) {
    if (!inputs.canCreateFiles) return undefined;
    return {
      config,
      edit: {
        documentChanges: [
          { kind: 'create', uri, options: { ignoreIfExists: true } },
          {
            textDocument: { uri, version: null },
            edits: [{ range: { start: { line: 0, character: 0 }, end: { line: 0, character: 0 } }, newText: entry }],
          },
        ],
      },
    };
  }
  const text = inputs.textOf(uri);
  if (text === undefined) return undefined;
  const lines = text.split('\n');
  const end = { line: lines.length - 1, character: lines[lines.length - 1]!.length };
  const lead = text === '' ? '' : text.endsWith('\n') ? '\n' : '\n\n';
  return {
    config,
    edit: {
      documentChanges: [
        { textDocument: { uri, version: null }, edits: [{ range: { start: end, end }, newText: `${lead}${entry}` }] },
      ],
    },
  };
}

function writable(path: string): boolean {
  try {
    accessSync(path, constants.W_OK);
    return true;
  } catch {
    return false;
  }
}
