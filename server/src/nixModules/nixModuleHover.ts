// The hovers of a .nix file's builders: on a `nix.buildMachines` entry the machines line NixOS
// writes for it (to copy, or to compare with /etc/nix/machines) and what stays unknown until the
// system is built; on an attribute's name what the module says it is, its type and default, and
// what it writes in the line; on `nix.buildMachines` and `nix.distributedBuilds` the module's
// words and what they do here; on a part of the list that is not written out (`map f hosts`)
// the builders real Nix found in it, or why it stays unknown.
import type { Hover } from 'vscode-languageserver';
import type { DeclaredEntry } from './declarations';
import { entryOptions } from './entryOptions';
import { protocolValueNote } from './protocolValues';
import { linuxBuilderNote, writtenByModule } from './linuxBuilder';
import { moduleOptions } from './moduleOptions';
import type { ListPart, NixModuleAnalysis, RenderedEntry } from './nixModuleAnalysis';
import type { RenderedLine } from './renderedLine';
import type { Span } from '../model/problem';

const within = (span: Span, offset: number) => span.start <= offset && offset <= span.end;
const code = (lines: string[]) => '```\n' + lines.join('\n') + '\n```';
const markdown = (parts: string[]): Hover => ({ contents: { kind: 'markdown', value: parts.join('\n\n') } });

/** What is said when something is known only after evaluation, trusted (`evaluated`) or not. */
function whyUnknown(evaluated: boolean): string {
  return evaluated
    ? 'Real Nix could not evaluate it without the rest of the configuration (`config`, `pkgs`, `lib`, other modules): it is known only when the system is built.'
    : 'Nothing is evaluated in an untrusted workspace: trust the workspace to let Nix evaluate it (restricted, without nixpkgs).';
}

/** `evaluated`: the workspace is trusted, so real Nix evaluated what it could. */
export function nixModuleHover(
  analysis: NixModuleAnalysis,
  offset: number,
  version: string,
  evaluated: boolean,
): Hover | null {
  const { declarations } = analysis;
  for (const setting of declarations.buildMachines) {
    // nix-darwin's linux-builder is placed on its `enable`: its hover is the entry's (below).
    if (setting.option !== 'nix.linux-builder' && within(setting.nameSpan, offset)) {
      const builders = analysis.entries.filter(
        ({ entry }) => setting.valueSpan.start <= entry.span.start && entry.span.end <= setting.valueSpan.end,
      );
      const unknownParts = analysis.lists.filter(
        (l) =>
          l.builders === undefined && setting.valueSpan.start <= l.span.start && l.span.end <= setting.valueSpan.end,
      );
      return markdown([
        ...moduleOptionParts('nix.buildMachines'),
        ...(builders.length > 0
          ? [
              `What NixOS writes to /etc/nix/machines from this list (${version}):`,
              code(builders.map((b) => b.rendered.line)),
            ]
          : []),
        ...(unknownParts.length > 0
          ? [
              `${unknownParts.length === 1 ? 'One part of the list is' : `${unknownParts.length} parts of the list are`} known only after evaluation. ${whyUnknown(evaluated)}`,
            ]
          : []),
      ]);
    }
  }
  const distributed = declarations.settings.find(
    (s) => s.option === 'nix.distributedBuilds' && within(s.nameSpan, offset),
  );
  if (distributed) {
    const value = distributed.value;
    const here =
      value.kind === 'bool'
        ? value.value
          ? 'Here `true`: Nix uses the builders of /etc/nix/machines once the system is rebuilt.'
          : 'Here `false`: no build uses the builders of `nix.buildMachines`.'
        : `Here \`${value.kind === 'unknown' ? value.expression : '…'}\`: known only after evaluation.`;
    return markdown([...moduleOptionParts('nix.distributedBuilds'), here]);
  }
  for (const template of declarations.buildMachines.flatMap((s) => s.templates)) {
    const attribute = attributeNamedAt(template.entry, offset);
    if (attribute) {
      // An entry of a let-bound list is one builder: the one whose attribute names are these.
      const made =
        template.item === undefined
          ? undefined
          : analysis.lists
              .find((l) => l.span.start === template.part.start)
              ?.builders?.find(({ entry }) => [...entry.attributes.values()].some((a) => within(a.nameSpan, offset)));
      if (made) return entryHover(made, offset, version, evaluated);
      return markdown([
        ...optionParts(attribute, undefined),
        template.item === undefined
          ? 'Written in a function that makes each builder: its value is known per builder, once the list is evaluated.'
          : `Written in a list that \`nix.buildMachines\` names: its builders are known once the list is evaluated. ${whyUnknown(evaluated)}`,
      ]);
    }
  }
  const part = analysis.lists.find((l) => within(l.span, offset));
  if (part) return listHover(part, version, evaluated);
  const found = analysis.entries.find(({ entry }) => entry.span.start <= offset && offset < entry.span.end);
  return found ? entryHover(found, offset, version, evaluated) : null;
}

