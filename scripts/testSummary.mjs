// How `npm test` (scripts/test.mjs) reads a tier's output into its summary: the counts node's
// test runner or our mocha suite printed, one line per run of a tier that runs more than once
// (the vscode tier, once per VS Code version), and why a tier that ran nothing was skipped.

export function countsLine({ passed, failed, skipped }) {
  return `${passed} passed, ${failed} failed, ${skipped} skipped`;
}

/**
 * Why a tier ran nothing, or undefined when it ran something: its own `tier: skipped — why`
 * line, or, when every test it has skipped, the first reason it printed for skipping.
 */
export function skippedBecause(name, output, counts) {
  const own = [...output.matchAll(new RegExp(`^${name}: skipped — (.+)$`, 'gm'))].pop();
  if (own && counts.passed === 0 && counts.failed === 0) return own[1];
  if (counts.passed > 0 || counts.failed > 0 || counts.skipped === 0) return undefined;
  const reason = /SKIPP(?:ED|ING)[^:\n]*: (.+)/.exec(output);
  return `all ${counts.skipped} tests skipped${reason ? `: ${reason[1].replace(/\s*\*+$/, '')}` : ''}`;
}

/**
 * Reads the counts node's test runner (TAP or spec) or our mocha suite printed last. A tier that
 * runs several times (the vscode tier, once per VS Code version) prints a line per run,
 * `vscode 1.139.1: N passed, N failed, N skipped` or `vscode 1.139.1: skipped — why`, and
 * `vscode 1.139.1 took T s`: those are summed, and each is kept for the summary (`runs`).
 */
export function countTests(output) {
  const counts = { passed: 0, failed: 0, skipped: 0, runs: [] };
  const last = (pattern) => {
    const all = [...output.matchAll(pattern)];
    return all.length ? Number(all[all.length - 1][1]) : 0;
  };
  const runLines = [
    ...output.matchAll(/^(\w+ \d[\w.-]*): (?:(\d+) passed, (\d+) failed, (\d+) skipped|(skipped — .+))$/gm),
  ];
  if (runLines.length > 0) {
    const took = Object.fromEntries(
      [...output.matchAll(/^(\w+ \d[\w.-]*) took ([\d.]+ s)$/gm)].map((m) => [m[1], m[2]]),
    );
    for (const [, name, passed, failed, skipped, skip] of runLines) {
      counts.passed += Number(passed ?? 0);
      counts.failed += Number(failed ?? 0);
      counts.skipped += Number(skipped ?? 0);
      counts.runs.push(
        `${name}: ${skip ?? countsLine({ passed, failed, skipped })}${took[name] ? ` (${took[name]})` : ''}`,
      );
    }
    // A run that ended without its line (VS Code did not start, the suite timed out) failed.
    for (const name of Object.keys(took).filter((n) => !runLines.some((m) => m[1] === n))) {
      counts.failed += 1;
      counts.runs.push(`${name}: did not report (see its output above) (${took[name]})`);
    }
    return counts;
  }
  const summary = [...output.matchAll(/^\w+: (\d+) passed, (\d+) failed, (\d+) skipped$/gm)].pop();
  if (summary) {
    counts.passed = Number(summary[1]);
    counts.failed = Number(summary[2]);
    counts.skipped = Number(summary[3]);
    return counts;
  }
  counts.passed = last(/^(?:#|ℹ) pass (\d+)$/gm);
  counts.failed = last(/^(?:#|ℹ) fail (\d+)$/gm);
  counts.skipped = last(/^(?:#|ℹ) skipped (\d+)$/gm) + last(/^(?:#|ℹ) todo (\d+)$/gm);
  return counts;
}
