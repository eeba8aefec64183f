// Quick fixes for the diagnostics, from what each problem carries in `data` (problem.ts): the
// nearest system, feature or setting name; the raw host key wrapped as base64 of its line; extra
// columns dropped; a whole-number speedFactor for Nix before 2.20; the missing `@file` created;
// `-` inserted for a forgotten column; maxJobs 0 made 1; a missing key or a port ssh cannot take
// (connectionFixes.ts); and "pin the host key" for a key nobody has on record, which fetches the key over SSH (a server
// command, see pinHostKey.ts).
import { fileURLToPath, pathToFileURL } from 'node:url';
import {
  CodeActionKind,
  type CodeAction,
  type Diagnostic,
  type Range,
  type WorkspaceEdit,
} from 'vscode-languageserver';
import { TextDocument } from 'vscode-languageserver-textdocument';
import type { Machine } from '../model/machines';
import { readFloat } from '../model/nixStrings';
import type { ProblemCode, ProblemData } from '../model/problem';
import type { Analysis } from './analysis';
import { missingKeyFixes, portInUriFixes } from './connectionFixes';
import { diagnosticSource } from './diagnostics';
import { ownMachines } from './documentMachines';
import { pinHostKeyCommand, type PinHostKeyArguments } from './pinHostKey';
import { hostKeyOnRecord } from './recordedHostKey';
import { readTextOrUndefined } from '../context/readFile';

export interface CodeActionInputs {
  document: TextDocument;
  range: Range;
  diagnostics: Diagnostic[];
  analysis: Analysis;
  /** Another file's text (a fix inside an included file): an open document, or the disk. */
  textOf: (uri: string) => string | undefined;
  trusted: boolean;
  /** The client can create files in a workspace edit. */
  canCreateFiles: boolean;
  /** The client shows disabled actions with their reason. */
  disabledSupport: boolean;
  /** `nixBuilders.sshConfigFile`: where the host's known_hosts files are named. */
  sshConfigFile: string | undefined;
}

/** Header of a machines file the "create" fix writes. */
export const newMachinesFileText =
  '# Remote builders for Nix: one machine per line.\n# URI systems key maxJobs speedFactor supportedFeatures mandatoryFeatures hostKey\n';

const titles: Partial<Record<ProblemCode, (s: string) => string>> = {
  'unknown-system': (s) => `Change to ${s}`,
  'unknown-feature': (s) => `Change to ${s}`,
  'unknown-setting': (s) => `Change to ${s}`,
  'store-uri-unusable': (s) => `Change to ${s}`,
  'ssh-key-relative': (s) => `Change to ${s}`,
  'host-key-raw': () => 'Wrap the key as base64 of its key line (what ssh needs)',
  'host-key-with-host': () => 'Keep only the key line (drop the host name in front)',
  'column-missing': (s) =>
    s.startsWith('- - ') ? "Insert '-' for the missing columns" : "Insert '-' for the missing column",
  'max-jobs-zero': (s) => `Set maxJobs to ${s} (one build at a time)`,
};

/** Where the diagnostic's problem really is: in this document, or in the included file. */
function target(diagnostic: Diagnostic, document: TextDocument): { uri: string; range: Range } {
  const related = diagnostic.relatedInformation?.[0];
  const message = typeof diagnostic.message === 'string' ? diagnostic.message : diagnostic.message.value;
  const inIncluded = related && related.location.uri !== document.uri && /^In /.test(message);
  return inIncluded
    ? { uri: related.location.uri, range: related.location.range }
    : { uri: document.uri, range: diagnostic.range };
}

function edit(uri: string, range: Range, newText: string): WorkspaceEdit {
  return { changes: { [uri]: [{ range, newText }] } };
}

function fix(title: string, diagnostic: Diagnostic, workspaceEdit: WorkspaceEdit, preferred = true): CodeAction {
  return {
    title,
    kind: CodeActionKind.QuickFix,
    diagnostics: [diagnostic],
    edit: workspaceEdit,
    isPreferred: preferred,
  };
}

export async function codeActions(inputs: CodeActionInputs): Promise<CodeAction[]> {
  const actions: CodeAction[] = [];
  for (const diagnostic of inputs.diagnostics) {
    if (diagnostic.source !== diagnosticSource) continue;
    const code = diagnostic.code as ProblemCode;
    const data = (diagnostic.data ?? {}) as ProblemData;
    const where = target(diagnostic, inputs.document);
    const title = titles[code];
    if (title && typeof data.suggestion === 'string') {
      actions.push(fix(title(data.suggestion), diagnostic, edit(where.uri, where.range, data.suggestion)));
    }
    if (code === 'extra-columns') {
      const action = dropExtraColumns(diagnostic, where, inputs);
      if (action) actions.push(action);
    }
    if (code === 'ssh-key-missing' && where.uri === inputs.document.uri)
      actions.push(...missingKeyFixes(diagnostic, where.range, inputs));
    if (code === 'port-in-uri' && where.uri === inputs.document.uri)
      actions.push(...portInUriFixes(diagnostic, where.range, inputs));
    if (code === 'speed-factor-invalid') {
      const action = fixSpeedFactor(diagnostic, where, inputs);
      if (action) actions.push(action);
    }
    if (
      code === 'include-missing' &&
      typeof data.path === 'string' &&
      data.path.startsWith('/') &&
      inputs.canCreateFiles
    ) {
      const uri = pathToFileURL(data.path).toString();
      actions.push(
        fix(`Create ${data.path}`, diagnostic, {
          documentChanges: [
            { kind: 'create', uri, options: { ignoreIfExists: true } },
            {
              textDocument: { uri, version: null },
              edits: [
                {
                  range: { start: { line: 0, character: 0 }, end: { line: 0, character: 0 } },
                  newText: newMachinesFileText,
                },
              ],
            },
          ],
        }),
      );
    }
  }
  actions.push(...(await pinActions(inputs)));
  return actions;
}

