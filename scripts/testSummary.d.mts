// Types of testSummary.mjs for the unit test that holds it (test/unit/testSummary.test.ts).
export interface Counts {
  passed: number;
  failed: number;
  skipped: number;
  /** One summary line per run of a tier that runs more than once. */
  runs: string[];
}
export function countsLine(counts: Pick<Counts, 'passed' | 'failed' | 'skipped'>): string;
export function countTests(output: string): Counts;
export function skippedBecause(name: string, output: string, counts: Counts): string | undefined;
