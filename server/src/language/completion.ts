// Completion by column: what fits where the cursor is, as the targeted Nix splits the line.
// Column 1 offers schemes, the user's ssh `Host` aliases and known_hosts hosts, and a whole
// machine line; the others offer systems, keys, typical numbers, features and known host keys.
// In nix.conf: setting names, and inside `builders = …` the same as a machines file.
import { availableParallelism, homedir } from 'node:os';
import {
  CompletionItemKind,
  InsertTextFormat,
  MarkupKind,
  type CompletionItem,
  type CompletionList,
  type Command,
} from 'vscode-languageserver';
import type { TextDocument } from 'vscode-languageserver-textdocument';
import { hostKeyColumnFor, parsePublicKeyLine } from '../model/hostKey';
import { knownSettings } from '../model/knownSettings';
import { commonFeatures } from '../model/lint/columns';
import { nearest } from '../model/nearest';
import { storeUriAsNixReadsIt } from '../model/machines';
import { parseStoreUri } from '../model/storeUri';
import { commonSystems, describeSystem, knownSystems } from '../model/systems';
import type { Span } from '../model/problem';
import { sshHostAliases } from '../ssh/hostAliases';
import { knownHostsFiles, plainHostNames, plainKeysFor, readKnownHostsFile } from '../ssh/knownHosts';
import { knownHostsName, resolveSshHost } from '../ssh/sshConfig';
import type { Analysis } from './analysis';
import { columnInfo, describeFeature } from './columnInfo';
import { placeInBuilders, placeInNixConf, type ColumnPlace, type CursorPlace } from './cursor';
import { isPrivateKeyFile, keyDetail, pathEntries, privateKeysInHomes } from './keyFiles';
import { keygenLine } from './keyDescription';
import { remoteBuildSettingDocs } from './settingDocs';

/** Systems and features the open machines files and nix.confs already use. */
export interface Vocabulary {
  systems: ReadonlySet<string>;
  features: ReadonlySet<string>;
}

export interface SshFiles {
  /** Homes whose ~/.ssh counts: the user's, and root's when a nix-daemon runs ssh. */
  homes: readonly string[];
  /** `nixBuilders.sshConfigFile`, or undefined for ~/.ssh/config. */
  configFile: string | undefined;
}

export interface CompletionInputs {
  document: TextDocument;
  offset: number;
  analysis: Analysis;
  vocabulary: Vocabulary;
  ssh: SshFiles;
  /** The client inserts snippets (`${1:…}`). */
  snippets: boolean;
}

const retrigger: Command = { title: 'Suggest', command: 'editor.action.triggerSuggest' };

export async function completions(inputs: CompletionInputs): Promise<CompletionList> {
  const { document, offset, analysis } = inputs;
  const text = document.getText();
  const place: CursorPlace =
    analysis.kind === 'nix-conf'
      ? placeInNixConf(text, offset, analysis.target.rules)
      : placeInBuilders(text, offset, analysis.target.rules);
  const items = await itemsFor(place, inputs, text);
  return { isIncomplete: false, items };
}

async function itemsFor(place: CursorPlace, inputs: CompletionInputs, text: string): Promise<CompletionItem[]> {
  switch (place.kind) {
    case 'nothing':
    case 'comment':
    case 'conf-value':
      return [];
    case 'conf-name':
      return settingNames(place.token.span, inputs);
    case 'include':
      return includePaths(place.path.text, place.path.span, inputs);
    case 'column':
      return columnItems(place, inputs, text);
  }
}

/** An item that replaces `span` with `newText`. */
function item(
  inputs: CompletionInputs,
  span: Span,
  label: string,
  newText: string,
  extra: Partial<CompletionItem> = {},
): CompletionItem {
  const range = { start: inputs.document.positionAt(span.start), end: inputs.document.positionAt(span.end) };
  return { label, textEdit: { range, newText }, ...extra };
}

const markdown = (value: string) => ({ kind: MarkupKind.Markdown, value });