function textAt(uri: string, inputs: CodeActionInputs): TextDocument | undefined {
  if (uri === inputs.document.uri) return inputs.document;
  const text = inputs.textOf(uri);
  return text === undefined ? undefined : TextDocument.create(uri, 'nix-machines', 0, text);
}

/** Removes the extra columns and the whitespace before them. */
function dropExtraColumns(
  diagnostic: Diagnostic,
  where: { uri: string; range: Range },
  inputs: CodeActionInputs,
): CodeAction | undefined {
  const document = textAt(where.uri, inputs);
  if (!document) return undefined;
  const text = document.getText();
  let start = document.offsetAt(where.range.start);
  while (start > 0 && /[ \t]/.test(text[start - 1]!)) start--;
  const range = { start: document.positionAt(start), end: where.range.end };
  return fix('Remove the columns after the eighth (Nix ignores them)', diagnostic, edit(where.uri, range, ''));
}

/** On Nix before 2.20 a fraction is rounded to a whole number; a negative one becomes 1. */
function fixSpeedFactor(
  diagnostic: Diagnostic,
  where: { uri: string; range: Range },
  inputs: CodeActionInputs,
): CodeAction | undefined {
  const document = textAt(where.uri, inputs);
  if (!document) return undefined;
  const written = document.getText(where.range);
  const value = readFloat(written);
  if (value === undefined || !Number.isFinite(value)) {
    return fix("Use '-' (speedFactor 1)", diagnostic, edit(where.uri, where.range, '-'), false);
  }
  if (value < 0) return fix('Use speedFactor 1', diagnostic, edit(where.uri, where.range, '1'));
  if (inputs.analysis.target.rules.speedFactorIsFloat) return undefined;
  const rounded = String(Math.max(1, Math.round(value)));
  return fix(
    `Round speedFactor to ${rounded} (${inputs.analysis.target.describe.split(' (')[0]} reads whole numbers only)`,
    diagnostic,
    edit(where.uri, where.range, rounded),
  );
}

/**
 * Codes that say no host key is on record (and health's future codes). Not `host-key-raw`: a
 * bare key blob is a key, to be wrapped (its own fix), not replaced by whatever the network says.
 */
const pinnable = /^host-key-(not-a-key|unknown|missing)$/;

/** Machines in one request whose known_hosts are looked up: a whole-file selection stays cheap. */
const pinLookupLimit = 20;

/**
 * "Pin the host key" only for a key nobody has on record: no key in column 8 and no known_hosts
 * entry for the host. Decided from the line and the files, whatever diagnostics the client
 * sends along, so a changed key is never one click from trusted (the command checks again).
 */
async function pinActions(inputs: CodeActionInputs): Promise<CodeAction[]> {
  const { document, range } = inputs;
  const start = document.offsetAt(range.start);
  const end = document.offsetAt(range.end);
  const actions: CodeAction[] = [];
  const lookup = {
    configFile: inputs.sshConfigFile,
    trusted: inputs.trusted,
    portInUri: inputs.analysis.target.rules.portInUri,
  };
  const touched = ownMachines(inputs.analysis).filter(
    (machine) => machine.rowSpan.end >= start && machine.rowSpan.start <= end,
  );
  for (const machine of touched.slice(0, pinLookupLimit)) {
    if (!/^ssh(-ng)?:\/\//.test(machine.storeUri)) continue;
    // Where no action could be shown (untrusted, no `disabled` support), nothing is looked up.
    const action = pinAction(machine, document, inputs);
    if (action === undefined || (await hostKeyOnRecord(machine, lookup))) continue;
    const related = inputs.diagnostics.filter(
      (d) =>
        d.source === diagnosticSource &&
        pinnable.test(String(d.code)) &&
        document.offsetAt(d.range.start) >= machine.rowSpan.start &&
        document.offsetAt(d.range.end) <= machine.rowSpan.end,
    );
    actions.push({ ...action, ...(related.length > 0 ? { kind: CodeActionKind.QuickFix, diagnostics: related } : {}) });
  }
  return actions;
}

function pinAction(machine: Machine, document: TextDocument, inputs: CodeActionInputs): CodeAction | undefined {
  const args: PinHostKeyArguments = {
    uri: document.uri,
    offset: machine.columns.storeUri.span.start,
    storeUri: machine.columns.storeUri.text,
  };
  const action: CodeAction = {
    title: `Pin the host key of ${machine.columns.storeUri.text} (fetch it over SSH)`,
    kind: CodeActionKind.RefactorRewrite,
    command: { title: 'Pin host key', command: pinHostKeyCommand, arguments: [args] },
  };
  if (inputs.trusted) return action;
  if (!inputs.disabledSupport) return undefined;
  return { ...action, disabled: { reason: 'Pinning connects to the builder: trust the workspace first.' } };
}

/** Reads a file named by a URI from disk (for fixes inside included files). */
export function readUriFromDisk(uri: string): string | undefined {
  if (!uri.startsWith('file:')) return undefined;
  return readTextOrUndefined(fileURLToPath(uri));
}
