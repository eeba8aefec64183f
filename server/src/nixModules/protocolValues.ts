// The `protocol` of a builder entry: NixOS declares it `types.enum [ null "ssh" "ssh-ng" ]`
// (nixos/modules/config/nix-remote-build.nix), so any other value stops the system's build
// with the enum's type error. Said with the values allowed and what each one means, and the
// nearest allowed value as the fix (`"ssh-ng2"`, `"SSH"`, `"ssh-ng://"`).
import { nearest } from '../model/nearest';
import type { EntryAttribute } from './declarations';
import { moduleProblem, nixStringLiteral, type NixModuleProblem } from './moduleProblem';
import { typeName } from './nixValue';

/** The values the module allows, each with what NixOS then writes in front of the host. */
const allowed = [
  { value: 'ssh', written: '"ssh"', means: '`ssh://` (Nix runs nix-store --serve on the builder)' },
  { value: 'ssh-ng', written: '"ssh-ng"', means: '`ssh-ng://` (nix-daemon --stdio)' },
  { value: null, written: 'null', means: 'no scheme at all (the line starts with the host)' },
] as const;

const allowedList = allowed.map((a) => `${a.written}: ${a.means}`).join('; ');

/** The allowed value `written` most likely meant, as a Nix literal; undefined when none is near. */
function nearestAllowed(written: string): string | undefined {
  const bare = written
    .trim()
    .toLowerCase()
    .replace(/:\/\/.*$/, '');
  const names = ['ssh', 'ssh-ng'];
  const found = names.includes(bare) ? bare : nearest(bare, names);
  return found === undefined ? undefined : nixStringLiteral(found);
}

/** The problem with a `protocol` value, if the module refuses it (unknown values are not judged). */
export function protocolProblem(attribute: EntryAttribute): NixModuleProblem | undefined {
  const value = attribute.value;
  if (value.kind === 'unknown' || value.kind === 'null') return undefined;
  if (value.kind === 'string' && (value.value === 'ssh' || value.value === 'ssh-ng')) return undefined;
  const shown = value.kind === 'string' ? `"${value.value}"` : typeName(value);
  const fix = value.kind === 'string' ? nearestAllowed(value.value) : undefined;
  return moduleProblem(
    'nixos-protocol',
    attribute.valueSpan,
    `\`protocol\` is ${shown}, which the module does not allow: NixOS stops with "A definition for option \`nix.buildMachines.*.protocol' is not of type \`one of null, "ssh", "ssh-ng"'." The allowed values are ${allowedList}.${fix ? ` Did you mean ${fix}?` : ''}`,
    fix ? { title: `Change to ${fix}`, span: attribute.valueSpan, newText: fix } : undefined,
  );
}

/** What the hover says on a `protocol` value: null is the one that writes no scheme. */
export function protocolValueNote(attribute: EntryAttribute): string | undefined {
  if (attribute.name !== 'protocol') return undefined;
  if (attribute.value.kind === 'null')
    // libstore/machines.cc (2.26.3): a URI without `://` that is not `auto`, `daemon`, `local`
    // or a path gets `ssh://` put in front.
    return '`protocol = null`: NixOS writes no scheme, so the line starts with the host name itself (no `ssh://`). Nix then reads the host as `ssh://host`, unless it is `auto`, `daemon`, `local` or a path (a local store); Hydra reads `localhost` as itself.';
  if (attribute.value.kind === 'string') {
    const known = allowed.find((a) => a.value === (attribute.value as { value: string }).value);
    if (known) return `\`protocol = ${known.written}\`: the line starts with ${known.means}.`;
  }
  return undefined;
}
