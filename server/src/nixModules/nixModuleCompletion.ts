// Completion in a `nix.buildMachines` entry: the attribute names not set yet, with the module's
// documentation and type (`system` or `systems`, not both), and values offered as the machines
// file offers them (language/completion.ts): systems, features, hosts from the ssh config and
// known_hosts, the private keys in ~/.ssh, the protocols, the ssh config's user for the host.
// Inside a string an item is its characters; elsewhere a Nix literal (`"x86_64-linux"`, `null`,
// `[ "kvm" ]` for a list not written yet).
import { userInfo } from 'node:os';
import {
  CompletionItemKind,
  InsertTextFormat,
  MarkupKind,
  type Command,
  type CompletionItem,
} from 'vscode-languageserver';
import type { TextDocument } from 'vscode-languageserver-textdocument';
import {
  featureCandidates,
  knownHostKeys,
  sshHosts,
  systemCandidates,
  type Candidate,
  type SshFiles,
  type Vocabulary,
} from '../language/completion';
import { isPrivateKeyFile, keyDetail, pathEntries, privateKeysInHomes } from '../language/keyFiles';
import type { Span } from '../model/problem';
import { resolveSshHost } from '../ssh/sshConfig';
import { entryPlace, type EntryPlace } from './entryCursor';
import { entryOptions, type EntryOption } from './entryOptions';
import { nixStringLiteral } from './moduleProblem';

export interface NixCompletionInputs {
  document: TextDocument;
  offset: number;
  /** The system of the Nix followed here: first among the systems. */
  localSystem: string;
  /** The targeted Nix passes a port in the URI on to ssh (2.31+): known_hosts hosts with a port count. */
  portInUri: boolean;
  ssh: SshFiles;
  vocabulary: Vocabulary;
  /** The client inserts snippets (`${1:…}`). */
  snippets: boolean;
}

const retrigger: Command = { title: 'Suggest', command: 'editor.action.triggerSuggest' };
const markdown = (value: string) => ({ kind: MarkupKind.Markdown, value });
const listOptions = new Set(['systems', 'supportedFeatures', 'mandatoryFeatures']);
const nullable = (option: EntryOption) => option.default === 'null' || option.type.includes('null');

export async function nixModuleCompletions(inputs: NixCompletionInputs): Promise<CompletionItem[]> {
  const place = entryPlace(inputs.document.getText(), inputs.offset);
  if (!place) return [];
  if (place.kind === 'list') return [entryItem(place.token, inputs)];
  return place.kind === 'name' ? nameItems(place, inputs) : valueItems(place, inputs);
}

/** A whole builder entry: the host, its system (this machine's first), the user, the key, the jobs. */
function entryItem(token: Span, inputs: NixCompletionInputs): CompletionItem {
  const systems = [inputs.localSystem, ...systemCandidates(inputs.localSystem, inputs.vocabulary).map((c) => c.value)];
  const choices = [...new Set(systems)].slice(0, 6).join(',');
  const documentation = markdown(
    'A builder as NixOS declares it: `hostName` and `system` must be set; `sshUser` and `sshKey` say how root logs in (null: its own ssh config), `maxJobs` how many builds run there at once.',
  );
  const extra = {
    kind: CompletionItemKind.Snippet,
    detail: '{ hostName = …; system = …; … }',
    documentation,
    sortText: '0',
  };
  if (!inputs.snippets)
    return item(inputs, token, 'builder entry', `{ hostName = ""; system = "${inputs.localSystem}"; }`, extra);
  const snippet = `{\n  hostName = "$1";\n  system = "\${2|${choices}|}";\n  sshUser = "$3";\n  sshKey = "$4";\n  maxJobs = \${5:1};\n}$0`;
  return item(inputs, token, 'builder entry', snippet, { ...extra, insertTextFormat: InsertTextFormat.Snippet });
}

