// The build path's timing trace, for the bench and for anyone asking "where did the time go":
// with NIX_BUILDERS_TRACE=1 in the environment, each phase of a build (node start and bundle
// load, evaluation, `ssh -G`, connect, closure query, copy in, remote build, copy out, import)
// is one line on stderr as it ends:
//     nix-builders trace: {"phase":"evaluation","at":61.2,"ms":120.3}
// `at` is when the phase started, in ms since this process started (performance.timeOrigin),
// so phases that run at once show as overlapping. Never on stdout (the CLI's output and the
// server's LSP channel), never without the variable, and never with anything but the phase's
// name and times: no command line, no path, no host.
import { performance } from 'node:perf_hooks';

/** The prefix of every trace line, for a reader that picks them out of stderr. */
export const tracePrefix = 'nix-builders trace: ';

export interface TracedPhase {
  phase: string;
  /** Start, ms since the process started. */
  at: number;
  ms: number;
}

const tracing = () => process.env.NIX_BUILDERS_TRACE === '1';

function write(entry: TracedPhase): void {
  try {
    process.stderr.write(`${tracePrefix}${JSON.stringify(entry)}\n`);
  } catch {
    // A trace that cannot be written must never stop the work it measures.
  }
}

/** Starts timing `phase`; the returned function ends it (later calls do nothing). */
export function tracePhase(phase: string): () => void {
  if (!tracing()) return () => undefined;
  const at = performance.now();
  let ended = false;
  return () => {
    if (ended) return;
    ended = true;
    write({ phase, at: round(at), ms: round(performance.now() - at) });
  };
}

/** Times `work` as `phase`, however it settles. */
export async function traced<T>(phase: string, work: () => Promise<T>): Promise<T> {
  const end = tracePhase(phase);
  try {
    return await work();
  } finally {
    end();
  }
}

/** A phase that began when the process did and ends now (node start and bundle load). */
export function traceSinceStart(phase: string): void {
  if (tracing()) write({ phase, at: 0, ms: round(performance.now()) });
}

/** A phase that began at `at` (ms since the process started) and ends now. */
export function traceSince(phase: string, at: number): void {
  if (tracing()) write({ phase, at: round(at), ms: round(performance.now() - at) });
}

/** The trace lines among a process's stderr lines (the bench's reader). */
export function tracedPhases(stderr: string): TracedPhase[] {
  return stderr
    .split('\n')
    .filter((line) => line.startsWith(tracePrefix))
    .map((line) => JSON.parse(line.slice(tracePrefix.length)) as TracedPhase);
}

const round = (ms: number) => Math.round(ms * 10) / 10;