async function columnItems(place: ColumnPlace, inputs: CompletionInputs, text: string): Promise<CompletionItem[]> {
  const typed = text.slice(place.token.span.start, inputs.offset);
  switch (place.index) {
    case 0:
      return storeUriItems(place, typed, inputs);
    case 1:
      return listItems(place, inputs, text, systemCandidates(inputs.analysis.target.localSystem, inputs.vocabulary));
    case 2:
      return keyItems(place, typed, inputs);
    case 3:
      return numberItems(place, inputs, 'maxJobs', [
        ['1', 'one build at a time (the default)'],
        ['2', 'a small machine'],
        ['4', 'about 4 cores'],
        ['8', 'about 8 cores'],
        ['16', 'a large builder'],
        ['32', 'a build server'],
      ]);
    case 4: {
      const fractions = inputs.analysis.target.rules.speedFactorIsFloat;
      const values: [string, string][] = [
        ['1', 'as fast as the others (the default)'],
        ['2', 'twice as fast: preferred over a machine with 1'],
        ['4', 'much faster'],
        ['10', 'strongly preferred over machines with 1'],
      ];
      if (fractions) values.splice(1, 0, ['1.5', 'a little faster (fractions need Nix 2.20 or later)']);
      return numberItems(place, inputs, 'speedFactor', values);
    }
    case 5:
    case 6:
      return listItems(place, inputs, text, featureCandidates(inputs.vocabulary));
    case 7:
      return hostKeyItems(place, inputs);
    default:
      return [];
  }
}

function dash(place: ColumnPlace, inputs: CompletionInputs): CompletionItem {
  const info = columnInfo[place.index]!;
  return item(inputs, place.token.span, '-', '-', {
    kind: CompletionItemKind.Constant,
    detail: `default: ${info.default.replace(/`/g, '')}`,
    documentation: markdown(`**${info.title}** (column ${info.number}): \`-\` uses the default, ${info.default}.`),
    sortText: '0',
  });
}

// ---- column 1: the store URI -------------------------------------------------------------

function storeUriItems(place: ColumnPlace, typed: string, inputs: CompletionInputs): CompletionItem[] {
  const items: CompletionItem[] = [];
  const span = place.token.span;
  const scheme = /^(ssh|ssh-ng):\/\//.exec(typed)?.[0] ?? '';
  const rest = typed.slice(scheme.length);
  const at = rest.lastIndexOf('@');
  const user = at >= 0 ? rest.slice(0, at + 1) : '';
  const rules = inputs.analysis.target.rules;

  if (scheme === '' && user === '') {
    items.push(
      item(inputs, span, 'ssh://', 'ssh://', {
        kind: CompletionItemKind.Module,
        detail: 'Nix runs nix-store --serve on the builder',
        documentation: markdown(
          'The classic protocol: Nix copies paths with `nix-store --serve` over ssh. Works with any Nix on the builder.',
        ),
        sortText: '1a',
        command: retrigger,
      }),
      item(inputs, span, 'ssh-ng://', 'ssh-ng://', {
        kind: CompletionItemKind.Module,
        detail: 'Nix talks to nix-daemon --stdio on the builder',
        documentation: markdown(
          'The daemon protocol: faster, and needed for content-addressed derivations; the builder runs `nix-daemon --stdio` as the SSH user.',
        ),
        sortText: '1b',
        command: retrigger,
      }),
    );
  }

  for (const known of sshHosts(inputs.ssh, rules.portInUri)) {
    items.push(
      item(inputs, span, known.value, `${scheme || 'ssh://'}${user}${known.value}`, {
        kind: CompletionItemKind.Reference,
        detail: known.detail,
        documentation: markdown(known.documentation!),
        filterText: `${scheme}${user}${known.value}`,
        sortText: `${known.rank + 2}${known.value}`,
      }),
    );
  }

  if (typed === '' || scheme === typed) items.push(machineSnippet(place, inputs, scheme));
  if (place.inConf && place.includeStart !== undefined) {
    items.push(
      item(inputs, { start: place.includeStart, end: span.end }, '@/etc/nix/machines', '@/etc/nix/machines', {
        kind: CompletionItemKind.File,
        detail: 'include the machines file (the default of builders)',
        documentation: markdown(
          'Reads more machines from `/etc/nix/machines`, where NixOS writes `nix.buildMachines`.',
        ),
        sortText: '0b',
      }),
    );
  }
  return items;
}

