// The machines line NixOS writes to /etc/nix/machines for one `nix.buildMachines` entry
// (nixos/modules/config/nix-remote-build.nix, `buildMachinesText`; nix-darwin's module writes the
// same): `[protocol://][sshUser@]hostName`, `system` (which wins) or `systems` joined with `,`,
// `sshKey`, `toString maxJobs`, `toString speedFactor`, `supportedFeatures ++
// mandatoryFeatures`, `mandatoryFeatures`, and from Nix 2.4 `publicHostKey`; `-` for each one
// unset or empty. Every piece of the line remembers the attribute it came from, so what the
// machines-file checks find in the line is shown on that attribute.
import { compareNixVersions, type NixVersion } from '../model/nixVersion';
import type { Span } from '../model/problem';
import type { DeclaredEntry, EntryAttribute } from './declarations';
import { nixToString, type NixValue } from './nixValue';

/** A stretch of the rendered line and where it came from. */
export interface LinePiece {
  /** Offsets in `line`. */
  start: number;
  end: number;
  /** The attribute that wrote it; undefined for the separators and for defaults. */
  attribute: string | undefined;
  /** Where in the .nix file: the value (or the list item) it came from. */
  source: Span | undefined;
  /** The value is not known before evaluation: the piece stands in for it. */
  unknown: boolean;
}

export interface RenderedLine {
  /** The line NixOS writes, without its newline; an unknown value shows as `«its expression»`. */
  line: string;
  pieces: LinePiece[];
  /** The attributes whose values stay unknown until the system is built. */
  unknown: string[];
}

/** The module's defaults, where an attribute is not set. */
const defaults: Record<string, NixValue> = {
  protocol: { kind: 'string', value: 'ssh' },
  maxJobs: { kind: 'int', value: 1n },
  speedFactor: { kind: 'int', value: 1n },
};

/** NixOS writes column 8 only for Nix ≥ 2.4 (`isNixAtLeast "2.4pre"`). */
function writesHostKeyColumn(version: NixVersion): boolean {
  return compareNixVersions(version, { major: 2, minor: 4, patch: 0 }) >= 0;
}

/**
 * The entry's line. `placeholder` writes what stands for an unknown value: `«expression»` for
 * the user to read; the checks use a harmless stand-in and ignore what they find in it.
 */
export function renderEntry(
  entry: DeclaredEntry,
  version: NixVersion,
  placeholder: (attribute: string, expression: string) => string = (_, e) => `«${e}»`,
): RenderedLine {
  let line = '';
  const pieces: LinePiece[] = [];
  const unknown = new Set<string>();
  const write = (text: string, attribute?: string, source?: Span, isUnknown = false) => {
    if (text === '') return;
    pieces.push({ start: line.length, end: line.length + text.length, attribute, source, unknown: isUnknown });
    line += text;
  };
  const valueOf = (name: string): NixValue | undefined => entry.attributes.get(name)?.value ?? defaults[name];
  const isNull = (name: string) => {
    const value = valueOf(name);
    return value === undefined || value.kind === 'null';
  };
  /** Writes one attribute's value as `toString` (or `${…}`) would. */
  const writeValue = (name: string, value: NixValue | undefined, source: Span | undefined) => {
    if (value === undefined) return;
    if (value.kind === 'unknown') {
      unknown.add(name);
      write(placeholder(name, value.expression), name, source, true);
      return;
    }
    write(nixToString(value) ?? placeholder(name, '…'), name, source, nixToString(value) === undefined);
  };
  const writeAttribute = (name: string) => {
    const attribute = entry.attributes.get(name);
    writeValue(name, valueOf(name), attribute?.valueSpan);
  };
  /** Writes the items of list attributes joined with `,`; false when they are all empty. */
  const writeJoined = (names: string[]): boolean => {
    let first = true;
    for (const name of names) {
      const attribute: EntryAttribute | undefined = entry.attributes.get(name);
      const value = attribute?.value;
      if (value === undefined || (value.kind === 'list' && value.items.length === 0)) continue;
      const items = value.kind === 'list' ? value.items : [{ value, span: attribute!.valueSpan }];
      for (const item of items) {
        if (!first) write(',');
        first = false;
        writeValue(name, item.value, item.span);
      }
    }
    return !first;
  };

  if (!isNull('protocol')) {
    writeAttribute('protocol');
    write('://');
  }
  if (!isNull('sshUser')) {
    writeAttribute('sshUser');
    write('@');
  }
  writeAttribute('hostName');
  write(' ');
  if (!isNull('system')) writeAttribute('system');
  else if (!writeJoined(['systems'])) write('-');
  write(' ');
  if (!isNull('sshKey')) writeAttribute('sshKey');
  else write('-');
  write(' ');
  writeAttribute('maxJobs');
  write(' ');
  writeAttribute('speedFactor');
  write(' ');
  if (!writeJoined(['supportedFeatures', 'mandatoryFeatures'])) write('-');
  write(' ');
  if (!writeJoined(['mandatoryFeatures'])) write('-');
  if (writesHostKeyColumn(version)) {
    write(' ');
    if (!isNull('publicHostKey')) writeAttribute('publicHostKey');
    else write('-');
  }
  return { line, pieces, unknown: [...unknown] };
}
