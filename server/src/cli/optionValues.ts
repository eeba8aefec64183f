// The values the options take, read strictly: a value the CLI cannot use exactly as given is
// refused with the accepted form, never rounded, clamped or ignored (a timeout of 1e9 seconds
// once overflowed setTimeout into 1 ms and made every builder look down).
import { newestKnownNix } from '../context/localNix';
import { formatNixVersion, type NixVersion } from '../model/nixVersion';
import { UsageError } from './usageError';

/** An hour per stage: more is a hung builder, and stays far below setTimeout's 2^31-1 ms. */
export const maxTimeoutSeconds = 3600;

/** `--timeout S`: decimal seconds, 0 < S ≤ an hour (no exponents, no Infinity, no hex). */
export function timeoutSeconds(text: string): number {
  const seconds = /^(\d+(\.\d*)?|\.\d+)$/.test(text) ? Number(text) : Number.NaN;
  if (!(seconds > 0 && seconds <= maxTimeoutSeconds)) {
    throw new UsageError(
      `--timeout must be a number of seconds above 0 and at most ${maxTimeoutSeconds}, not '${text}'`,
      'Give it as e.g. --timeout 10 or --timeout 2.5',
    );
  }
  return seconds;
}

/** Nix 2 is the only Nix the rules describe; its minor versions stay below 100. */
const nixVersionForm = /^2\.(\d{1,2})(?:\.(\d{1,3}))?$/;

export interface NixVersionChoice {
  /** What to pass on as the setting (`auto` or the version as given). */
  setting: string;
  /** Said on stderr, not an error: a version newer than the rules know is read as the newest. */
  note?: string;
}

/** `--nix-version V`: `auto`, `2.x` or `2.x.y`. */
export function nixVersionChoice(text: string): NixVersionChoice {
  if (text === 'auto') return { setting: text };
  const match = nixVersionForm.exec(text);
  if (!match) {
    throw new UsageError(
      `--nix-version must be a Nix version from 2.0 to 2.99, as 2.x or 2.x.y (such as 2.8 or 2.24.3), not '${text}'`,
      'Give the version the builds run with (nix --version prints it), or leave the option out to use the installed Nix',
    );
  }
  const version: NixVersion = { major: 2, minor: Number(match[1]), patch: Number(match[2] ?? 0) };
  const newer = version.minor > newestKnownNix.minor;
  return newer
    ? {
        setting: text,
        note: `Nix ${formatNixVersion(version)} is newer than the newest Nix these rules know (${newestKnownNix.major}.${newestKnownNix.minor}); it is checked with that one's rules`,
      }
    : { setting: text };
}

export type OutputFormat = 'text' | 'json';

export function outputFormat(text: string | undefined): OutputFormat {
  const format = text ?? 'text';
  if (format !== 'text' && format !== 'json')
    throw new UsageError(
      `--format must be text or json, not '${format}'`,
      'Use --format json for programs, or leave it out',
    );
  return format;
}
