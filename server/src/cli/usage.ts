// The help of `nix-builders`, made from the subcommand table and one description per option,
// so the whole usage and each subcommand's own usage always agree.
import { extensionVersion } from '../version';
import { exitCodesHelp } from './exitCodes';
import type { OptionName } from './options';
import { subcommands, type Subcommand } from './subcommands';
import { maxTimeoutSeconds } from './optionValues';

const optionHelp: Record<Exclude<OptionName, 'help' | 'version'>, string> = {
  'nix-version': "--nix-version V     follow Nix V's rules (2.x or 2.x.y: 2.8, 2.24.3) instead of the installed Nix's",
  machines: '--machines FILE     the machines of this file',
  builders: "--builders TEXT     the machines of this text, as Nix's --builders takes it",
  'ssh-config': '--ssh-config FILE   an ssh config to use instead of ~/.ssh/config (like ssh -F)',
  timeout: `--timeout S         seconds each stage of a check may take (default 10, at most ${maxTimeoutSeconds})`,
  system: "--system S          the derivation's system",
  features: "--features a,b      the derivation's requiredSystemFeatures",
  attr: '-A, --attr ATTR     the attribute of FILE to build',
  arg: "--arg NAME EXPR     the Nix expression EXPR as FILE's function argument NAME (as nix-build)",
  argstr: "--argstr NAME S     the string S as FILE's function argument NAME (as nix-build)",
  on: '--on HOST           build there: its URI, user@host or host',
  distributed: '--distributed       let Nix spread the build over all machines',
  format: '--format text|json  output for people (default) or for programs',
};

const indent = (text: string, by: string) => text.replace(/^/gm, by);

function entry(subcommand: Subcommand): string {
  const [first, ...more] = subcommand.synopsis.split('\n');
  const head = `  nix-builders ${subcommand.name} `;
  const synopsis = [`  nix-builders ${first}`, ...more.map((line) => `${' '.repeat(head.length)}${line}`)].join('\n');
  return `${synopsis}\n${indent(subcommand.about, '      ')}\n`;
}

export function usage(): string {
  const optionLines = Object.entries(optionHelp).map(([name, line]) => {
    const users = subcommands.filter((s) => s.options.includes(name as OptionName)).map((s) => s.name);
    return `  ${line}${users.length === subcommands.length ? '' : ` (${users.join(', ')})`}`;
  });
  return `nix-builders ${extensionVersion}: check, ping and use Nix remote builders

Usage:
${subcommands.map(entry).join('')}
Options (each means the same in every subcommand that takes it):
${optionLines.join('\n')}
  -h, --help          print this help (after a subcommand: its own)
  -V, --version       print the version

${exitCodesHelp}`;
}

/** With `exitCodes: false` for a usage error, where the options are what the user needs. */
export function subcommandUsage(subcommand: Subcommand, { exitCodes = true } = {}): string {
  const lines = subcommand.options.map((name) => `  ${optionHelp[name as keyof typeof optionHelp]}`);
  return `Usage:
${entry(subcommand)}
Options:
${lines.join('\n')}
  -h, --help          print this help
${exitCodes ? `\n${exitCodesHelp}` : ''}`;
}