function item(inputs: NixCompletionInputs, span: Span, label: string, newText: string, extra: Partial<CompletionItem>) {
  const range = { start: inputs.document.positionAt(span.start), end: inputs.document.positionAt(span.end) };
  return { label, textEdit: { range, newText }, ...extra };
}

/** What the module says of an option, as a completion item's documentation. */
export function optionDocumentation(name: string, option: EntryOption): string {
  return `**${name}** · ${option.type}${option.default === undefined ? ' · must be set' : ` · default \`${option.default}\``}\n\n${option.description}\n\n${option.doc}\n\nIn the machines line: ${option.inLine}`;
}

// ---- attribute names -----------------------------------------------------------------------

function nameItems(place: Extract<EntryPlace, { kind: 'name' }>, inputs: NixCompletionInputs): CompletionItem[] {
  const set = new Set(
    [...place.entry.attributes.values()].filter((a) => a.nameSpan.start !== place.token.start).map((a) => a.name),
  );
  // `system` wins over `systems`: with one set, the other would only be ignored.
  const systemSet = set.has('system') || set.has('systems');
  return Object.entries(entryOptions).flatMap(([name, option], i) => {
    if (set.has(name) || (systemSet && (name === 'system' || name === 'systems'))) return [];
    const snippet = inputs.snippets && !place.hasEquals;
    const newText = place.hasEquals ? name : snippet ? `${name} = ${valueSnippet(name, option)};` : `${name} = `;
    return [
      item(inputs, place.token, name, newText, {
        kind: CompletionItemKind.Property,
        detail: `${option.type}${option.default === undefined ? ' · must be set' : ` · default ${option.default}`}`,
        documentation: markdown(optionDocumentation(name, option)),
        sortText: `${option.default === undefined || name === 'system' || name === 'systems' ? 0 : 1}${String(i).padStart(2, '0')}`,
        ...(snippet ? { insertTextFormat: InsertTextFormat.Snippet, command: retrigger } : {}),
      }),
    ];
  });
}

/** The value part of a name's snippet: the cursor where the value goes, in quotes or brackets. */
function valueSnippet(name: string, option: EntryOption): string {
  if (listOptions.has(name)) return '[ "$1" ]';
  if (option.type.includes('string') || name === 'protocol') return '"$1"';
  return `\${1:${option.default ?? ''}}`;
}

// ---- values --------------------------------------------------------------------------------

async function valueItems(
  place: Extract<EntryPlace, { kind: 'value' }>,
  inputs: NixCompletionInputs,
): Promise<CompletionItem[]> {
  const option = entryOptions[place.name];
  // After a whole value (`system = "x86_64-linux"|`) nothing fits.
  if (!option || (!place.inString && !place.inList && !place.empty)) return [];
  const typed = inputs.document.getText().slice(place.token.start, inputs.offset);
  const candidates = (await candidatesFor(place, inputs, typed)).filter((c) => !place.present.includes(c.value));
  const wrapInList = listOptions.has(place.name) && !place.inList && !place.inString;
  const items = candidates.map((c, i) => {
    const literal = nixStringLiteral(c.value);
    const newText = place.inString ? literal.slice(1, -1) : wrapInList ? `[ ${literal} ]` : literal;
    return item(inputs, place.token, c.label ?? c.value, newText, {
      kind: place.name === 'sshKey' ? CompletionItemKind.File : CompletionItemKind.Value,
      detail: c.detail,
      ...(c.documentation ? { documentation: markdown(c.documentation) } : {}),
      // The client filters on what it replaces: quotes are part of it only outside a string.
      filterText: place.inString ? c.value : literal,
      sortText: `${c.rank}${String(i).padStart(4, '0')}`,
    });
  });
  if (!place.inString && !place.inList && nullable(option)) {
    items.push(
      item(inputs, place.token, 'null', 'null', {
        kind: CompletionItemKind.Keyword,
        detail: `${place.name} = null${option.default === 'null' ? ' (the default)' : ''}`,
        documentation: markdown(`In the machines line: ${option.inLine}`),
        sortText: '9',
      }),
    );
  }
  return items;
}

async function candidatesFor(
  place: Extract<EntryPlace, { kind: 'value' }>,
  inputs: NixCompletionInputs,
  typed: string,
): Promise<Candidate[]> {
  switch (place.name) {
    case 'system':
    case 'systems':
      return systemCandidates(inputs.localSystem, inputs.vocabulary).map((c) =>
        c.value === inputs.localSystem ? { ...c, detail: 'this machine' } : c,
      );
    case 'supportedFeatures':
    case 'mandatoryFeatures':
      return featureCandidates(inputs.vocabulary);
    case 'hostName':
      return sshHosts(inputs.ssh, inputs.portInUri);
    case 'protocol':
      return [
        { value: 'ssh', detail: 'nix-store --serve on the builder (the default)', rank: 0 },
        {
          value: 'ssh-ng',
          detail: 'nix-daemon --stdio on the builder: faster, needed for content-addressed derivations',
          rank: 0,
        },
      ];
    case 'sshKey':
      return keyCandidates(inputs, typed);
    case 'sshUser':
      return userCandidates(place, inputs);
    case 'publicHostKey':
      return hostKeyCandidates(place, inputs);
    default:
      return [];
  }
}

/** The private keys in ~/.ssh (root's too when a nix-daemon runs ssh), and the files of a typed folder. */
function keyCandidates(inputs: NixCompletionInputs, typed: string): Candidate[] {
  const keys: Candidate[] = privateKeysInHomes(inputs.ssh.homes).map((key) => ({
    value: key.path,
    detail: keyDetail(key),
    rank: 1,
  }));
  if (typed.startsWith('/')) {
    for (const entry of pathEntries(typed)) {
      if (keys.some((k) => k.value === entry.path) || !(entry.isDirectory || isPrivateKeyFile(entry.path))) continue;
      keys.push({ value: entry.path, detail: entry.isDirectory ? 'folder' : 'private key', rank: 2 });
    }
  }
  return keys;
}

/** The user ssh logs in as for the entry's host, when the ssh config names one (read without running ssh). */
async function userCandidates(
  place: Extract<EntryPlace, { kind: 'value' }>,
  inputs: NixCompletionInputs,
): Promise<Candidate[]> {
  const host = place.entry.attributes.get('hostName')?.value;
  if (host?.kind !== 'string' || host.value === '') return [];
  const resolved = await resolveSshHost(
    { user: undefined, host: host.value },
    { sshBinary: null, nixSshOpts: '', ...(inputs.ssh.configFile ? { configFile: inputs.ssh.configFile } : {}) },
  );
  // Without a `User` line ssh uses the login name: that is no choice to offer.
  if (!resolved.ok || resolved.host.user === userInfo().username) return [];
  return [{ value: resolved.host.user, detail: `User of ${host.value} in the ssh config`, rank: 0 }];
}

/** The known_hosts keys of the entry's host, as the base64 of the key line NixOS wants. */
async function hostKeyCandidates(
  place: Extract<EntryPlace, { kind: 'value' }>,
  inputs: NixCompletionInputs,
): Promise<Candidate[]> {
  const host = place.entry.attributes.get('hostName')?.value;
  if (host?.kind !== 'string') return [];
  // `host:port` reaches ssh as a port only where the targeted Nix reads one from the URI.
  const [, name = host.value, port] = /^(.*?)(?::(\d+))?$/.exec(host.value) ?? [];
  const keys = await knownHostKeys(name, inputs.portInUri ? port : undefined, inputs.ssh);
  return keys.map((key) => ({
    value: key.value,
    label: key.label,
    detail: key.detail,
    documentation: `${key.documentation} which is what NixOS wants in \`publicHostKey\` (\`base64 -w0\` of the .pub line).`,
    rank: 0,
  }));
}
