// "Pin the host key" for a builder declared in Nix: on a `nix.buildMachines` entry without
// `publicHostKey` (or with the bare key where NixOS needs the base64 of the .pub line), fetch the
// builder's host key over SSH and, once the user has compared its fingerprint, write
// `publicHostKey = "<base64 -w0 of the .pub line>";`. The same flow as a machines line's
// (language/pinHostKey.ts' confirmHostKey), run on the line NixOS renders for the entry: a key
// on record (the entry's own, known_hosts) is never replaced by another; only in a trusted
// workspace, since it connects to a host the workspace names.
import { CodeActionKind, type CodeAction, type Connection, type Diagnostic } from 'vscode-languageserver';
import type { TextDocument } from 'vscode-languageserver-textdocument';
import type { NixTarget } from '../context/target';
import { changedMeanwhile, confirmHostKey, pinFailure, type PinOutcome } from '../language/pinHostKey';
import { column8Key, hostKeyOnRecord } from '../language/recordedHostKey';
import { readHostKeyColumn } from '../model/hostKey';
import { parseBuilders, type Machine } from '../model/machines';
import type { Span } from '../model/problem';
import type { DeclaredEntry } from './declarations';
import { configuredLookup, configuredSsh } from './configuredSsh';
import { nixStringLiteral } from './moduleProblem';
import type { NixModuleAnalysis } from './nixModuleAnalysis';

export const pinDeclaredHostKeyCommand = 'nixBuilders.pinDeclaredHostKey';

/** What the code action's command carries: the document, and the entry (to find it again after edits). */
export interface PinDeclaredHostKeyArguments {
  uri: string;
  /** Where the entry's `{` was. */
  offset: number;
  /** The entry's hostName. */
  hostName: string;
}

/** The machine NixOS writes for the entry; undefined while its URI or host key is known only once built. */
export function declaredMachine(rendered: { line: string; unknown: string[] }, target: NixTarget): Machine | undefined {
  if (rendered.unknown.some((name) => ['hostName', 'sshUser', 'protocol', 'publicHostKey'].includes(name)))
    return undefined;
  const parsed = parseBuilders(rendered.line, target.rules, {
    readFile: () => undefined,
    localSystem: target.localSystem,
  });
  const machine = parsed.machines[0];
  if (parsed.machines.length !== 1 || !machine) return undefined;
  // NixOS writes no scheme for `protocol = null`: Nix reads such a host as ssh://.
  return /^[a-z0-9+.-]+:\/\//i.test(machine.storeUri) ? machine : { ...machine, storeUri: `ssh://${machine.storeUri}` };
}

/** The entry's publicHostKey is the bare key: a key on record, in the form NixOS does not want. */
function holdsBareKey(entry: DeclaredEntry): boolean {
  const value = entry.attributes.get('publicHostKey')?.value;
  return value?.kind === 'string' && readHostKeyColumn(value.value).kind === 'raw-blob';
}

export interface PinActionInputs {
  document: TextDocument;
  analysis: NixModuleAnalysis;
  target: NixTarget;
  range: Span;
  diagnostics: Diagnostic[];
  trusted: boolean;
  disabledSupport: boolean;
  sshConfigFile: string | undefined;
}