function entryHover({ entry, rendered }: RenderedEntry, offset: number, version: string, evaluated: boolean): Hover {
  const parts: string[] = [];
  const attribute = attributeNamedAt(entry, offset);
  if (attribute) parts.push(...optionParts(attribute, rendered));
  const onValue = [...entry.attributes.values()].find((a) => within(a.valueSpan, offset));
  const note = onValue && protocolValueNote(onValue);
  if (note) parts.push(note);
  const host = entry.attributes.get('hostName');
  if (host && writtenByModule(host)) parts.push(linuxBuilderNote);
  parts.push(`The line NixOS writes to /etc/nix/machines for this builder (${version}):`, code([rendered.line]));
  if (rendered.unknown.length > 0) {
    parts.push(
      `Not known before the system is built: ${rendered.unknown.map((name) => `\`${name}\``).join(', ')} (shown as \`«expression»\`). ` +
        (evaluated
          ? 'Real Nix could not evaluate them without the rest of the configuration (`config`, `pkgs`, `lib`, other modules).'
          : 'Nothing is evaluated in an untrusted workspace: trust it to let Nix evaluate what it can without nixpkgs.'),
    );
  }
  return markdown(parts);
}

function listHover(part: ListPart, version: string, evaluated: boolean): Hover {
  if (part.builders === undefined) {
    return markdown([
      'This part of `nix.buildMachines` is not written out: its builders are known only after evaluation.',
      whyUnknown(evaluated),
    ]);
  }
  const count = part.builders.length;
  const parts = [
    `Real Nix evaluated this part of \`nix.buildMachines\` (restricted, without nixpkgs): ${count} builder${count === 1 ? '' : 's'}. The lines NixOS writes to /etc/nix/machines for them (${version}):`,
    code(part.builders.map((b) => b.rendered.line)),
  ];
  const unknown = [...new Set(part.builders.flatMap((b) => b.rendered.unknown))];
  if (unknown.length > 0)
    parts.push(
      `Not known before the system is built: ${unknown.map((name) => `\`${name}\``).join(', ')} (shown as \`«expression»\`). ${whyUnknown(true)}`,
    );
  return markdown(parts);
}

/** The attribute of `entry` whose name is at `offset`, when the module has such an option. */
function attributeNamedAt(entry: DeclaredEntry, offset: number): string | undefined {
  const attribute = [...entry.attributes.values()].find((a) => within(a.nameSpan, offset));
  return attribute && entryOptions[attribute.name] ? attribute.name : undefined;
}

/** An entry option: type, default, the module's words and ours, and where it lands in the line (and what it writes there). */
function optionParts(name: string, rendered: RenderedLine | undefined): string[] {
  const option = entryOptions[name]!;
  const parts = [
    `**${name}** · ${option.type}${option.default === undefined ? ' · must be set' : ` · default \`${option.default}\``}`,
    option.description,
    option.doc,
    `In the machines line: ${option.inLine}`,
  ];
  if (rendered) parts.push(writtenBy(name, rendered));
  return parts;
}

/** What `name` writes in the line, column by column (`mandatoryFeatures` writes in two). */
function writtenBy(name: string, rendered: RenderedLine): string {
  const columns = new Map<number, { start: number; end: number }>();
  let column = 1;
  for (const piece of rendered.pieces) {
    if (piece.attribute === undefined && rendered.line.slice(piece.start, piece.end) === ' ') column++;
    if (piece.attribute !== name) continue;
    const seen = columns.get(column);
    columns.set(column, { start: seen?.start ?? piece.start, end: piece.end });
  }
  const written = [...columns].map(([n, { start, end }]) => ({ n, text: `\`${rendered.line.slice(start, end)}\`` }));
  if (written.length === 0) return 'Here it writes nothing to the line.';
  if (written.length === 1) return `Here it writes ${written[0]!.text}.`;
  return `Here it writes ${written.map((w) => `${w.text} in column ${w.n}`).join(' and ')}.`;
}

function moduleOptionParts(name: keyof typeof moduleOptions): string[] {
  const option = moduleOptions[name]!;
  return [`**${name}** · ${option.type} · default \`${option.default}\``, option.description, option.effect];
}
