// What the CLI prints comes from files, remote hosts and Nix: a machines line holding
// ESC ]0;… BEL would retitle the terminal, ESC [2J clear it, a C1 CSI do the same on some
// terminals. Every control character but the newlines and tabs we lay out with is printed as
// its JSON escape (ESC as \u001b), which leaves JSON output valid and meaning the same.
// `showControlsOn` puts this on stdout and stderr themselves, so whoever writes there, nothing
// reaches the terminal raw.

/**
 * C0 but tab and newline, DEL, C1, and the bidirectional overrides and isolates, which can make
 * a printed line read in another order than it is (the "Trojan Source" trick).
 */
const controls = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g;

export function visibleText(text: string): string {
  return text.replace(controls, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

export function showControlsOn(stream: NodeJS.WriteStream): void {
  const write = stream.write.bind(stream) as (chunk: unknown, ...rest: unknown[]) => boolean;
  stream.write = ((chunk: unknown, ...rest: unknown[]) => {
    const text =
      typeof chunk === 'string' ? chunk : chunk instanceof Uint8Array ? Buffer.from(chunk).toString('utf8') : undefined;
    // A string with an encoding argument: the encoding no longer applies to the escaped text.
    return text === undefined
      ? write(chunk, ...rest)
      : write(visibleText(text), ...rest.filter((arg) => typeof arg === 'function'));
  }) as typeof stream.write;
}
