// nix.conf settings: names Nix does not know (it warns and ignores the line), values Nix
// refuses for the setting's type (it fails), and `max-jobs = 0` with no builder to take the
// builds. The value rules and messages are Nix 2.8.0's, checked on the real thing.

import { problem, type Problem, type Span } from '../problem';
import type { ConfSetting, ParsedNixConf } from '../nixConf';
import { readUnsignedInt } from '../nixStrings';
import { nearest } from '../nearest';
import { appendableSettings, knownSettings, nix2_8KnownSettings, remoteBuildSettings } from '../knownSettings';
import type { LintContext } from './index';
import { majorMinor, placeInConfOrigin } from './place';
import { noBuildMessage } from '../nixMessages';
import { versionRuleTable } from '../nixVersion';

/** How Nix 2.8 reads a setting's value; a value it refuses makes every nix command fail. */
type ValueKind = 'boolean' | 'max-jobs' | 'unsigned-int' | 'unsigned-long' | 'sandbox';

/** The Boolean settings of Nix 2.8.0 (each printed "Boolean setting 'NAME' has invalid value" on real 2.8.0). */
const booleanSettings = `accept-flake-config allow-dirty allow-import-from-derivation allow-new-privileges
allow-symlinked-store allow-unsafe-native-code-during-evaluation auto-optimise-store builders-use-substitutes
compress-build-log enforce-determinism eval-cache fallback filter-syscalls fsync-metadata http2 impersonate-linux-26
keep-build-log keep-derivations keep-env-derivations keep-failed keep-going keep-outputs preallocate-contents
print-missing pure-eval require-sigs restrict-eval run-diff-hook sandbox-fallback show-trace substitute
sync-before-registering trace-function-calls use-case-hack use-registries use-sqlite-wal warn-dirty`
  .split(/\s+/)
  .filter(Boolean);

const valueKinds: ReadonlyMap<string, ValueKind> = new Map<string, ValueKind>([
  ...booleanSettings.map((name) => [name, 'boolean'] as const),
  ['max-jobs', 'max-jobs'],
  ['cores', 'unsigned-int'],
  ['connect-timeout', 'unsigned-long'],
  ['sandbox', 'sandbox'],
]);

/** Old names Nix 2.8 maps onto typed settings; its messages use the new name. */
const aliases: ReadonlyMap<string, string> = new Map([
  ['build-max-jobs', 'max-jobs'],
  ['build-cores', 'cores'],
  ['build-use-sandbox', 'sandbox'],
  ['build-use-chroot', 'sandbox'],
  ['build-keep-log', 'keep-build-log'],
  ['build-compress-log', 'compress-build-log'],
  ['build-fallback', 'fallback'],
  ['env-keep-derivations', 'keep-env-derivations'],
  ['gc-keep-outputs', 'keep-outputs'],
  ['gc-keep-derivations', 'keep-derivations'],
  ['build-use-substitutes', 'substitute'],
]);

const canonical = (name: string): string => aliases.get(name) ?? name;

/** Nix's message when it refuses `value` for `name`, and what to write instead; undefined when it takes it. */
function refusal(name: string, value: string): { nixMessage: string; advice: string } | undefined {
  const setting = canonical(name);
  switch (valueKinds.get(setting)) {
    case 'boolean':
      if (['true', 'false', 'yes', 'no', '1', '0'].includes(value)) return undefined;
      return {
        nixMessage: `Boolean setting '${setting}' has invalid value '${value}'`,
        advice: 'Write true or false (lower case).',
      };
    case 'max-jobs':
      if (value === 'auto' || readUnsignedInt(value) !== undefined) return undefined;
      return {
        nixMessage: "configuration setting 'max-jobs' should be 'auto' or an integer",
        advice:
          'Write a whole number of local build jobs (0 leaves every build to the remote builders) or auto (one per CPU).',
      };
    case 'unsigned-int':
      if (readUnsignedInt(value) !== undefined) return undefined;
      return {
        nixMessage: `setting '${setting}' has invalid value '${value}'`,
        advice: 'Write a whole number of 0 or more.',
      };
    case 'unsigned-long':
      if (/^\+?[0-9]+$/.test(value) && BigInt(value.replace(/^\+/, '')) <= 0xffff_ffff_ffff_ffffn) return undefined;
      return {
        nixMessage: `setting '${setting}' has invalid value '${value}'`,
        advice: 'Write a whole number of 0 or more.',
      };
    case 'sandbox':
      if (['true', 'false', 'relaxed'].includes(value)) return undefined;
      return { nixMessage: `option 'sandbox' has invalid value '${value}'`, advice: 'Write true, false or relaxed.' };
    case undefined:
      return undefined;
  }
}

/** The names the targeted Nix knows: Nix 2.8's own list up to 2.8, every name we know after. */
function namesKnownTo(context: LintContext): ReadonlySet<string> {
  const { major, minor } = context.version;
  return major < 2 || (major === 2 && minor <= 8) ? nix2_8KnownSettings : knownSettings;
}

