// Time and peak memory of the language server on the two pathological sizes of issue 9, over a
// real LSP connection (`node dist/server.js --stdio`):
//   1. a 28-byte document `@wide` whose file has 40 000 entries (200 hosts, each 200 times:
//      39 800 duplicates);
//   2. a 100 000-line nix.conf, opened, then edited twice in quick succession (the second
//      edit's diagnostics are what the user waits for);
//   3. a 100 000-line nix.conf of distinct misspelt setting names (the lint's worst case).
// Peak memory is the server's VmHWM (Linux). Run: npm run build && node --import tsx test/bench/pathological.bench.ts
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { serverInfoRequest } from '../../server/src/protocol';
import { LspClient } from '../lsp/helpers/lspClient';

/** The longest a request not needing the analysis waits while the server works (polled every 20 ms). */
async function longestWait(client: LspClient, until: Promise<unknown>): Promise<number> {
  let done = false;
  void until.then(() => (done = true));
  let longest = 0;
  while (!done) {
    const t = performance.now();
    await client.connection.sendRequest(serverInfoRequest);
    longest = Math.max(longest, performance.now() - t);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return longest;
}

export function wideMachinesFile(entries: number): string {
  const lines: string[] = [];
  for (let i = 0; i < entries; i++) lines.push(`ssh://host-${i % 200} x86_64-linux - 4 1`);
  return `${lines.join('\n')}\n`;
}

export function longNixConf(lines: number): string {
  const result: string[] = [];
  for (let i = 0; i < lines; i++) {
    if (i % 4 === 0) result.push(`builders = ssh://b${i} x86_64-linux - 4`);
    else if (i % 4 === 1) result.push(`max-jobs = ${i % 8}`);
    else if (i % 4 === 2) result.push(`# comment ${i}`);
    else result.push(`buidlers = ssh://typo${i}`);
  }
  return `${result.join('\n')}\n`;
}

const peakRss = (pid: number) => {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8')
    .split('\n')
    .find((l) => l.startsWith('VmHWM:'));
  return line ? `${Math.round(Number(line.split(/\s+/)[1]) / 1024)} MB` : '?';
};

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'nix-builders-bench-'));
  // No Nix command reads these sizes in any useful time (Nix prints all 40 000 rows of @wide;
  // parse.bench.ts compares the reading itself), so there is no anchor: the rules are named.
  const installed = spawnSync('nix', ['--version'], { encoding: 'utf8' }).stdout?.trim() || 'no Nix installed';
  console.log(`Nix rules followed: 2.8 (nixVersion '2.8'); no Nix anchor in this bench (installed: ${installed})`);
  try {
    writeFileSync(join(dir, 'wide'), wideMachinesFile(40_000));
    {
      const client = await LspClient.start();
      client.settings = { nixVersion: '2.8' };
      const t = performance.now();
      const uri = await client.open(join(dir, 'doc.machines'), 'nix-machines', `@${join(dir, 'wide')}`);
      const pending = client.diagnostics(uri, () => true, 600_000);
      const wait = await longestWait(client, pending);
      const diagnostics = await pending;
      console.log(
        `@wide (40 000 entries): ${(performance.now() - t).toFixed(0)} ms, ${diagnostics.length} diagnostics, peak RSS ${peakRss(client.process.pid!)}, longest request wait ${wait.toFixed(0)} ms`,
      );
      await client.stop();
    }
    {
      const client = await LspClient.start();
      client.settings = { nixVersion: '2.8' };
      const text = longNixConf(100_000);
      let t = performance.now();
      const uri = await client.open(join(dir, 'nix.conf'), 'nix-conf', text);
      const pending = client.diagnostics(uri, () => true, 600_000);
      const wait = await longestWait(client, pending);
      const diagnostics = await pending;
      console.log(
        `nix.conf (100 000 lines): ${(performance.now() - t).toFixed(0)} ms, ${diagnostics.length} diagnostics, peak RSS ${peakRss(client.process.pid!)}, longest request wait ${wait.toFixed(0)} ms`,
      );
      t = performance.now();
      await client.change(uri, `# edit 1\n${text}`);
      await client.change(uri, `# edit 2\n${text}`);
      const after = await client.diagnostics(uri, () => true, 600_000);
      console.log(
        `  two quick edits: ${(performance.now() - t).toFixed(0)} ms to the last version's ${after.length} diagnostics, peak RSS ${peakRss(client.process.pid!)}`,
      );
      await client.stop();
    }
    {
      // The worst shape for the lint: every line a distinct misspelt setting ("Did you mean …?" each).
      const client = await LspClient.start();
      client.settings = { nixVersion: '2.8' };
      const lines: string[] = [];
      for (let i = 0; i < 100_000; i++) lines.push(`buidlers${i} = ssh://h${i}`);
      const t = performance.now();
      const uri = await client.open(join(dir, 'typos.conf'), 'nix-conf', `${lines.join('\n')}\n`);
      const pending = client.diagnostics(uri, () => true, 600_000);
      const wait = await longestWait(client, pending);
      const diagnostics = await pending;
      console.log(
        `nix.conf (100 000 misspelt settings): ${(performance.now() - t).toFixed(0)} ms, ${diagnostics.length} diagnostics, peak RSS ${peakRss(client.process.pid!)}, longest request wait ${wait.toFixed(0)} ms`,
      );
      await client.stop();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (require.main === module) void main();
