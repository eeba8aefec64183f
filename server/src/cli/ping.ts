// `nix-builders ping`: probes every machine in parallel, exactly as the view does, and prints
// each result as it arrives (or one JSON document). Exit 1 when any machine is unusable, 3 when
// one could not be checked at all: a ping that checked nothing must not pass for a good one.
import type { FindingCode } from '../health/findings';
import { probeMachines, type ProbeResult } from '../health/probe';
import { exitCodes } from './exitCodes';
import type { OutputFormat } from './options';
import type { ChosenMachines } from './machinesOption';
import { passphrasePrompt } from './passphrasePrompt';

export interface PingOptions {
  sshConfigFile: string | undefined;
  timeoutSeconds: number | undefined;
  format: OutputFormat;
}

const marks = { up: '✓', degraded: '!', down: '✗', 'not checked': '?' } as const;

/** Findings that mean the probe never got to check the builder (it is neither up nor down). */
const notCheckedCodes = new Set<FindingCode>(['proxy-command-unsupported']);

const checked = (result: ProbeResult) => !result.findings.some((f) => notCheckedCodes.has(f.code));

function describe(result: ProbeResult): string {
  const f = result.facts;
  const facts = [
    (f.daemonNixVersion ?? f.nixVersion) ? `Nix ${f.daemonNixVersion ?? f.nixVersion}` : '',
    f.system ?? '',
    f.cores !== undefined ? `${f.cores} cores` : '',
  ]
    .filter(Boolean)
    .join(', ');
  const status = checked(result) ? result.status : 'not checked';
  const lines = [
    `${marks[status]} ${result.uri}  ${status}  ${Math.round(result.ms)} ms${facts ? `  (${facts})` : ''}`,
  ];
  for (const finding of result.findings) {
    if (finding.code === 'ok') continue;
    lines.push(`    ${finding.severity} ${finding.code}: ${finding.message}`);
  }
  return lines.join('\n');
}

export async function runPing(chosen: ChosenMachines, options: PingOptions): Promise<number> {
  if (chosen.machines.length === 0) {
    const why = chosen.error ? `Nix rejects the list (${chosen.error})` : 'nothing to check';
    process.stderr.write(`No machines in ${chosen.readFrom}: ${why}.\n`);
    return chosen.error ? exitCodes.failed : exitCodes.notChecked;
  }
  if (chosen.error) process.stderr.write(`warning: Nix rejects ${chosen.from} as a whole: ${chosen.error}\n`);
  const passphrase = passphrasePrompt();
  const results = await probeMachines(
    chosen.machines,
    {
      ...(options.timeoutSeconds !== undefined ? { timeoutMs: options.timeoutSeconds * 1000 } : {}),
      ...(options.sshConfigFile ? { sshConfigFile: options.sshConfigFile } : {}),
      daemon: chosen.local.daemon,
      portInUri: chosen.target.rules.portInUri,
      askPassphrase: passphrase.ask,
    },
    (result) => {
      if (options.format === 'text') process.stdout.write(`${describe(result)}\n`);
    },
  );
  if (options.format === 'json') {
    const json = results.map((r) => ({
      uri: r.uri,
      status: r.status,
      checked: checked(r),
      findings: r.findings.map(({ code, severity, message }) => ({ code, severity, message })),
      stages: r.stages.map(({ name, ms }) => ({ name, ms: Math.round(ms) })),
      facts: r.facts,
    }));
    process.stdout.write(`${JSON.stringify(json, null, 2)}\n`);
  } else {
    const unchecked = results.filter((r) => !checked(r)).length;
    const up = results.filter((r) => r.status !== 'down' && checked(r)).length;
    process.stderr.write(
      `${up}/${results.length} builders usable${unchecked ? `, ${unchecked} not checked` : ''} (${chosen.from}).\n`,
    );
  }
  if (results.some((r) => r.status === 'down')) return exitCodes.failed;
  return results.every(checked) ? exitCodes.ok : exitCodes.notChecked;
}
