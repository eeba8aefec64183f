// The options of `nix-builders`, one table for every subcommand, so an option means the same
// wherever it appears.
import { parseArgs } from 'node:util';

export const cliOptions = {
  'nix-version': { type: 'string' },
  format: { type: 'string', default: 'text' },
  machines: { type: 'string' },
  builders: { type: 'string' },
  'ssh-config': { type: 'string' },
  timeout: { type: 'string' },
  system: { type: 'string' },
  features: { type: 'string' },
  attr: { type: 'string', short: 'A' },
  on: { type: 'string' },
  distributed: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
  version: { type: 'boolean', short: 'V' },
} as const;

export type CliValues = ReturnType<typeof parseCommandLine>['values'];

/** Throws a TypeError with a message for the user on an unknown option or a missing value. */
export function parseCommandLine(args: string[]) {
  return parseArgs({ args, options: cliOptions, allowPositionals: true, strict: true });
}

export type OutputFormat = 'text' | 'json';

export function outputFormat(values: CliValues): OutputFormat {
  const format = values.format ?? 'text';
  if (format !== 'text' && format !== 'json') throw new TypeError(`--format must be text or json, not '${format}'`);
  return format;
}
