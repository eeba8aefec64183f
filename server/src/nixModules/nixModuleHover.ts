// The hover on a `nix.buildMachines` entry: the machines line NixOS writes for it (to copy, or
// to compare with /etc/nix/machines), what stays unknown until the system is built, and on an
// attribute's name what the module says it is, its type and default.
import type { Hover } from 'vscode-languageserver';
import type { NixModuleAnalysis } from './nixModuleAnalysis';
import { entryOptions } from './entryOptions';
import { protocolValueNote } from './protocolValues';
import { linuxBuilderNote, writtenByModule } from './linuxBuilder';

/** `evaluated`: the workspace is trusted, so real Nix evaluated what it could. */
export function nixModuleHover(
  analysis: NixModuleAnalysis,
  offset: number,
  version: string,
  evaluated: boolean,
): Hover | null {
  const found = analysis.entries.find(({ entry }) => entry.span.start <= offset && offset < entry.span.end);
  if (!found) return null;
  const { entry, rendered } = found;
  const parts: string[] = [];
  const attribute = [...entry.attributes.values()].find((a) => a.nameSpan.start <= offset && offset <= a.nameSpan.end);
  const option = attribute && entryOptions[attribute.name];
  if (attribute && option) {
    parts.push(
      `**${attribute.name}** · ${option.type}${option.default === undefined ? ' · must be set' : ` · default \`${option.default}\``}`,
      option.doc,
    );
  }
  const onValue = [...entry.attributes.values()].find((a) => a.valueSpan.start <= offset && offset <= a.valueSpan.end);
  const note = onValue && protocolValueNote(onValue);
  if (note) parts.push(note);
  const host = entry.attributes.get('hostName');
  if (host && writtenByModule(host)) parts.push(linuxBuilderNote);
  parts.push(
    `The line NixOS writes to /etc/nix/machines for this builder (${version}):`,
    '```\n' + rendered.line + '\n```',
  );
  if (rendered.unknown.length > 0) {
    parts.push(
      `Not known before the system is built: ${rendered.unknown.map((name) => `\`${name}\``).join(', ')} (shown as \`«expression»\`). ` +
        (evaluated
          ? 'Real Nix could not evaluate them without the rest of the configuration (`config`, `pkgs`, `lib`, other modules).'
          : 'Nothing is evaluated in an untrusted workspace: trust it to let Nix evaluate what it can without nixpkgs.'),
    );
  }
  return { contents: { kind: 'markdown', value: parts.join('\n\n') } };
}
