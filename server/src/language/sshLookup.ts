// The SSH settings ssh would use for a builder's host: `ssh -G` when the workspace is trusted and
// ssh is installed (it evaluates everything, `Match` included), else the config files read by
// sshConfig.ts. `ssh -G` runs from an argument list (never a shell) and never for a host that
// starts with `-` (ssh would read it as an option; Nix refuses such hosts too).
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, join } from 'node:path';
import { sshOptionsFromConfig, userSshConfig, withSshDefaults, type SshOptions } from './sshConfig';

export interface SshLookupRequest {
  /** The host as the store URI names it (an alias or a real name). */
  host: string;
  user?: string;
  /** Only when the targeted Nix passes a port from the URI on to ssh. */
  port?: string;
  /** `nixBuilders.sshConfigFile` (like `ssh -F`); undefined for ssh's default files. */
  configFile?: string;
  /** `ssh -G` may run (the workspace is trusted). */
  trusted: boolean;
}

export interface SshLookup {
  options: SshOptions;
  /** Where the settings come from, for the hover. */
  source: 'ssh -G' | 'ssh config';
  /** Why the config files were read instead of asking ssh, or what they could not evaluate. */
  note?: string;
}

export type SshLookupResult = SshLookup | { error: string };

const cacheMs = 30_000;
const cache = new Map<string, { at: number; result: Promise<SshLookupResult> }>();

function findOnPath(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir && existsSync(join(dir, name))) return join(dir, name);
  }
  return undefined;
}

export function sshGArguments(request: SshLookupRequest): string[] {
  const args = ['-G'];
  if (request.configFile) args.push('-F', request.configFile);
  if (request.port) args.push('-p', request.port);
  if (request.user) args.push('-l', request.user);
  args.push('--', request.host);
  return args;
}

/** Reads `ssh -G` output: one `keyword value` per line. */
export function parseSshG(output: string): SshOptions {
  const options: SshOptions = new Map();
  for (const line of output.split('\n')) {
    const space = line.indexOf(' ');
    if (space <= 0) continue;
    const key = line.slice(0, space).toLowerCase();
    options.set(key, [...(options.get(key) ?? []), line.slice(space + 1)]);
  }
  return options;
}

function runSshG(ssh: string, request: SshLookupRequest): Promise<SshLookupResult> {
  return new Promise((resolve) => {
    execFile(ssh, sshGArguments(request), { timeout: 5000, encoding: 'utf8' }, (error, stdout, stderr) => {
      if (error) {
        const why = String(stderr || error.message).trim().split('\n').pop();
        resolve({ error: `ssh -G failed: ${why}` });
      } else {
        resolve({ options: parseSshG(String(stdout)), source: 'ssh -G' });
      }
    });
  });
}

function fromConfigFiles(request: SshLookupRequest, why: string | undefined): SshLookup {
  const { options, skippedMatch } = sshOptionsFromConfig(request.host, request.configFile, homedir());
  const notes = [why, skippedMatch ? '`Match` blocks are not evaluated here' : undefined].filter(Boolean);
  const result: SshLookup = { options: withSshDefaults(options, request.host, request.user, request.port), source: 'ssh config' };
  if (notes.length > 0) result.note = notes.join('; ');
  return result;
}

/** The effective SSH settings of a host (cached for half a minute). */
export function lookUpSshSettings(request: SshLookupRequest): Promise<SshLookupResult> {
  if (request.host === '' || request.host.startsWith('-') || request.user?.startsWith('-')) {
    return Promise.resolve({ error: `'${request.host}' is not a host ssh can be asked about` });
  }
  const key = JSON.stringify(request);
  const cached = cache.get(key);
  if (cached && Date.now() - cached.at < cacheMs) return cached.result;
  let result: Promise<SshLookupResult>;
  const ssh = request.trusted ? findOnPath('ssh') : undefined;
  if (!request.trusted) {
    result = Promise.resolve(fromConfigFiles(request, 'read from the config files: `ssh -G` runs only in a trusted workspace'));
  } else if (ssh === undefined) {
    result = Promise.resolve(fromConfigFiles(request, 'read from the config files: no ssh binary found'));
  } else {
    result = runSshG(ssh, request).then((answer) => ('error' in answer ? fromConfigFiles(request, answer.error) : answer));
  }
  cache.set(key, { at: Date.now(), result });
  return result;
}

/** The config file named in hovers. */
export function describeConfigFile(configFile: string | undefined): string {
  return configFile ? configFile : userSshConfig(undefined, '~');
}
