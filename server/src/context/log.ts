// The troubleshooting log: what the extension did, for the "Nix Builders" output channel ("Show
// Log"). Every service writes here; server.ts hands the lines to the client as LSP log messages
// (window/logMessage), whose level the user picks on the channel (Set Log Level…, default Info).
// The CLI and the tests log nowhere unless they set a sink. No secret may be written: nothing
// here ever receives a passphrase or a key's text, and a private key block that slipped into a
// command's output is cut out before the line leaves (the test greps the whole channel for both).

export type LogLevel = 'error' | 'warn' | 'info' | 'debug';
export type LogSink = (level: LogLevel, text: string) => void;

let sink: LogSink | undefined;

/** Where the lines go from now on (undefined: nowhere). */
export function setLogSink(next: LogSink | undefined): void {
  sink = next;
}

const privateKeyBlock = /-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----[\s\S]*?(-----END [A-Z0-9 ]*PRIVATE KEY-----|$)/g;

/** The text with any private key block cut out. */
export function withoutSecrets(text: string): string {
  return text.replace(privateKeyBlock, '[a private key, not shown]');
}

function write(level: LogLevel, text: string): void {
  if (sink === undefined) return;
  try {
    sink(level, withoutSecrets(text));
  } catch {
    // A log that cannot be written must never stop the work it describes.
  }
}

export const log = {
  error: (text: string) => write('error', text),
  warn: (text: string) => write('warn', text),
  info: (text: string) => write('info', text),
  debug: (text: string) => write('debug', text),
};

/** A command's output for the log: its last lines, indented, at most `maxLines`. */
export function outputLines(text: string, maxLines = 20): string {
  const lines = text
    .split('\n')
    .map((line) => line.trimEnd())
    .filter((line) => line !== '');
  const shown =
    lines.length > maxLines ? [`… (${lines.length - maxLines} lines before)`, ...lines.slice(-maxLines)] : lines;
  return shown.map((line) => `    ${line}`).join('\n');
}

/** How a command ended, in words: `exit 0`, `exit 1`, `killed by SIGTERM`, `timed out`, … */
export function endedAs(result: {
  code: number | null;
  signal?: string | null;
  timedOut?: boolean;
  aborted?: boolean;
  error?: string | undefined;
}): string {
  if (result.timedOut) return 'timed out';
  if (result.aborted) return 'cancelled';
  if (result.error) return `failed: ${result.error}`;
  if (result.code !== null) return `exit ${result.code}`;
  return result.signal ? `killed by ${result.signal}` : 'ended without an exit status';
}

/**
 * Logs one command that ran: the command line and how it ended at info, with its stderr at info
 * when it failed (that is what a user troubleshoots) and at debug when it succeeded.
 */
export function logCommand(
  where: string,
  commandLine: string,
  result: {
    code: number | null;
    signal?: string | null;
    timedOut?: boolean;
    aborted?: boolean;
    error?: string | undefined;
    stderr?: string;
    ms?: number;
  },
): void {
  const failed = result.code !== 0;
  // A script or an expression is long: its start says which it is.
  // A script's lines on one line, so that each log line is one command.
  const oneLine = commandLine.replace(/\n/g, ' ⏎ ');
  const shown = oneLine.length > 300 ? `${oneLine.slice(0, 300)}… (${commandLine.length} characters)` : oneLine;
  const took = result.ms === undefined ? '' : ` (${result.ms} ms)`;
  const stderr = result.stderr?.trim() ? outputLines(result.stderr) : '';
  log.info(`${where}: ${shown} → ${endedAs(result)}${took}`);
  if (stderr) (failed ? log.info : log.debug)(`${where}: stderr of ${shown.split(' ')[0]}:\n${stderr}`);
}