/** A pin action per entry in the range whose builder has no key on record (or the bare key). */
export async function pinDeclaredActions(inputs: PinActionInputs): Promise<CodeAction[]> {
  const { document, analysis, target, range } = inputs;
  if (!inputs.trusted && !inputs.disabledSupport) return [];
  const actions: CodeAction[] = [];
  // A builder a `map` list makes has no `{ … }` of its own to write the key into: not offered.
  const made = (span: { start: number; end: number }) =>
    analysis.lists.some((l) => l.span.start === span.start && l.span.end === span.end);
  const touched = analysis.entries.filter(
    ({ entry }) => entry.span.end >= range.start && entry.span.start <= range.end && !made(entry.span),
  );
  for (const { entry, rendered } of touched.slice(0, 10)) {
    const hostName = entry.attributes.get('hostName')?.value;
    const machine = hostName?.kind === 'string' ? declaredMachine(rendered, target) : undefined;
    if (!machine || hostName?.kind !== 'string' || !/^ssh(-ng)?:\/\//.test(machine.storeUri)) continue;
    const bare = holdsBareKey(entry);
    // Nothing is looked up where no action could be shown; a key on record is not to be replaced.
    if (inputs.trusted && !bare) {
      const ssh = sshFor(analysis, hostName.value, inputs.sshConfigFile);
      const lookup = { configFile: ssh.configFile, trusted: ssh.sshTrusted, portInUri: target.rules.portInUri };
      if (await hostKeyOnRecord(machine, lookup)) continue;
    }
    const args: PinDeclaredHostKeyArguments = { uri: document.uri, offset: entry.span.start, hostName: hostName.value };
    const action: CodeAction = {
      title: `Pin the host key of ${hostName.value} as publicHostKey (fetch it over SSH)`,
      kind: CodeActionKind.RefactorRewrite,
      command: { title: 'Pin host key', command: pinDeclaredHostKeyCommand, arguments: [args] },
    };
    const related = inputs.diagnostics.filter((d) => {
      const at = document.offsetAt(d.range.start);
      return /^host-key/.test(String(d.code)) && at >= entry.span.start && at <= entry.span.end;
    });
    if (related.length > 0) Object.assign(action, { kind: CodeActionKind.QuickFix, diagnostics: related });
    actions.push(
      inputs.trusted
        ? action
        : { ...action, disabled: { reason: 'Pinning connects to the builder: trust the workspace first.' } },
    );
  }
  return actions;
}

export interface PinDeclaredDependencies {
  connection: Connection;
  document: (uri: string) => TextDocument | undefined;
  analysis: (document: TextDocument) => Promise<{ analysis: NixModuleAnalysis | undefined; target: NixTarget }>;
  trusted: () => boolean;
  sshConfigFile: (uri: string) => Promise<string | undefined>;
}

/**
 * The ssh config the builder is looked up in: the configuration's own ssh settings when they
 * name its host (as the daemon's ssh reads them after a rebuild), else the user's.
 */
function sshFor(
  analysis: NixModuleAnalysis,
  hostName: string,
  userConfig: string | undefined,
): { configFile: string | undefined; sshTrusted: boolean; via?: string; knownHostsNamed?: Map<string, string> } {
  const lookup = configuredLookup(configuredSsh(analysis.declarations), hostName, userConfig);
  return lookup ? { ...lookup, sshTrusted: false } : { configFile: userConfig, sshTrusted: true };
}

/** The entry with this hostName nearest to where it was. */
function findEntry(
  analysis: NixModuleAnalysis | undefined,
  args: PinDeclaredHostKeyArguments,
): NixModuleAnalysis['entries'][number] | undefined {
  let best: NixModuleAnalysis['entries'][number] | undefined;
  for (const found of analysis?.entries ?? []) {
    const host = found.entry.attributes.get('hostName')?.value;
    if (host?.kind !== 'string' || host.value !== args.hostName) continue;
    if (!best || Math.abs(found.entry.span.start - args.offset) < Math.abs(best.entry.span.start - args.offset))
      best = found;
  }
  return best;
}

export async function pinDeclaredHostKey(
  args: PinDeclaredHostKeyArguments,
  deps: PinDeclaredDependencies,
): Promise<PinOutcome> {
  const fail = pinFailure(deps.connection);
  if (!deps.trusted())
    return fail('the workspace is not trusted, so no connection is made. Trust the workspace to pin host keys.');
  const gone = () => fail(`the builder ${args.hostName} is no longer in nix.buildMachines.`);
  const document = deps.document(args.uri);
  if (!document) return gone();
  const { analysis, target } = await deps.analysis(document);
  const found = findEntry(analysis, args);
  const machine = found && declaredMachine(found.rendered, target);
  if (!machine) return gone();
  const confirmed = await confirmHostKey(machine, {
    connection: deps.connection,
    portInUri: target.rules.portInUri,
    ...sshFor(analysis!, args.hostName, await deps.sshConfigFile(args.uri)),
    fail,
  });
  if ('pinned' in confirmed) return confirmed;

  // The text may have changed while the user read the prompt: the entry again, and its key now.
  const now = deps.document(args.uri);
  const nowAnalysis = now && (await deps.analysis(now));
  const nowFound = nowAnalysis && findEntry(nowAnalysis.analysis, args);
  const nowMachine = nowFound && declaredMachine(nowFound.rendered, nowAnalysis.target);
  if (!now || !nowFound || !nowMachine) return gone();
  const changed = changedMeanwhile(confirmed, column8Key(nowMachine));
  if (changed !== undefined) return fail(changed);
  const edit = publicHostKeyEdit(now.getText(), nowFound.entry, confirmed.fetched.column8);
  const result = await deps.connection.workspace.applyEdit({
    label: `Pin the host key of ${args.hostName}`,
    edit: {
      changes: {
        [args.uri]: [
          {
            range: { start: now.positionAt(edit.span.start), end: now.positionAt(edit.span.end) },
            newText: edit.newText,
          },
        ],
      },
    },
  });
  if (!result.applied)
    return fail(`the editor did not apply the edit${result.failureReason ? ` (${result.failureReason})` : ''}.`);
  return { pinned: true, keyLine: confirmed.fetched.line, fingerprint: confirmed.key.fingerprint };
}

/** `publicHostKey = "…";` in place of the entry's value, or a new binding in the entry's layout. */
export function publicHostKeyEdit(text: string, entry: DeclaredEntry, base64: string): { span: Span; newText: string } {
  const literal = nixStringLiteral(base64);
  const existing = entry.attributes.get('publicHostKey');
  if (existing) return { span: existing.valueSpan, newText: literal };
  const close = entry.span.end - 1;
  const lineStart = text.lastIndexOf('\n', close - 1) + 1;
  if (lineStart > entry.span.start && text.slice(lineStart, close).trim() === '') {
    // One attribute a line: a line of its own before the `}`, indented as the last attribute.
    const last = [...entry.attributes.values()].sort((a, b) => a.nameSpan.start - b.nameSpan.start).at(-1);
    const from = last ? text.lastIndexOf('\n', last.nameSpan.start - 1) + 1 : lineStart;
    const indent = /^[ \t]*/.exec(text.slice(from))![0];
    return { span: { start: lineStart, end: lineStart }, newText: `${indent}publicHostKey = ${literal};\n` };
  }
  const spaced = /\s/.test(text[close - 1] ?? '');
  return { span: { start: close, end: close }, newText: `${spaced ? '' : ' '}publicHostKey = ${literal}; ` };
}