function machineSnippet(place: ColumnPlace, inputs: CompletionInputs, scheme: string): CompletionItem {
  const systems = [
    inputs.analysis.target.localSystem,
    ...commonSystems.filter((s) => s !== inputs.analysis.target.localSystem),
  ];
  const label = 'machine line';
  const documentation = markdown(
    'A whole builder: `URI systems key maxJobs speedFactor features mandatory hostKey`. Tab moves from column to column; `-` keeps a default.',
  );
  if (!inputs.snippets) {
    return item(inputs, place.token.span, label, `${scheme || 'ssh://'}user@host ${systems[0]} - 1 1 - - -`, {
      kind: CompletionItemKind.Snippet,
      documentation,
      sortText: '0a',
    });
  }
  const schemeChoice = scheme ? scheme.replace(/[$}\\]/g, '\\$&') : '${1|ssh://,ssh-ng://|}';
  const snippet = `${schemeChoice}\${2:user@host} \${3|${systems.join(',')}|} \${4:-} \${5:1} \${6:1} \${7:-} \${8:-} \${9:-}$0`;
  return item(inputs, place.token.span, label, snippet, {
    kind: CompletionItemKind.Snippet,
    insertTextFormat: InsertTextFormat.Snippet,
    detail: 'ssh://user@host system - 1 1 - - -',
    documentation,
    sortText: '0a',
  });
}

/** A value to offer, with why (`rank` orders the groups: 0 first). */
export interface Candidate {
  value: string;
  /** What the list shows, when not the value itself (a key's fingerprint). */
  label?: string;
  detail: string;
  documentation?: string;
  rank: number;
}

/**
 * The hosts a builder may be: the ssh config's `Host` aliases (rank 0), then the known_hosts
 * hosts (rank 1), those with a port only where the targeted Nix passes a URI's port to ssh.
 */
export function sshHosts(ssh: SshFiles, portInUri: boolean): Candidate[] {
  const hosts = new Map<string, Candidate>();
  const host = (value: string, detail: string, documentation: string, rank: number) => {
    if (!hosts.has(value)) hosts.set(value, { value, detail, documentation, rank });
  };
  for (const alias of sshHostAliases(ssh.configFile, homedir())) {
    const target = alias.hostName ? ` → ${alias.hostName}` : '';
    host(alias.alias, `ssh config Host${target}`, `\`Host ${alias.alias}\` in ${alias.file}${target}`, 0);
  }
  for (const known of plainHostNames(knownHostsFiles(ssh.homes).flatMap(readKnownHostsFile))) {
    // A port reaches ssh from the URI only from Nix 2.31; before, it needs a Host entry.
    if (known.port !== undefined && !portInUri) continue;
    host(known.port !== undefined ? `${known.host}:${known.port}` : known.host, 'known_hosts', `In ${known.file}`, 1);
  }
  return [...hosts.values()];
}

// ---- comma lists: systems (2), features (6, 7) ---------------------------------------------

/** Systems to offer: this machine's, the common ones, those the workspace uses, every known one. */
export function systemCandidates(local: string, vocabulary: Vocabulary): Candidate[] {
  const candidates = new Map<string, Candidate>();
  const add = (value: string, detail: string, rank: number) => {
    if (!candidates.has(value))
      candidates.set(value, { value, detail, documentation: describeSystem(value) ?? '', rank });
  };
  add(local, 'this machine (the default of this column)', 0);
  commonSystems.forEach((s) => add(s, describeSystem(s) ?? '', 1));
  for (const s of vocabulary.systems) if (knownSystems.has(s)) add(s, 'used in the workspace', 2);
  for (const s of knownSystems) add(s, describeSystem(s) ?? '', 3);
  return [...candidates.values()];
}

/** Features to offer: the well-known ones, and those the workspace uses (not near misses of them). */
export function featureCandidates(vocabulary: Vocabulary): Candidate[] {
  const candidates = new Map<string, Candidate>();
  commonFeatures.forEach((f) =>
    candidates.set(f, { value: f, detail: 'system feature', documentation: describeFeature(f) ?? '', rank: 1 }),
  );
  for (const f of vocabulary.features) {
    // A near miss of a well-known feature is a typo (it has its own warning): not offered.
    if (!candidates.has(f) && nearest(f, commonFeatures, 2) === undefined)
      candidates.set(f, {
        value: f,
        detail: 'used in the workspace',
        documentation: describeFeature(f) ?? '',
        rank: 2,
      });
  }
  return [...candidates.values()];
}

