// Hovers: for every column its name, meaning and default, and the value as Nix will read it;
// on a system or feature what it means; on the host the SSH settings ssh will use; on the host
// key its type and fingerprint as `ssh-keygen -lf` prints them. In nix.conf also the settings.
import { MarkupKind, type Hover } from 'vscode-languageserver';
import type { TextDocument } from 'vscode-languageserver-textdocument';
import { readHostKeyColumn } from '../model/hostKey';
import { expandTilde, inspectIdentityFile } from '../model/identityFile';
import { isKnownSetting } from '../model/knownSettings';
import { commaItems } from '../model/lint/place';
import type { BuildersInclude, Machine } from '../model/machines';
import { base64Refusal, readFloat, readUnsignedInt } from '../model/nixStrings';
import type { Span } from '../model/problem';
import { parseStoreUri } from '../model/storeUri';
import { describeSystem, knownSystems } from '../model/systems';
import type { Analysis } from './analysis';
import { columnInfo, describeFeature } from './columnInfo';
import { columnAt, includeAt, type ColumnHit } from './documentMachines';
import { keygenLine } from './keyDescription';
import { settingDoc } from './settingDocs';
import { describeConfigFile, lookUpSshSettings, requestFor } from './sshLookup';

export interface HoverInputs {
  document: TextDocument;
  offset: number;
  analysis: Analysis;
  /** `ssh -G` may run. */
  trusted: boolean;
  sshConfigFile: string | undefined;
}

export async function hover(inputs: HoverInputs): Promise<Hover | null> {
  const { analysis, offset } = inputs;
  const hit = columnAt(analysis, offset);
  if (hit) return columnHover(hit, inputs);
  const include = includeAt(analysis, offset);
  if (include) return answer(inputs, include.span, includeHover(include, analysis));
  if (analysis.kind === 'nix-conf') {
    const setting = analysis.conf?.settings.find(
      (s) => s.file === undefined && s.nameSpan.start <= offset && offset < s.nameSpan.end,
    );
    if (setting) {
      const doc = settingDoc(setting.name);
      const known = isKnownSetting(setting.name);
      const value = doc
        ? `**${setting.name}** (nix.conf)\n\n${doc.doc}\n\nDefault: \`${doc.default}\``
        : known
          ? `**${setting.name}**: a Nix setting (see \`man nix.conf\`).`
          : undefined;
      if (value) return answer(inputs, setting.nameSpan, value);
    }
  }
  return null;
}

function answer(inputs: HoverInputs, span: Span, value: string): Hover {
  return {
    contents: { kind: MarkupKind.Markdown, value },
    range: { start: inputs.document.positionAt(span.start), end: inputs.document.positionAt(span.end) },
  };
}

const code = (text: string) => `\`${text.replace(/`/g, "'")}\``;

async function columnHover(hit: ColumnHit, inputs: HoverInputs): Promise<Hover> {
  const { index, column } = hit;
  if (index >= 8) {
    return answer(
      inputs,
      column.span,
      `**column ${index + 1}**: Nix reads eight columns and ignores ${code(column.text)} without a word.`,
    );
  }
  const info = columnInfo[index]!;
  // Where a forgotten column shifts the line, the hover says so before it says what Nix reads.
  const shifted = inputs.analysis.problems.find(
    (p) => p.code === 'column-missing' && p.file === undefined && p.span.start === column.span.start,
  );
  const warning = shifted === undefined ? '' : `⚠ ${shifted.message}\n\n---\n\n`;
  const heading = `${warning}**${info.title}** · column ${info.number}\n\n${info.meaning}\n\nDefault: ${info.default}`;
  const value = await valueText(hit, inputs);
  // On a system or a feature, the hover is about that one item.
  if (column.isSet && (index === 1 || index === 5 || index === 6)) {
    const item = commaItems(column).find((i) => i.span.start <= inputs.offset && inputs.offset < i.span.end);
    if (item) {
      const meaning = index === 1 ? systemMeaning(item.text) : featureMeaning(item.text);
      return answer(inputs, item.span, `${code(item.text)}: ${meaning}\n\n---\n\n${heading}\n\n${value}`);
    }
  }
  return answer(inputs, column.span, `${heading}\n\n${value}`);
}

function systemMeaning(system: string): string {
  if (knownSystems.has(system)) return describeSystem(system) ?? 'a system Nix builds for.';
  return 'not a system any derivation is built for: no build comes here for it.';
}

function featureMeaning(feature: string): string {
  return (
    describeFeature(feature) ??
    'a feature of your own: derivations that list it in `requiredSystemFeatures` can come here.'
  );
}

