// Reading what a real Nix printed, for the oracle tests: does it say the message our warnings
// quote, and which `Reason:` did a 2.30+ Nix give.

/**
 * True when `printed` (Nix's output) contains `quoted` (a message as our warnings quote it):
 * `…` in `quoted` stands for text within one line (a path), and any run of white space for any
 * run of white space (Nix 2.21-2.29 lay messages out over indented lines; 2.34 puts the
 * `Reason:` on a line of its own). Escape colours are ignored.
 */
export function nixPrinted(quoted: string, printed: string): boolean {
  const pattern = quoted
    .split(/(\s+|…)/)
    .filter((piece) => piece !== '')
    .map((piece) =>
      piece === '…' ? '[^\\n]*?' : /^\s+$/.test(piece) ? '\\s+' : piece.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'),
    )
    .join('');
  // eslint-disable-next-line no-control-regex
  return new RegExp(pattern).test(printed.replace(/\x1b\[[0-9;]*m/g, ''));
}

/** The `Reason: …` line of a 2.30+ `Cannot build '…'.` error, without its colours; undefined before 2.30. */
export function cannotBuildReason(text: string): string | undefined {
  // eslint-disable-next-line no-control-regex
  return /^\s*Reason: (.*)$/m.exec(text.replace(/\x1b\[[0-9;]*m/g, ''))?.[1]?.trim();
}
