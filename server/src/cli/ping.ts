// `nix-builders ping`: probes every machine in parallel, exactly as the view does, and prints
// each result as it arrives (or one JSON document). Exit 1 when any machine is unusable.
import { createInterface } from 'node:readline';
import { Writable } from 'node:stream';
import { probeMachines, type ProbeResult } from '../health/probe';
import type { OutputFormat } from './options';
import type { ChosenMachines } from './machinesOption';

export interface PingOptions {
  sshConfigFile: string | undefined;
  timeoutSeconds: number | undefined;
  format: OutputFormat;
}

const marks = { up: '✓', degraded: '!', down: '✗' } as const;

function describe(result: ProbeResult): string {
  const f = result.facts;
  const facts = [f.daemonNixVersion ?? f.nixVersion ? `Nix ${f.daemonNixVersion ?? f.nixVersion}` : '', f.system ?? '', f.cores !== undefined ? `${f.cores} cores` : '']
    .filter(Boolean)
    .join(', ');
  const lines = [`${marks[result.status]} ${result.uri}  ${result.status}  ${Math.round(result.ms)} ms${facts ? `  (${facts})` : ''}`];
  for (const finding of result.findings) {
    if (finding.code === 'ok') continue;
    lines.push(`    ${finding.severity} ${finding.code}: ${finding.message}`);
  }
  return lines.join('\n');
}

/** Reads a passphrase from the terminal without echoing it; undefined without a terminal. */
function passphraseFromTerminal(keyFile: string): Promise<string | undefined> {
  if (!process.stdin.isTTY) return Promise.resolve(undefined);
  return new Promise((resolve) => {
    // readline echoes what is typed to its output: give it one that writes nothing.
    const silent = new Writable({ write: (_chunk, _encoding, done) => done() });
    const rl = createInterface({ input: process.stdin, output: silent, terminal: true });
    process.stderr.write(`Passphrase for ${keyFile} (not shown, not stored): `);
    rl.question('', (answer) => {
      rl.close();
      process.stderr.write('\n');
      resolve(answer);
    });
  });
}

export async function runPing(chosen: ChosenMachines, options: PingOptions): Promise<number> {
  if (chosen.machines.length === 0) {
    process.stderr.write(`No machines in ${chosen.from}${chosen.error ? `: Nix rejects the list (${chosen.error})` : ''}.\n`);
    return chosen.error ? 1 : 0;
  }
  if (chosen.error) process.stderr.write(`warning: Nix rejects ${chosen.from} as a whole: ${chosen.error}\n`);
  const passphrases = new Map<string, string | undefined>();
  const results = await probeMachines(
    chosen.machines,
    {
      ...(options.timeoutSeconds !== undefined ? { timeoutMs: options.timeoutSeconds * 1000 } : {}),
      ...(options.sshConfigFile ? { sshConfigFile: options.sshConfigFile } : {}),
      daemon: chosen.local.daemon,
      askPassphrase: async (keyFile) => {
        if (!passphrases.has(keyFile)) passphrases.set(keyFile, await passphraseFromTerminal(keyFile));
        return passphrases.get(keyFile);
      },
    },
    (result) => {
      if (options.format === 'text') process.stdout.write(`${describe(result)}\n`);
    },
  );
  if (options.format === 'json') {
    const json = results.map((r) => ({
      uri: r.uri,
      status: r.status,
      findings: r.findings.map(({ code, severity, message }) => ({ code, severity, message })),
      stages: r.stages.map(({ name, ms }) => ({ name, ms: Math.round(ms) })),
      facts: r.facts,
    }));
    process.stdout.write(`${JSON.stringify(json, null, 2)}\n`);
  } else {
    const up = results.filter((r) => r.status !== 'down').length;
    process.stderr.write(`${up}/${results.length} builders usable (${chosen.from}).\n`);
  }
  return results.some((r) => r.status === 'down') ? 1 : 0;
}