function listItems(
  place: ColumnPlace,
  inputs: CompletionInputs,
  text: string,
  candidates: Candidate[],
): CompletionItem[] {
  const token = place.token;
  const before = text.slice(token.span.start, inputs.offset);
  const comma = before.lastIndexOf(',');
  const itemStart = token.span.start + comma + 1;
  const nextComma = token.text.indexOf(',', inputs.offset - token.span.start);
  const itemEnd = nextComma < 0 ? token.span.end : token.span.start + nextComma;
  const present = new Set(token.text.split(','));
  present.delete(text.slice(itemStart, itemEnd));
  const items: CompletionItem[] = [];
  if (comma < 0 && (token.text === '' || token.text === '-')) items.push(dash(place, inputs));
  for (const c of candidates) {
    if (present.has(c.value)) continue;
    items.push(
      item(inputs, { start: itemStart, end: itemEnd }, c.value, c.value, {
        kind: CompletionItemKind.EnumMember,
        detail: c.detail,
        ...(c.documentation ? { documentation: markdown(c.documentation) } : {}),
        sortText: `${c.rank}${String(items.length).padStart(4, '0')}`,
      }),
    );
  }
  return items;
}

// ---- column 3: the SSH key -----------------------------------------------------------------

function keyItems(place: ColumnPlace, typed: string, inputs: CompletionInputs): CompletionItem[] {
  const span = place.token.span;
  const items: CompletionItem[] = [];
  if (typed === '' || typed === '-') items.push(dash(place, inputs));
  const seen = new Set<string>();
  for (const key of privateKeysInHomes(inputs.ssh.homes)) {
    seen.add(key.path);
    items.push(
      item(inputs, span, key.path, key.path, {
        kind: CompletionItemKind.File,
        detail: keyDetail(key),
        sortText: `1${key.path}`,
      }),
    );
  }
  // A typed path lists its directory, but column 3 takes a private key: no `.pub`, no notes.
  if (typed.startsWith('/') || typed.startsWith('~/')) {
    items.push(...pathItems(typed, span, inputs, '2', isPrivateKeyFile).filter((entry) => !seen.has(entry.label)));
  }
  return items;
}

/** Directory entries for a typed path (`~/` is the first home, as ssh expands it). */
function pathItems(
  typed: string,
  span: Span,
  inputs: CompletionInputs,
  rank: string,
  fileFits: (path: string) => boolean = () => true,
): CompletionItem[] {
  const home = inputs.ssh.homes[0] ?? '/';
  const tilde = typed.startsWith('~/');
  const absolute = tilde ? `${home}${typed.slice(1)}` : typed;
  return pathEntries(absolute)
    .filter((entry) => entry.isDirectory || fileFits(entry.path))
    .map((entry) => {
      const shown = tilde ? `~${entry.path.slice(home.length)}` : entry.path;
      return item(inputs, span, shown, shown, {
        kind: entry.isDirectory ? CompletionItemKind.Folder : CompletionItemKind.File,
        sortText: `${rank}${shown}`,
        ...(entry.isDirectory ? { command: retrigger } : {}),
      });
    });
}

function includePaths(typed: string, span: Span, inputs: CompletionInputs): CompletionItem[] {
  const items: CompletionItem[] = [];
  if (typed === '') {
    items.push(
      item(inputs, span, '/etc/nix/machines', '/etc/nix/machines', {
        kind: CompletionItemKind.File,
        detail: 'the default machines file',
        sortText: '0',
      }),
    );
  }
  if (typed.startsWith('/')) items.push(...pathItems(typed, span, inputs, '1'));
  return items;
}

// ---- columns 4, 5: numbers -----------------------------------------------------------------

function numberItems(
  place: ColumnPlace,
  inputs: CompletionInputs,
  name: string,
  values: [string, string][],
): CompletionItem[] {
  const info = columnInfo[place.index]!;
  const documentation = markdown(
    name === 'maxJobs'
      ? `${info.meaning} A common choice is the builder's number of cores (this machine has ${availableParallelism()}).`
      : info.meaning,
  );
  const items = [dash(place, inputs)];
  values.forEach(([value, note], i) => {
    items.push(
      item(inputs, place.token.span, value, value, {
        kind: CompletionItemKind.Value,
        detail: `${name} ${value}: ${note}`,
        documentation,
        sortText: `1${String(i).padStart(2, '0')}`,
      }),
    );
  });
  return items;
}

// ---- column 8: the host key ----------------------------------------------------------------

