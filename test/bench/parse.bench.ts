// Speed of the machines language, against Nix's own parse in the same run:
//   1. parse + diagnose a 10 000-machine file (median of repeated runs);
//   2. our parse of a file vs Nix's parse of the same file, on the machine's Nix and the version
//      lab's: the file gets one more line that Nix rejects, so Nix reads all 10 000 machines and
//      stops at the error before printing anything; the same rejected line alone gives its fixed
//      cost (start, evaluation, the build hook), which is subtracted. Without that line Nix, when
//      no machine fits, prints every row, and that printing is most of its time (said too);
//   3. the LSP round trip didChange → publishDiagnostics on a 50-line file (median, p99);
//   4. over LSP, a 10 000-machine file: didOpen → diagnostics, and one edit of one line (sent
//      as VS Code sends it, a range) → diagnostics, on the first line (every later line moves)
//      and on a middle line.
// Run: node --import tsx test/bench/parse.bench.ts   (needs `npm run build` for the server)
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { analyze } from '../../server/src/language/analysis';
import { nixTarget } from '../../server/src/context/target';
import { detectLocalNix } from '../../server/src/context/localNix';
import { parseBuilders } from '../../server/src/model/machines';
import { isolatedEnv } from '../helpers/nix';
import { nixAnchors, type NixAnchor } from './nixAnchors';
import { LspClient } from '../lsp/helpers/lspClient';

const quantile = (values: number[], q: number) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
};
const median = (values: number[]) => quantile(values, 0.5);
const ms = (value: number) => `${value.toFixed(2)} ms`;

function machinesFile(count: number): string {
  const systems = ['x86_64-linux', 'aarch64-linux', 'x86_64-linux,i686-linux', 'aarch64-darwin'];
  const features = ['-', 'big-parallel', 'kvm,nixos-test', 'benchmark'];
  const lines = ['# generated for the benchmark'];
  for (let i = 0; i < count; i++) {
    lines.push(
      `ssh://nix@builder-${i}.example.org ${systems[i % 4]} - ${1 + (i % 16)} ${1 + (i % 3)} ${features[i % 4]} - -`,
    );
  }
  return `${lines.join('\n')}\n`;
}

/** A line every Nix rejects (column 4 is not a number), after the machines it has read. */
const REJECTED = 'ssh://nix@rejected.example.org x86_64-linux - many 1';

/** `nix-build -j0 --builders @file` of a derivation no machine builds: how long, and what Nix said. */
function nixBuildWith(anchor: NixAnchor, file: string, dir: string): Promise<{ ms: number; said: string }> {
  const expression =
    'derivation { name = "nix-builders-parse-bench"; system = "nix-builders-unmatched-system"; builder = "/bin/sh"; args = [ "-c" "exit 1" ]; }';
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn('nix-build', ['--no-out-link', '-j0', '--builders', `@${file}`, '-E', expression], {
      cwd: dir,
      env: anchor.env(isolatedEnv(dir)),
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let said = '';
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (said += chunk));
    child.on('error', reject);
    child.on('close', () => resolve({ ms: performance.now() - started, said }));
  });
}

/** Nix's time to read `big`'s machines, printing excluded, beside ours. */
async function nixReads(anchor: NixAnchor, big: string, dir: string, ours: { parse: number; full: number }) {
  const name = `Nix ${anchor.version.replace(/^nix \(Nix\) /, '')} (${anchor.where})`;
  const withFile = (file: string, text: string) => (writeFileSync(join(dir, file), text), join(dir, file));
  const bigRejected = withFile('big-rejected.machines', `${big}${REJECTED}\n`);
  const rejectedAlone = withFile('rejected.machines', `${REJECTED}\n`);
  const rows = withFile('big.machines', big);
  const alone: number[] = [];
  const after: number[] = [];
  for (let i = 0; i < 11; i++) {
    // Interleaved, so load on the machine falls on both alike.
    for (const [file, into] of [
      [rejectedAlone, alone],
      [bigRejected, after],
    ] as const) {
      const run = await nixBuildWith(anchor, file, dir);
      if (!run.said.includes("bad machine specification: failed to convert column #3 in a row: 'ssh://nix@rejected")) {
        console.log(
          `${name}: anchor failed, no ratio: it did not reject the last line as expected:\n${run.said.trim()}`,
        );
        return;
      }
      into.push(run.ms);
    }
  }
  const nixParse = median(after) - median(alone);
  console.log(
    `${name}: reads 10 000 machines in ≈ ${ms(nixParse)} (a file whose last line it rejects ${ms(median(after))}, minus that line alone ${ms(median(alone))}; medians of 11; it stops at the error, before printing)`,
  );
  const printed = await nixBuildWith(anchor, rows, dir);
  if (!printed.said.includes('10000 available machines'))
    console.log(`  (the printing path did not list the 10 000 rows:\n${printed.said.trim().slice(0, 400)})`);
  else
    console.log(
      `  when no machine fits it prints every row instead: ${ms(printed.ms)} (one run), ${ms(printed.ms - median(after))} more than stopping at the rejected line: its printing, not its parse`,
    );
  if (nixParse < 1) console.log(`  its parse is below this machine's noise (< 1 ms): no ratio`);
  else
    console.log(
      `  ours/Nix for reading 10 000 machines: parse ${(ours.parse / nixParse).toFixed(2)}×, parse + diagnose ${(ours.full / nixParse).toFixed(2)}×`,
    );
}

