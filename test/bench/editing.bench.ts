// Speed of completion and hover on a 1 000-line machines file over a real LSP connection
// (`node dist/server.js --stdio`), median and p99 of many requests at different columns:
//   1. on an unchanged document (the analysis is cached per version);
//   2. right after an edit (the request waits for the 1 000-line file to be analysed again),
//      with the edit → diagnostics round trip of the same file as the anchor.
// Run: npm run build && node --import tsx test/bench/editing.bench.ts
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { Position } from 'vscode-languageserver-protocol';
import { LspClient } from '../lsp/helpers/lspClient';

const quantile = (values: number[], q: number) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
};
const ms = (value: number) => `${value.toFixed(2)} ms`;
const figures = (values: number[]) =>
  `median ${ms(quantile(values, 0.5))}, p99 ${ms(quantile(values, 0.99))} (${values.length} requests)`;

const systems = ['x86_64-linux', 'aarch64-linux', 'x86_64-linux,i686-linux', 'aarch64-darwin'];
const features = ['-', 'big-parallel', 'kvm,nixos-test', 'benchmark'];
const key =
  'c3NoLWVkMjU1MTkgQUFBQUMzTnphQzFsWkRJMU5URTVBQUFBSUpTMk9ja01YUjJvSW9TNWh6YzQ5N2hQY1hJV2ZjeEpNOVJYdWxQTkZxWVUgcm9vdEBidWlsZGVyCg==';

function machinesFile(lines: number): string {
  const result = ['# generated for the benchmark'];
  for (let i = 1; i < lines; i++) {
    result.push(
      `ssh://nix@builder-${i}.example.org ${systems[i % 4]} - ${1 + (i % 16)} ${1 + (i % 3)} ${features[i % 4]} - ${i % 2 ? key : '-'}`,
    );
  }
  return `${result.join('\n')}\n`;
}

/** Positions spread over the file, cycling through the columns (URI, systems, maxJobs, features, host key). */
function positions(text: string, count: number): Position[] {
  const lines = text.split('\n');
  const result: Position[] = [];
  for (let i = 0; i < count; i++) {
    const line = 1 + ((i * 37) % (lines.length - 2));
    const columns = lines[line]!.split(' ');
    const column = [0, 1, 3, 5, 7][i % 5]!;
    const start = columns.slice(0, column).join(' ').length + (column > 0 ? 1 : 0);
    result.push({ line, character: start + Math.min(3, columns[column]!.length) });
  }
  return result;
}

async function time(work: () => Promise<unknown>): Promise<number> {
  const t = performance.now();
  await work();
  return performance.now() - t;
}

async function main() {
  const dir = mkdtempSync(join(tmpdir(), 'nix-builders-editing-bench-'));
  const client = await LspClient.start();
  client.settings = { nixVersion: 'auto' };
  const text = machinesFile(1000);
  const uri = await client.open(join(dir, 'thousand.machines'), 'nix-machines', text);
  await client.diagnostics(uri);
  const at = positions(text, 500);

  // Warm up (JIT, first reads of ~/.ssh files).
  for (const position of at.slice(0, 50)) {
    await client.completion(uri, position);
    await client.hover(uri, position);
  }

  const completion: number[] = [];
  const hover: number[] = [];
  for (const position of at) {
    completion.push(await time(() => client.completion(uri, position)));
    hover.push(await time(() => client.hover(uri, position)));
  }
  console.log(`1 000-line machines file, unchanged document:`);
  console.log(`  completion: ${figures(completion)}`);
  console.log(`  hover:      ${figures(hover)}`);

  // After an edit: each request has to wait for the new version's analysis.
  const afterEdit: number[] = [];
  const hoverAfterEdit: number[] = [];
  const diagnostics: number[] = [];
  for (let i = 0; i < 100; i++) {
    const edited = text.replace('builder-7.', `builder-7${i}.`);
    let version = await client.change(uri, edited);
    afterEdit.push(await time(() => client.completion(uri, at[i]!)));
    version = await client.change(uri, edited.replace('builder-8.', `builder-8${i}.`));
    hoverAfterEdit.push(await time(() => client.hover(uri, at[i]!)));
    const v = version;
    await client.diagnostics(uri, (p) => p.version === v);
    const anchor = edited.replace('builder-9.', `builder-9${i}.`);
    diagnostics.push(
      await time(async () => {
        const w = await client.change(uri, anchor);
        await client.diagnostics(uri, (p) => p.version === w);
      }),
    );
  }
  console.log(`1 000-line machines file, right after an edit:`);
  console.log(`  completion: ${figures(afterEdit)}`);
  console.log(`  hover:      ${figures(hoverAfterEdit)}`);
  console.log(`  anchor, edit → diagnostics: ${figures(diagnostics)}`);
  await client.stop();
  rmSync(dir, { recursive: true, force: true });
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
