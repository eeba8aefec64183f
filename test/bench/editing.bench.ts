// Speed of completion and hover on a 1 000-line machines file over a real LSP connection
// (`node dist/server.js --stdio`), median and p99 of many requests at different columns:
//   1. on an unchanged document (the analysis is cached per version);
//   2. right after an edit (the request waits for the 1 000-line file to be analysed again),
//      with the edit → diagnostics round trip of the same file as the anchor;
//   3. a 10 000-machine file, without and with an SSH key in column 3 (one problem per line,
//      1 001 diagnostics published): open, and one-line edits (first, middle, last line) →
//      diagnostics, as the wall-clock round trip and as the server's own CPU time per open and edit
//      (/proc: what a loaded machine does not inflate), and where an analysis goes in-process
//      (parse, lint, conversion of the document as a ranged edit leaves it, the JSON of the
//      publish and its UTF-8 bytes, which are the floor LSP sets), beside the floor no open goes
//      below (the server's decoding of the didOpen message, and the text split into lines and columns).
// Run: npm run build && node --import tsx test/bench/editing.bench.ts
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { Position } from 'vscode-languageserver-protocol';
import { TextDocument } from 'vscode-languageserver-textdocument';
import { LspClient } from '../lsp/helpers/lspClient';
import { analyzeInSteps, lineMemo } from '../../server/src/language/analysis';
import { detectLocalNix } from '../../server/src/context/localNix';
import { fileIndex } from '../../server/src/context/positions';
import { nixTarget } from '../../server/src/context/target';
import { WatchedFiles } from '../../server/src/context/watchedFiles';
import { diagnosticsByLineToPublish } from '../../server/src/language/publishedDiagnostics';
import { positionsFrom } from '../../server/src/language/linePositions';
import type { LineParse } from '../../server/src/model/lineMemo';

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

/** `keyDir`: column 3 names one of 50 keys there (missing: one warning per line). */
function machinesFile(lines: number, keyDir?: string): string {
  const result = ['# generated for the benchmark'];
  for (let i = 1; i < lines; i++) {
    result.push(
      `ssh://nix@builder-${i}.example.org ${systems[i % 4]} ${keyDir ? join(keyDir, `key-${i % 50}`) : '-'} ${1 + (i % 16)} ${1 + (i % 3)} ${features[i % 4]} - ${i % 2 ? key : '-'}`,
    );
  }
  return `${result.join('\n')}\n`;
}

/** The server's CPU time so far, in ms (utime + stime of /proc/PID/stat). */
function serverCpu(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8')
    .replace(/^.*\) /, '')
    .split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100; // clock ticks: USER_HZ is 100 on Linux
}

/** This process's CPU time in ms. */
function cpu(): number {
  const used = process.cpuUsage();
  return (used.user + used.system) / 1000;
}

/** A 10 000-machine file over LSP: open, then one line typed into and back, at three places. */
async function tenThousand(client: LspClient, dir: string, keyDir: string | undefined): Promise<void> {
  const text = machinesFile(10_001, keyDir);
  const name = keyDir ? 'with an SSH key per line' : 'no problems';
  const opens: number[] = [];
  let count = 0;
  const cpuBefore = serverCpu(client.process.pid!);
  // 21 opens: a median of 5 moved by a third with one slow turn of a loaded machine.
  for (let i = 0; i < 21; i++) {
    const t = performance.now();
    const opened = await client.open(join(dir, `open-${name.length}-${i}.machines`), 'nix-machines', text);
    count = (await client.diagnostics(opened)).length;
    opens.push(performance.now() - t);
    await client.close(opened);
  }
  // With the close that follows each open (which publishes an empty list): what the server spends per file opened.
  const perOpen = (serverCpu(client.process.pid!) - cpuBefore) / opens.length;
  console.log(
    `10 000 machines (${name}), didOpen → diagnostics: ${figures(opens)}, ${count} diagnostics; server CPU ${ms(perOpen)} per open`,
  );
  const uri = await client.open(join(dir, `${name.length}.machines`), 'nix-machines', text);
  await client.diagnostics(uri);
  for (const [where, line] of [
    ['first', 1],
    ['middle', 5_000],
    ['last', 10_000],
  ] as const) {
    const edits: number[] = [];
    const before = serverCpu(client.process.pid!);
    for (let i = 0; i < 100; i++) {
      const at = { line, character: 'ssh://nix@builder'.length };
      const typed = i % 2 === 0;
      const t = performance.now();
      const version = await client.changeRange(
        uri,
        typed ? { start: at, end: at } : { start: at, end: { line, character: at.character + 1 } },
        typed ? 'x' : '',
      );
      await client.diagnostics(uri, (p) => p.version === version);
      edits.push(performance.now() - t);
    }
    const perEdit = (serverCpu(client.process.pid!) - before) / edits.length;
    console.log(
      `  one-line edit of the ${where} machine → diagnostics: ${figures(edits)}; server CPU ${ms(perEdit)} per edit`,
    );
  }
  await client.close(uri);
}