const unset = (hit: ColumnHit) => !hit.column.isSet;

async function valueText(hit: ColumnHit, inputs: HoverInputs): Promise<string> {
  const { machine, column } = hit;
  const rules = inputs.analysis.target.rules;
  switch (hit.index) {
    case 0:
      return storeUriValue(machine, inputs);
    case 1: {
      if (unset(hit))
        return `As Nix reads it: ${code('-')}, so the local system ${code(inputs.analysis.target.localSystem)}.`;
      if (machine.systems.length === 0) return 'As Nix reads it: no systems at all, so no derivation ever comes here.';
      return `As Nix reads it: ${machine.systems.map(code).join(', ')}.`;
    }
    case 2: {
      if (unset(hit)) return 'As Nix reads it: no `-i`; ssh uses its own identities.';
      const home = inputs.analysis.target.keyHome;
      const path = expandTilde(column.text, home);
      const who = inputs.analysis.target.daemon ? 'root (the nix-daemon runs ssh)' : 'you';
      if (!path.startsWith('/'))
        return `As Nix reads it: ssh gets ${code(`-i ${column.text}`)}, relative to the directory ssh runs in.`;
      const state = inspectIdentityFile(column.text, home);
      const what =
        state.kind === 'ok'
          ? `a ${state.type} private key without a passphrase`
          : state.kind === 'missing'
            ? 'missing'
            : state.kind === 'encrypted'
              ? 'protected by a passphrase, which ssh under Nix cannot ask for'
              : state.kind === 'unreadable'
                ? `unreadable (${state.reason})`
                : `not a private key (${state.reason})`;
      return `As Nix reads it: ssh gets ${code(`-i ${column.text}`)}${path !== column.text ? ` (${code(path)})` : ''}, run by ${who}. The file is ${what}.`;
    }
    case 3: {
      if (unset(hit)) return 'As Nix reads it: maxJobs 1: one build at a time.';
      if (readUnsignedInt(column.text) === undefined)
        return `As Nix reads it: ${code(column.text)} is not a whole number, so Nix rejects the whole builders list.`;
      if (machine.maxJobs === 0) return 'As Nix reads it: maxJobs 0: Nix never gives this machine a job.';
      return `As Nix reads it: maxJobs ${machine.maxJobs}: up to ${machine.maxJobs} build${machine.maxJobs === 1 ? '' : 's'} at once.`;
    }
    case 4: {
      if (unset(hit)) return 'As Nix reads it: speedFactor 1.';
      const value = rules.speedFactorIsFloat ? readFloat(column.text) : readUnsignedInt(column.text);
      if (value === undefined) {
        return rules.speedFactorIsFloat || readFloat(column.text) === undefined
          ? `As Nix reads it: ${code(column.text)} is not a number, so Nix rejects the whole builders list.`
          : `As Nix reads it: ${inputs.analysis.target.describe} reads whole numbers only (fractions need Nix 2.20), so it rejects the whole builders list.`;
      }
      if (value < 0) return 'As Nix reads it: a negative speedFactor is an error ("speed factor must be >= 0").';
      if (value === 0) return 'As Nix reads it: speedFactor 0 becomes 1.';
      return `As Nix reads it: speedFactor ${machine.speedFactor}${machine.speedFactor === 1 ? ' (the default)' : ''}.`;
    }
    case 5:
    case 6: {
      const features = hit.index === 5 ? machine.supportedFeatures : machine.mandatoryFeatures;
      if (unset(hit) || features.length === 0) return 'As Nix reads it: none.';
      const list = features.map(code).join(', ');
      return hit.index === 5
        ? `As Nix reads it (a set, sorted): ${list}.`
        : `As Nix reads it (a set, sorted): ${list}. Only derivations that require ${features.length === 1 ? 'it' : 'all of them'} are built here.`;
    }
    case 7:
      return hostKeyValue(hit);
    default:
      return '';
  }
}