/** Nix's `Config::set`: the exact name, or `extra-NAME` of a list setting. */
function isKnown(name: string, known: ReadonlySet<string>): boolean {
  if (known.has(name)) return true;
  if (!name.startsWith('extra-')) return false;
  const base = name.slice('extra-'.length);
  // Appendability is known for 2.8's settings; a later one gets the benefit of the doubt.
  return known.has(base) && (appendableSettings.has(base) || !nix2_8KnownSettings.has(base));
}

function unknownSetting(setting: ConfSetting, context: LintContext): Problem | undefined {
  const name = setting.name;
  if (name === 'extra-builders') return undefined; // the parser's own warning (extra-builders-ignored)
  const known = namesKnownTo(context);
  if (isKnown(name, known)) return undefined;
  const nixMessage = `unknown setting '${name}'`;
  const ignored = `Nix ignores this line ("warning: ${nixMessage}")`;

  let message: string;
  let suggestion: string | undefined;
  const base = name.startsWith('extra-') ? name.slice('extra-'.length) : undefined;
  if (base !== undefined && known.has(base)) {
    suggestion = base;
    message = `${ignored}: '${base}' is not a list, so it cannot be appended to with extra-. Write \`${base} = …\` to set it.`;
  } else if (knownSettings.has(name) && !known.has(name)) {
    message = `Nix ${context.version.major}.${context.version.minor} does not have the setting '${name}' yet (newer Nix does): ${ignored}. Remove it, or update Nix.`;
  } else {
    if (base !== undefined) {
      const appendable = [...appendableSettings].filter((s) => known.has(s));
      const near = nearest(base, appendable);
      if (near !== undefined) suggestion = `extra-${near}`;
    }
    suggestion ??= nearest(name, known);
    const target = suggestion?.replace(/^extra-/, '');
    const matters =
      target !== undefined && (remoteBuildSettings as readonly string[]).includes(target)
        ? ` As written, this line does not set '${target}', which remote builds depend on.`
        : '';
    message =
      suggestion !== undefined
        ? `${ignored}: there is no setting '${name}'. Did you mean ${suggestion}?${matters}`
        : `${ignored}: there is no setting '${name}'. Check the name against \`man nix.conf\`, or remove the line.`;
  }
  return problem(
    'unknown-setting',
    setting.nameSpan,
    message,
    nixMessage,
    suggestion === undefined ? undefined : { suggestion },
  );
}

function invalidValue(setting: ConfSetting): Problem | undefined {
  const refused = refusal(setting.name, setting.value);
  if (refused === undefined) return undefined;
  const span: Span = setting.valueTokens.length === 0 ? setting.nameSpan : setting.valueSpan;
  return problem(
    'conf-invalid-value',
    span,
    `Nix refuses this value, and every nix command fails: "${refused.nixMessage}". ${refused.advice}`,
    refused.nixMessage,
  );
}

/** `max-jobs = 0` (the last one Nix applies) while this nix.conf's `builders` gives no machine. */
function nothingCanBuild(parsed: ParsedNixConf, context: LintContext): Problem | undefined {
  let maxJobs: ConfSetting | undefined;
  for (const setting of parsed.settings) {
    if (canonical(setting.name) === 'max-jobs' && refusal(setting.name, setting.value) === undefined) maxJobs = setting;
  }
  if (maxJobs === undefined || maxJobs.value === 'auto' || readUnsignedInt(maxJobs.value) !== 0) return undefined;
  // Without a `builders` line here, the builders come from elsewhere (/etc/nix/machines by
  // default, or another nix.conf): not ours to judge. Nor is a builders value Nix rejects.
  const builders = parsed.builders?.builders;
  if (builders === undefined) return undefined;
  if (builders.problems.some((p) => p.severity === 'error')) return undefined;
  // An include we did not read may hold builders: say nothing rather than something wrong.
  if (builders.includes.some((i) => i.status === 'not-read' || i.status === 'not-a-file' || i.status === 'too-large'))
    return undefined;
  if (builders.machines.some((m) => m.valid && m.maxJobs > 0)) return undefined;
  const nixMessage = noBuildMessage(context.rules);
  // From Nix 2.34 the message has the derivation in it (`…` here) and names max-jobs itself.
  const fails = context.rules.noBuildErrorNamesReason
    ? `Nix fails with "${nixMessage}" (so from Nix ${majorMinor(versionRuleTable.noBuildErrorNamesReason.since)}; … is the derivation).`
    : `Nix fails with "${nixMessage}"`;
  return placeInConfOrigin(
    problem(
      'nothing-can-build',
      maxJobs.valueSpan,
      `max-jobs = 0 leaves every build to the remote builders, but \`builders\` here gives none that can take a job: ${fails} Add a builder to \`builders\`, or allow local builds (max-jobs = auto).`,
      nixMessage,
    ),
    maxJobs,
  );
}

/** Problems of the settings themselves (not of the builders values). */
export function lintSettings(parsed: ParsedNixConf, context: LintContext): Problem[] {
  const problems: Problem[] = [];
  for (const setting of parsed.settings) {
    for (const p of [unknownSetting(setting, context), invalidValue(setting)]) {
      if (p !== undefined) problems.push(placeInConfOrigin(p, setting));
    }
  }
  const nothing = nothingCanBuild(parsed, context);
  if (nothing !== undefined) problems.push(nothing);
  return problems;
}