/** Where one analysis of the 10 000-machine file goes, in this process (CPU time, median of 21). */
async function phases(keyDir: string | undefined): Promise<void> {
  const target = nixTarget('auto', await detectLocalNix());
  const text = machinesFile(10_001, keyDir);
  const median = (values: number[]) => ms(quantile(values, 0.5));
  const times = () => ({
    parse: [] as number[],
    lint: [] as number[],
    convert: [] as number[],
    json: [] as number[],
    bytes: [] as number[],
  });
  const open = times();
  const edit = times();
  const files = new WatchedFiles();
  const at = text.indexOf('builder-5000.') + 'builder'.length;
  for (let i = 0; i < 21; i++) {
    const memo = lineMemo();
    // The document as the server's TextDocuments keeps it: opened, then a ranged edit (its line offsets updated, not built again).
    let document = TextDocument.create('file:///bench.machines', 'nix-machines', 1, text);
    for (const [runs, version] of [
      [open, text],
      [edit, `${text.slice(0, at)}x${text.slice(at)}`],
    ] as const) {
      if (version !== document.getText()) {
        const position = document.positionAt(at);
        document = TextDocument.update(document, [{ range: { start: position, end: position }, text: 'x' }], 2);
      }
      let t = cpu();
      let parsed = 0;
      const analysis = await analyzeInSteps(
        version,
        'nix-machines',
        undefined,
        target,
        async () => void (parsed = cpu()),
        memo,
        files,
      );
      runs.parse.push(parsed - t);
      runs.lint.push(cpu() - parsed);
      t = cpu();
      // As the server's checker: an open's positions from the parse's line starts (linePositions.ts).
      const diagnostics = diagnosticsByLineToPublish(
        analysis.problemsByLine!,
        runs === open ? positionsFrom(document, (analysis.builders as LineParse).lines) : document,
        fileIndex(() => undefined),
      );
      runs.convert.push(cpu() - t);
      t = cpu();
      const json = JSON.stringify({ uri: document.uri, version: document.version, diagnostics });
      runs.json.push(cpu() - t);
      t = cpu();
      Buffer.from(json, 'utf-8'); // what vscode-jsonrpc's writer does next
      runs.bytes.push(cpu() - t);
    }
  }
  files.close();
  // The floor an open over LSP cannot go below: the server decodes the didOpen message (the
  // bytes to a string, the string to JSON), and any reading of the text splits it into lines and
  // columns (here the least: a string per column, nothing checked).
  const floor = { decode: [] as number[], split: [] as number[] };
  const message = Buffer.from(
    JSON.stringify({
      jsonrpc: '2.0',
      method: 'textDocument/didOpen',
      params: { textDocument: { uri: 'file:///bench.machines', languageId: 'nix-machines', version: 1, text } },
    }),
  );
  for (let i = 0; i < 21; i++) {
    let t = cpu();
    JSON.parse(message.toString('utf8'));
    floor.decode.push(cpu() - t);
    t = cpu();
    let columns = 0;
    for (const line of text.split('\n')) columns += line.split(' ').length;
    floor.split.push(cpu() - t);
    if (columns === 0) throw new Error('no columns');
  }
  console.log(
    `  floor: decoding the didOpen message ${median(floor.decode)}, splitting the text into lines and columns ${median(floor.split)}`,
  );
  for (const [what, runs] of [
    ['open', open],
    ['edit of the middle line', edit],
  ] as const)
    console.log(
      `  in-process ${what}: parse ${median(runs.parse)}, lint ${median(runs.lint)}, to diagnostics ${median(runs.convert)}, JSON of the publish ${median(runs.json)}, its UTF-8 bytes ${median(runs.bytes)}`,
    );
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
  // No Nix command edits a file: this bench's anchors are ours (a 50-line file, an unchanged
  // document); Nix's own reading of the same 10 000 machines is parse.bench.ts'.
  const local = await detectLocalNix();
  console.log(
    `Nix rules followed: ${nixTarget('auto', local).describe} (nixVersion 'auto'); no Nix anchor in this bench (Nix's own parse: parse.bench.ts)`,
  );
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

  const keyDir = join(dir, 'keys'); // never created: each key is missing, one warning per line
  for (const keys of [undefined, keyDir]) {
    await tenThousand(client, dir, keys);
    await phases(keys);
  }
  await client.stop();
  rmSync(dir, { recursive: true, force: true });
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