async function hostKeyItems(place: ColumnPlace, inputs: CompletionInputs): Promise<CompletionItem[]> {
  const items = [dash(place, inputs)];
  const uri = place.tokens[0]?.text;
  if (uri === undefined || uri === '-') return items;
  const parts = parseStoreUri(storeUriAsNixReadsIt(uri));
  const port = inputs.analysis.target.rules.portInUri ? parts.port : undefined;
  for (const known of await knownHostKeys(parts.host, port, inputs.ssh)) {
    items.push(
      item(inputs, place.token.span, known.label, known.value, {
        kind: CompletionItemKind.Value,
        detail: known.detail,
        documentation: markdown(`${known.documentation} which is what Nix wants in column 8.`),
        filterText: known.value,
        sortText: `1${known.type}`,
      }),
    );
  }
  return items;
}

/** A host key on record for a builder, as the machines file's column 8 (and `publicHostKey`) takes it. */
export interface KnownHostKey {
  /** `ssh-ed25519 SHA256:…` */
  label: string;
  /** The base64 of the key line. */
  value: string;
  type: string;
  detail: string;
  /** Where it is from (Markdown), ending before the words about where it goes. */
  documentation: string;
}

/**
 * The keys the known_hosts files hold for `host` (on `port`, where the targeted Nix passes one
 * to ssh), looked up as ssh would: under HostKeyAlias, else HostName (the ssh config read here
 * without running ssh), and under the name itself, which ssh-keyscan writes entries under.
 */
export async function knownHostKeys(host: string, port: string | undefined, ssh: SshFiles): Promise<KnownHostKey[]> {
  if (host === '') return [];
  const names = new Set<string>([
    knownHostsName({ hostKeyAlias: undefined, hostName: host, port: port === undefined ? 22 : Number(port) }),
  ]);
  const resolved = await resolveSshHost(
    { user: undefined, host },
    {
      sshBinary: null,
      nixSshOpts: '',
      ...(ssh.configFile ? { configFile: ssh.configFile } : {}),
      ...(port !== undefined ? { port } : {}),
    },
  );
  if (resolved.ok) names.add(knownHostsName(resolved.host));
  // The configured ssh config may name its own known_hosts (UserKnownHostsFile): ssh reads those.
  const configured = resolved.ok ? [...resolved.host.userKnownHostsFiles, ...resolved.host.globalKnownHostsFiles] : [];
  const entries = [...new Set([...configured, ...knownHostsFiles(ssh.homes)])].flatMap(readKnownHostsFile);
  const seen = new Set<string>();
  const keys: KnownHostKey[] = [];
  for (const name of names) {
    for (const known of plainKeysFor(name, entries)) {
      const keyLine = `${known.keyType} ${known.key.toString('base64')}`;
      if (seen.has(keyLine)) continue;
      seen.add(keyLine);
      const key = parsePublicKeyLine(keyLine);
      if (!key) continue;
      keys.push({
        label: `${key.type} ${key.fingerprint}`,
        value: hostKeyColumnFor(keyLine),
        type: key.type,
        detail: `known_hosts key of ${name}`,
        documentation: `\`${keygenLine(key)}\`\n\nFrom ${known.file}; inserted as base64 of the key line,`,
      });
    }
  }
  return keys;
}

// ---- nix.conf setting names ----------------------------------------------------------------

function settingNames(span: Span, inputs: CompletionInputs): CompletionItem[] {
  const text = inputs.document.getText();
  const lineEnd = text.indexOf('\n', span.end);
  const restOfLine = text.slice(span.end, lineEnd < 0 ? text.length : lineEnd);
  const addEquals = restOfLine.split('#')[0]!.trim() === '';
  const items: CompletionItem[] = [];
  const documented = new Set<string>();
  remoteBuildSettingDocs.forEach((doc, i) => {
    documented.add(doc.name);
    items.push(
      item(inputs, span, doc.name, addEquals ? `${doc.name} = ` : doc.name, {
        kind: CompletionItemKind.Property,
        detail: `default: ${doc.default}`,
        documentation: markdown(`${doc.doc}\n\nDefault: \`${doc.default}\``),
        sortText: `0${String(i).padStart(2, '0')}`,
        ...(addEquals && doc.name === 'builders' ? { command: retrigger } : {}),
      }),
    );
  });
  for (const name of [...knownSettings].sort()) {
    if (documented.has(name)) continue;
    items.push(
      item(inputs, span, name, addEquals ? `${name} = ` : name, {
        kind: CompletionItemKind.Property,
        sortText: `1${name}`,
      }),
    );
  }
  return items;
}
