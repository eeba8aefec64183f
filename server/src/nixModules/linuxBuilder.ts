// nix-darwin's `nix.linux-builder`: `enable = true` adds a builder of its own, a NixOS VM the
// Mac runs, as one more `nix.buildMachines` entry (modules/nix/linux-builder.nix at nix-darwin
// 1b8d71182676c7820b4cac0067ac0432860edb63): hostName `linux-builder`, sshUser `builder`, sshKey
// `/etc/nix/builder_ed25519`, the VM's fixed host key, and `mandatoryFeatures`, `maxJobs`,
// `protocol` (default "ssh-ng"), `speedFactor`, `supportedFeatures` (default kvm, benchmark,
// big-parallel) and `systems` from the options of the same names. The default `systems` and
// `maxJobs` come from the VM's own NixOS configuration (its platform, its cores): unknown until
// the system is built. It sets `nix.distributedBuilds = true` itself. Made here into an entry
// like any other, so it is rendered, checked and shown in the view as one; the values the module
// writes itself are not the user's to fix, so the checks leave them alone.
import { nearest } from '../model/nearest';
import type { Span } from '../model/problem';
import type { BuildMachinesSetting, DeclaredEntry, EntryAttribute, OptionSetting } from './declarations';
import { moduleProblem, type NixModuleProblem } from './moduleProblem';
import type { NixValue } from './nixValue';
import { typeName } from './nixValue';

const prefix = 'nix.linux-builder';

/** The builder VM's host key, as linux-builder.nix writes it. */
const vmHostKey =
  'c3NoLWVkMjU1MTkgQUFBQUMzTnphQzFsWkRJMU5URTVBQUFBSUpCV2N4Yi9CbGFxdDFhdU90RStGOFFVV3JVb3RpQzVxQkorVXVFV2RWQ2Igcm9vdEBuaXhvcwo=';

/** The module's own options (besides `enable`), with what a value must be. */
const options: Record<string, { type: string; accepts: (v: NixValue) => boolean } | undefined> = {
  mandatoryFeatures: { type: 'list of string', accepts: (v) => v.kind === 'list' },
  maxJobs: { type: 'positive integer, meaning >0', accepts: (v) => v.kind === 'int' && v.value > 0n },
  protocol: { type: 'string', accepts: (v) => v.kind === 'string' },
  speedFactor: { type: 'positive integer, meaning >0', accepts: (v) => v.kind === 'int' && v.value > 0n },
  supportedFeatures: { type: 'list of string', accepts: (v) => v.kind === 'list' },
  systems: { type: 'list of string', accepts: (v) => v.kind === 'list' },
  enable: undefined,
  package: undefined,
  config: undefined,
  workingDirectory: undefined,
  ephemeral: undefined,
};

/** Attributes the module writes itself: not from the user's file. */
const written = new WeakSet<EntryAttribute>();

/** True for a value nix-darwin's module writes (the VM's key path, its host key): nothing to fix in the file. */
export function writtenByModule(attribute: EntryAttribute): boolean {
  return written.has(attribute);
}

const str = (value: string): NixValue => ({ kind: 'string', value });
const strings = (values: string[], span: Span): NixValue => ({
  kind: 'list',
  items: values.map((v) => ({ value: str(v), span })),
});

/** The linux-builder as a `nix.buildMachines` setting, when the file enables it. */
export function linuxBuilderSetting(settings: readonly OptionSetting[]): BuildMachinesSetting | undefined {
  const own = settings.filter((s) => s.option === prefix || s.option.startsWith(`${prefix}.`));
  const enable = own.find((s) => s.option === `${prefix}.enable`);
  if (!enable || enable.value.kind !== 'bool' || !enable.value.value) return undefined;
  const span = {
    start: Math.min(...own.map((s) => s.nameSpan.start)),
    end: Math.max(...own.map((s) => s.valueSpan.end)),
  };
  const at = { start: enable.nameSpan.start, end: enable.valueSpan.end };
  const attributes = new Map<string, EntryAttribute>();
  const fixed = (name: string, value: NixValue) => {
    const attribute = { name, nameSpan: enable.nameSpan, valueSpan: enable.valueSpan, value };
    written.add(attribute);
    attributes.set(name, attribute);
  };
  const set = (name: string) => own.find((s) => s.option === `${prefix}.${name}`);
  const option = (name: string, otherwise: NixValue) => {
    const setting = set(name);
    if (setting)
      attributes.set(name, { name, nameSpan: setting.nameSpan, valueSpan: setting.valueSpan, value: setting.value });
    else fixed(name, otherwise);
  };
  fixed('hostName', str('linux-builder'));
  fixed('sshUser', str('builder'));
  fixed('sshKey', str('/etc/nix/builder_ed25519'));
  fixed('publicHostKey', str(vmHostKey));
  option('protocol', str('ssh-ng'));
  option('systems', { kind: 'unknown', expression: "the builder VM's nixpkgs.hostPlatform.system" });
  option('maxJobs', { kind: 'unknown', expression: "the builder VM's virtualisation.cores" });
  option('speedFactor', { kind: 'int', value: 1n });
  option('supportedFeatures', strings(['kvm', 'benchmark', 'big-parallel'], at));
  option('mandatoryFeatures', strings([], at));
  const entry: DeclaredEntry = { span, attributes };
  return {
    option: prefix,
    nameSpan: enable.nameSpan,
    valueSpan: enable.valueSpan,
    value: enable.value,
    entries: [entry],
    unknownParts: [],
    templates: [],
  };
}

/** The module's own errors: an option it does not have, a value of the wrong type. */
export function linuxBuilderProblems(settings: readonly OptionSetting[]): NixModuleProblem[] {
  const found: NixModuleProblem[] = [];
  for (const setting of settings) {
    if (!setting.option.startsWith(`${prefix}.`)) continue;
    const name = setting.option.slice(prefix.length + 1).split('.')[0]!;
    if (name === 'config' || name === 'package') continue;
    if (!(name in options)) {
      const suggestion = nearest(name, Object.keys(options));
      found.push(
        moduleProblem(
          'nixos-unknown-attribute',
          setting.nameSpan,
          name === 'modules'
            ? '`nix.linux-builder.modules` is gone: nix-darwin stops with "This option has been replaced with `nix.linux-builder.config`". Move these modules into `nix.linux-builder.config`.'
            : `nix-darwin has no option \`${prefix}.${name}\`: it stops with "The option \`${prefix}.${name}' does not exist."${suggestion ? ` Did you mean \`${suggestion}\`?` : ''}`,
        ),
      );
      continue;
    }
    const option = options[name];
    if (!option || setting.option !== `${prefix}.${name}` || setting.value.kind === 'unknown') continue;
    if (option.accepts(setting.value)) continue;
    found.push(
      moduleProblem(
        'nixos-wrong-type',
        setting.valueSpan,
        `\`${prefix}.${name}\` is ${typeName(setting.value)}: nix-darwin stops with "A definition for option \`${prefix}.${name}' is not of type \`${option.type}'."`,
      ),
    );
  }
  return found;
}

/** The hover's words on the linux-builder: what the module adds, and where the unknowns come from. */
export const linuxBuilderNote =
  "nix-darwin's `nix.linux-builder` adds this builder itself (a NixOS VM on this Mac, reached at localhost:31022 through /etc/ssh/ssh_config.d/100-linux-builder.conf), and sets `nix.distributedBuilds = true`. Unless set here, `systems` is the VM's platform (aarch64-linux on Apple silicon, x86_64-linux on Intel) and `maxJobs` its `virtualisation.cores`: known once the system is built.";