async function main() {
  const dir = mkdtempSync(join(tmpdir(), 'nix-builders-bench-'));
  const target = nixTarget('auto', await detectLocalNix());
  console.log(`Target: ${target.describe}`);

  // 1. parse + diagnose 10 000 machines
  const big = machinesFile(10_000);
  const fullRuns: number[] = [];
  const parseRuns: number[] = [];
  for (let i = 0; i < 15; i++) {
    let t = performance.now();
    analyze(big, 'nix-machines', undefined, target);
    fullRuns.push(performance.now() - t);
    t = performance.now();
    parseBuilders(big, target.rules);
    parseRuns.push(performance.now() - t);
  }
  console.log(
    `10 000 machines: parse ${ms(median(parseRuns))}, parse + diagnose ${ms(median(fullRuns))} (median of 15)`,
  );

  // 2. Nix's own parse of the same file, each Nix this machine has
  const ours = { parse: median(parseRuns), full: median(fullRuns) };
  writeFileSync(join(dir, 'nix.conf'), 'substituters =\n');
  const { anchors, missing } = nixAnchors(dir);
  for (const anchor of anchors) await nixReads(anchor, big, dir, ours);
  for (const { name, why } of missing) console.log(`${name}: anchor failed, no ratio: ${why}`);

  // 3. LSP round trip on a 50-line file
  const client = await LspClient.start();
  client.settings = { nixVersion: 'auto' };
  const uri = await client.open(join(dir, 'fifty.machines'), 'nix-machines', machinesFile(49));
  await client.diagnostics(uri);
  const trips: number[] = [];
  for (let i = 0; i < 300; i++) {
    const text = machinesFile(49).replace('builder-7.', `builder-7${i % 10}.`);
    const t = performance.now();
    const version = await client.change(uri, text);
    await client.diagnostics(uri, (p) => p.version === version);
    trips.push(performance.now() - t);
  }
  console.log(
    `LSP didChange → diagnostics, 50 lines: median ${ms(median(trips))}, p99 ${ms(quantile(trips, 0.99))} (300 edits)`,
  );

  // 4. a 10 000-machine file over LSP: open, then one line edited at a time
  const opens: number[] = [];
  for (let i = 0; i < 5; i++) {
    const t = performance.now();
    const bigUri = await client.open(join(dir, `big-${i}.machines`), 'nix-machines', big);
    await client.diagnostics(bigUri);
    opens.push(performance.now() - t);
    await client.close(bigUri);
  }
  console.log(`LSP didOpen → diagnostics, 10 000 machines: median ${ms(median(opens))} (5 opens)`);
  const bigUri = await client.open(join(dir, 'big.machines'), 'nix-machines', big);
  await client.diagnostics(bigUri);
  for (const [where, line] of [
    ['first machine', 1],
    ['middle machine', 5_000],
  ] as const) {
    const edits: number[] = [];
    for (let i = 0; i < 100; i++) {
      // Type a character into the host name, then delete it: the line's length changes each time.
      const at = { line, character: 'ssh://nix@builder'.length };
      const typed = i % 2 === 0;
      const t = performance.now();
      const version = await client.changeRange(
        bigUri,
        typed ? { start: at, end: at } : { start: at, end: { line, character: at.character + 1 } },
        typed ? 'x' : '',
      );
      await client.diagnostics(bigUri, (p) => p.version === version);
      edits.push(performance.now() - t);
    }
    console.log(
      `LSP one-line edit → diagnostics, 10 000 machines, ${where}: median ${ms(median(edits))}, p99 ${ms(quantile(edits, 0.99))} (100 edits)`,
    );
  }
  await client.stop();
  rmSync(dir, { recursive: true, force: true });
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
