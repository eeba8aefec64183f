// NIX_SSHOPTS: extra ssh arguments Nix puts on every ssh command line it runs for a builder
// (`ssh <host> -x -a $NIX_SSHOPTS [-i column3] [-oUserKnownHostsFile=<column 8>] <command>`).
// Nix splits the variable with `tokenizeString` on spaces, tabs and newlines, with no quoting at
// all, and ssh then reads the pieces with its own getopt. This module does both, so the probe
// resolves a host with the same options ssh gets under Nix.
import { tokenize, nixWhitespace } from '../model/nixStrings';

/** One setting given on the command line, in ssh_config terms (`-p 2222` is `port 2222`). */
export interface SshCommandLineSetting {
  /** The ssh_config keyword, lower case: `port`, `user`, `proxyjump`, `identityfile`, … */
  name: string;
  value: string;
  /** How it was written: `-p`, `-l`, `-J`, `-i`, `-o`. */
  flag: string;
}

/** What ssh makes of a list of arguments (the options part, before the host). */
export interface SshCommandLine {
  /** `-F FILE`: the config file read instead of ~/.ssh/config and /etc/ssh/ssh_config (last wins). */
  configFile: string | undefined;
  /**
   * Settings in command-line order. For ssh the first value of a keyword wins, and command-line
   * settings come before any config file; `identityfile` accumulates instead.
   */
  settings: SshCommandLineSetting[];
  /** Flags without a value that ssh accepts but that do not change how a host is reached. */
  flags: string[];
  /** Words that are not options: under Nix they would end up in the remote command. */
  strayWords: string[];
  /** Things worth telling the user (an option without its value, an unknown option, …). */
  notes: string[];
}

/** ssh's getopt string (OpenSSH 9.x): letters followed by `:` take a value. */
const SSH_GETOPT = '1246ab:c:e:fgi:kl:m:no:p:qstvxAB:CD:E:F:GI:J:KL:MNO:P:Q:R:S:TVw:W:XYy';
const takesValue = new Set<string>();
const knownFlags = new Set<string>();
for (let i = 0; i < SSH_GETOPT.length; i++) {
  const letter = SSH_GETOPT[i]!;
  if (letter === ':') continue;
  if (SSH_GETOPT[i + 1] === ':') takesValue.add(letter);
  else knownFlags.add(letter);
}

/** Command-line flags with a value that are shorthands for ssh_config keywords. */
const settingOfFlag: Record<string, string> = { p: 'port', l: 'user', J: 'proxyjump', i: 'identityfile' };

/** Nix's `tokenizeString(getEnv("NIX_SSHOPTS"))`: whitespace-separated words, no quoting. */
export function tokenizeNixSshOpts(text: string | undefined): string[] {
  if (text === undefined) return [];
  return tokenize(text, nixWhitespace).map((piece) => piece.text);
}

/** Reads `-o Name=Value` / `-oName Value`: ssh accepts `=` or whitespace between the two. */
function readOption(text: string): { name: string; value: string } | undefined {
  const match = /^\s*([A-Za-z][A-Za-z0-9]*)\s*(?:=\s*|\s+)(.*)$/.exec(text);
  if (!match) return undefined;
  let value = match[2]!.trim();
  if (value.length >= 2 && value.startsWith('"') && value.endsWith('"')) value = value.slice(1, -1);
  return { name: match[1]!.toLowerCase(), value };
}

/** Reads ssh arguments the way ssh's getopt does (grouped flags, `-p2222` and `-p 2222`). */
export function parseSshArguments(words: readonly string[]): SshCommandLine {
  const result: SshCommandLine = { configFile: undefined, settings: [], flags: [], strayWords: [], notes: [] };
  for (let index = 0; index < words.length; index++) {
    const word = words[index]!;
    if (word === '--') {
      result.strayWords.push(...words.slice(index + 1));
      break;
    }
    if (!word.startsWith('-') || word === '-') {
      result.strayWords.push(word);
      continue;
    }
    for (let at = 1; at < word.length; at++) {
      const letter = word[at]!;
      if (takesValue.has(letter)) {
        let value = word.slice(at + 1);
        if (value === '') {
          const next = words[index + 1];
          if (next === undefined) {
            result.notes.push(
              `'-${letter}' at the end of NIX_SSHOPTS has no value; ssh stops with "option requires an argument -- ${letter}".`,
            );
            break;
          }
          value = next;
          index++;
        }
        applyValueFlag(result, letter, value);
        break;
      }
      if (knownFlags.has(letter)) result.flags.push(`-${letter}`);
      else result.notes.push(`'-${letter}' is not an ssh option; ssh stops with "unknown option -- ${letter}".`);
    }
  }
  if (result.strayWords.length > 0) {
    result.notes.push(
      `NIX_SSHOPTS holds words that are not options (${result.strayWords.join(' ')}); ssh would run them on the builder in front of Nix's command.`,
    );
  }
  return result;
}

function applyValueFlag(result: SshCommandLine, letter: string, value: string): void {
  if (letter === 'F') {
    result.configFile = value;
    return;
  }
  if (letter === 'o') {
    const option = readOption(value);
    if (option === undefined)
      result.notes.push(
        `'-o ${value}' is not Name=Value; ssh refuses it. Write -o Name=Value (NIX_SSHOPTS cannot quote spaces).`,
      );
    else result.settings.push({ ...option, flag: '-o' });
    return;
  }
  const name = settingOfFlag[letter];
  if (letter === 'J' && result.settings.some((setting) => setting.name === 'proxyjump')) {
    result.notes.push('ssh allows a single -J (and none after -o ProxyJump): "Only a single -J option is permitted".');
  }
  if (name !== undefined) {
    if (name === 'port' && !/^\d+$/.test(value))
      result.notes.push(`'-p ${value}' is not a port number; ssh refuses it.`);
    result.settings.push({ name, value, flag: `-${letter}` });
    return;
  }
  // Other options with a value (-c, -m, -L, -S, …) do not change where or as whom ssh connects.
  result.flags.push(`-${letter} ${value}`);
}

/** NIX_SSHOPTS read as Nix and then ssh read it. */
export function parseNixSshOpts(text: string | undefined): SshCommandLine {
  return parseSshArguments(tokenizeNixSshOpts(text));
}

/**
 * The arguments to give `ssh -G` so it resolves a host with these options: `-F`, `-o`, `-p`,
 * `-l`, `-J` and `-i`, in their order. Nothing else, so no option can make `ssh -G` do more than
 * print its configuration.
 */
export function resolutionArguments(commandLine: SshCommandLine): string[] {
  const args: string[] = [];
  if (commandLine.configFile !== undefined) args.push('-F', commandLine.configFile);
  for (const setting of commandLine.settings) {
    if (setting.flag === '-o') args.push('-o', `${setting.name}=${setting.value}`);
    else args.push(setting.flag, setting.value);
  }
  return args;
}
