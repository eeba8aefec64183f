// Speed of the machines language, against Nix's own parse in the same run:
//   1. parse + diagnose a 10 000-machine file (median of repeated runs);
//   2. our parse of a file vs Nix's parse of the same file (the oracle command minus its fixed
//      cost, measured with a one-machine file);
//   3. the LSP round trip didChange → publishDiagnostics on a 50-line file (median, p99);
//   4. over LSP, a 10 000-machine file: didOpen → diagnostics, and one edit of one line (sent
//      as VS Code sends it, a range) → diagnostics, on the first line (every later line moves)
//      and on a middle line.
// Run: node --import tsx test/bench/parse.bench.ts   (needs `npm run build` for the server)
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { analyze } from '../../server/src/language/analysis';
import { nixTarget } from '../../server/src/context/target';
import { detectLocalNix } from '../../server/src/context/localNix';
import { parseBuilders } from '../../server/src/model/machines';
import { askNixAboutBuilders, findNix } from '../helpers/nix';
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

  // 2. Nix's own parse of the same file, minus its fixed cost
  const nix = findNix();
  if (nix) {
    const bigPath = join(dir, 'big.machines');
    const onePath = join(dir, 'one.machines');
    writeFileSync(bigPath, big);
    writeFileSync(onePath, machinesFile(1));
    const nixBig: number[] = [];
    const nixOne: number[] = [];
    for (let i = 0; i < 7; i++) {
      let t = performance.now();
      await askNixAboutBuilders(`@${onePath}`, mkdtempSync(join(dir, 'o-')), 0);
      nixOne.push(performance.now() - t);
      t = performance.now();
      const answer = await askNixAboutBuilders(`@${bigPath}`, mkdtempSync(join(dir, 'b-')), 0);
      nixBig.push(performance.now() - t);
      if (!answer.accepted || answer.rows.length !== 10_000) throw new Error('Nix did not read the 10 000 machines');
    }
    const nixParse = Math.max(0.001, median(nixBig) - median(nixOne));
    console.log(
      `Nix ${nix.versionText}: 1 machine ${ms(median(nixOne))}, 10 000 machines ${ms(median(nixBig))} → its parse ≈ ${ms(nixParse)}`,
    );
    console.log(
      `Ratio ours/Nix for parsing 10 000 machines: parse ${(median(parseRuns) / nixParse).toFixed(2)}×, parse + diagnose ${(median(fullRuns) / nixParse).toFixed(2)}×`,
    );
  } else {
    console.log('Nix not installed: no ratio against Nix (apt-get install nix-bin)');
  }

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
