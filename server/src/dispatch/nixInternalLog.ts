// Nix's `--log-format internal-json` (stderr lines `@nix {…}`), read into what a progress bar and
// a log view need. Codes from libutil/logging.hh, the same in Nix 2.8 and today:
//   activities: 104 builds (the overall counter), 105 one build; `fields` of a 105 start are
//               [drvPath, machine URI ('' when local), round, rounds] and its text is
//               "building '<drv>' on '<uri>'";
//   results:    101 a build log line, 107 a post-build-hook line ([line]); 105 progress of an
//               activity ([done, expected, running, failed]).
// Through an ssh-ng builder the remote daemon's own activities are forwarded too (seen on the
// lab): a second "builds" counter and a "building '<drv>'" without a machine. So the counter that
// counts is the first "builds" activity, and only builds started with a machine say where.

const ACT_BUILDS = 104;
const ACT_BUILD = 105;
const RES_BUILD_LOG_LINE = 101;
const RES_PROGRESS = 105;
const RES_POST_BUILD_LOG_LINE = 107;

export type NixLogEvent =
  | { action: 'start'; id: number; type: number; text: string; level: number; fields: unknown[]; parent: number }
  | { action: 'stop'; id: number }
  | { action: 'result'; id: number; type: number; fields: unknown[] }
  | { action: 'msg'; level: number; msg: string }
  | { action: 'other' };

/** One stderr line: a parsed event, or undefined for a plain line (not `@nix …`). */
export function parseNixLogLine(line: string): NixLogEvent | undefined {
  if (!line.startsWith('@nix ')) return undefined;
  let json: Record<string, unknown>;
  try {
    json = JSON.parse(line.slice(5)) as Record<string, unknown>;
  } catch {
    return undefined;
  }
  const num = (value: unknown) => (typeof value === 'number' ? value : 0);
  const fields = Array.isArray(json.fields) ? (json.fields as unknown[]) : [];
  switch (json.action) {
    case 'start':
      return {
        action: 'start',
        id: num(json.id),
        type: num(json.type),
        text: typeof json.text === 'string' ? json.text : '',
        level: num(json.level),
        fields,
        parent: num(json.parent),
      };
    case 'stop':
      return { action: 'stop', id: num(json.id) };
    case 'result':
      return { action: 'result', id: num(json.id), type: num(json.type), fields };
    case 'msg':
      return { action: 'msg', level: num(json.level), msg: typeof json.msg === 'string' ? json.msg : '' };
    default:
      return { action: 'other' };
  }
}

export interface BuildProgress {
  done: number;
  running: number;
  expected: number;
  /** The derivation most recently started and still building, e.g. `hello-2.12.drv`. */
  current?: string;
}

/** Nix's error levels: 0 error, 1 warn, 2 notice, 3 info (what Nix shows by default). */
const shownLevel = 3;

/** Follows one nix-build's log: progress, where each derivation went, the lines people read. */
export class NixLogFollower {
  /** drv path → the builder's URI, from "building '<drv>' on '<uri>'". */
  readonly builtOn: Record<string, string> = {};
  /** Messages at error level, in order (the last one is what failed). */
  readonly errors: string[] = [];
  private buildsActivity: number | undefined;
  private readonly builds = new Map<number, string>();
  private progress: BuildProgress = { done: 0, running: 0, expected: 0 };

  constructor(
    private readonly onLine: (line: string) => void,
    private readonly onProgress: (progress: BuildProgress) => void,
  ) {}

  /** Feeds one stderr line. */
  push(line: string): void {
    const event = parseNixLogLine(line);
    if (event === undefined) {
      if (line.trim() !== '') this.onLine(line);
      return;
    }
    switch (event.action) {
      case 'start':
        if (event.type === ACT_BUILDS && this.buildsActivity === undefined) this.buildsActivity = event.id;
        if (event.type === ACT_BUILD) {
          const drv = typeof event.fields[0] === 'string' ? event.fields[0] : '';
          const machine = typeof event.fields[1] === 'string' ? event.fields[1] : '';
          if (drv !== '' && machine !== '') {
            this.builtOn[drv] = machine;
            this.builds.set(event.id, drv);
            this.report();
          }
        }
        if (event.text !== '' && event.level <= shownLevel) this.onLine(event.text);
        break;
      case 'stop':
        if (this.builds.delete(event.id)) this.report();
        break;
      case 'result':
        if (
          (event.type === RES_BUILD_LOG_LINE || event.type === RES_POST_BUILD_LOG_LINE) &&
          typeof event.fields[0] === 'string'
        ) {
          this.onLine(event.fields[0]);
        } else if (event.type === RES_PROGRESS && event.id === this.buildsActivity) {
          const [done, expected, running] = event.fields.map((value) => (typeof value === 'number' ? value : 0));
          this.progress = { done: done ?? 0, expected: expected ?? 0, running: running ?? 0 };
          this.report();
        }
        break;
      case 'msg':
        if (event.level === 0) this.errors.push(event.msg);
        if (event.level <= shownLevel) for (const part of event.msg.split('\n')) this.onLine(part);
        break;
      default:
        break;
    }
  }

  private report(): void {
    const running = [...this.builds.values()];
    const latest = running[running.length - 1];
    this.onProgress({
      ...this.progress,
      ...(latest === undefined ? {} : { current: latest.slice(latest.lastIndexOf('/') + 34) }),
    });
  }
}