function hostKeyValue(hit: ColumnHit): string {
  if (unset(hit)) return 'As Nix reads it: no host key; ssh checks known_hosts.';
  const text = hit.column.text;
  if (base64Refusal(text) !== undefined) return 'As Nix reads it: not base64, so Nix rejects the whole builders list.';
  const reading = readHostKeyColumn(text);
  if (reading.kind === 'not-a-key')
    return 'As Nix reads it: base64, but it does not decode to an SSH public key line, so ssh will not recognise the host.';
  const key = reading.key;
  const lines = [
    `- type: ${code(key.type)}`,
    `- fingerprint: ${code(key.fingerprint)}`,
    `- comment: ${key.comment ? code(key.comment) : '(none)'}`,
    '',
    `\`ssh-keygen -lf\` prints: ${code(keygenLine(key))}`,
  ];
  const intro =
    reading.kind === 'raw-blob'
      ? 'As Nix reads it: the bare key (the `AAAA…` part), not base64 of the key line: ssh will not recognise the host. The quick fix wraps it.'
      : 'As Nix reads it: the host key ssh will trust for this builder:';
  return `${intro}\n\n${lines.join('\n')}`;
}

async function storeUriValue(machine: Machine, inputs: HoverInputs): Promise<string> {
  const written = machine.columns.storeUri.text;
  const parts = parseStoreUri(machine.storeUri);
  const lines: string[] = [];
  lines.push(
    written === machine.storeUri
      ? `As Nix reads it: ${code(machine.storeUri)}.`
      : `As Nix reads it: ${code(machine.storeUri)} (Nix puts \`ssh://\` in front of a bare host).`,
  );
  if (parts.scheme !== 'ssh' && parts.scheme !== 'ssh-ng') return lines.join('\n\n');
  const program = parts.params['remote-program'] ?? (parts.scheme === 'ssh' ? 'nix-store' : 'nix-daemon');
  lines.push(
    `Protocol ${code(parts.scheme)}: Nix runs ${code(parts.scheme === 'ssh' ? `${program} --serve --write` : `${program} --stdio`)} on the builder.`,
  );
  const params = Object.entries(parts.params);
  if (params.length > 0) lines.push(`Store settings: ${params.map(([k, v]) => code(`${k}=${v}`)).join(', ')}.`);
  if (parts.host === '' || parts.host.startsWith('-')) return lines.join('\n\n');

  const lookup = await lookUpSshSettings(
    requestFor(parts, {
      portInUri: inputs.analysis.target.rules.portInUri,
      configFile: inputs.sshConfigFile,
      trusted: inputs.trusted,
    }),
  );
  if ('error' in lookup) {
    lines.push(`SSH settings: ${lookup.error}.`);
    return lines.join('\n\n');
  }
  const host = lookup.host;
  const rows = [
    `- HostName: ${code(host.hostName)}`,
    `- Port: ${code(String(host.port))}`,
    `- User: ${code(host.user)}`,
    `- IdentityFile: ${host.identityFiles.map(code).join(', ') || '(none)'}`,
    `- ProxyJump: ${host.proxyJump.length > 0 ? code(host.proxyJump.join(',')) : 'none'}`,
  ];
  const alias = host.hostKeyAlias;
  if (alias && alias !== 'none') rows.push(`- HostKeyAlias: ${code(alias)}`);
  const source =
    host.source === 'ssh -G'
      ? `from ${code(`ssh -G ${parts.host}`)}`
      : `from ${describeConfigFile(inputs.sshConfigFile)}${lookup.note ? ` (${lookup.note})` : ''}`;
  lines.push(`**SSH settings for ${code(parts.host)}** ${source}:\n\n${rows.join('\n')}`);
  if (inputs.analysis.target.daemon)
    lines.push("The nix-daemon runs ssh as root: root's ssh config is the one that counts.");
  if (parts.port && !inputs.analysis.target.rules.portInUri)
    lines.push(`The port ${code(parts.port)} in the URI does not reach ssh before Nix 2.31.`);
  return lines.join('\n\n');
}

function includeHover(include: BuildersInclude, analysis: Analysis): string {
  const path = code(include.path);
  switch (include.status) {
    case 'read': {
      const count = analysis.machines.filter(
        (m) => m.includedVia !== undefined && m.includedVia.start === include.span.start,
      ).length;
      return `**include**: Nix reads the machines of ${path} here (${count} machine${count === 1 ? '' : 's'}).`;
    }
    case 'missing':
      return `**include**: ${path} does not exist; Nix skips it silently.`;
    case 'unreadable':
      return `**include**: Nix cannot read ${path} and rejects the builders list.`;
    case 'cycle':
      return `**include**: ${path} leads back to itself; Nix recurses until it crashes.`;
    case 'not-a-file':
      return `**include**: ${path} is not a regular file (a FIFO or a device): not read here; Nix hangs on it or reads it without end.`;
    case 'too-large':
      return `**include**: ${path} is too large to check here; Nix reads its machines.`;
    case 'not-read':
      return `**include**: Nix reads the machines of ${path} here.`;
  }
}
