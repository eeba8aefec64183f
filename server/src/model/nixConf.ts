// A nix.conf text read the way Nix 2.8 reads it (libutil/config.cc, `applyConfig`): lines,
// `#` to the end of the line, whitespace-separated tokens, `name = value` with the value's
// tokens re-joined by single spaces, `include PATH` / `!include PATH` relative to the including
// file. The `builders` value is parsed as a builders text, and because Nix parses the re-joined
// value (not the line as written), its spans are mapped back onto the tokens of the line.

import * as nodePath from 'node:path';
import { FileNotRead, notReadMessage } from './fileNotRead';
import { problem, type Problem, type Span } from './problem';
import type { VersionRules } from './nixVersion';
import { nixWhitespace, subPiece, tokenize, type Piece } from './nixStrings';
import { parseBuilders, type Column, type ParsedBuilders } from './machines';

/** Where a line was written: the parsed text itself, or a file reached through `include`. */
export interface ConfOrigin {
  /** The included file the line is in; undefined when it is in the parsed text. */
  file: string | undefined;
  /** For a line from an included file: the path of the `include` line of the parsed text. */
  includedVia: Span | undefined;
}

/** One `name = value` line. Spans are in `file` (or the parsed text). */
export interface ConfSetting extends ConfOrigin {
  /** As written, e.g. `builders` or `extra-builders`. */
  name: string;
  nameSpan: Span;
  /** The value as Nix reads it: the tokens after `=`, joined by single spaces. */
  value: string;
  /** From the first value token to the last; empty, right after `=`, when there is no value. */
  valueSpan: Span;
  /** The value's tokens, each with its own span. */
  valueTokens: Piece[];
  /** The line without its comment. */
  lineSpan: Span;
  /** For `builders` and `extra-builders`: the value read as a builders text, spans in this line. */
  builders?: ParsedBuilders;
}

export type ConfIncludeStatus =
  /** Read and applied. */
  | 'read'
  /** No such file: an error for `include`, ignored for `!include`. */
  | 'missing'
  /** Exists but cannot be read: Nix ignores it silently. */
  | 'unreadable'
  /** Leads back to a file being read: Nix crashes (stack overflow). */
  | 'cycle'
  /** A FIFO or a device: never opened (Nix hangs on it, or reads it without end). */
  | 'not-a-file'
  /** Over the size we read: not checked (Nix reads it). */
  | 'too-large'
  /** No `readFile` was given. */
  | 'not-read';

export interface ConfInclude extends ConfOrigin {
  /** `!include` ignores a missing file. */
  ignoreMissing: boolean;
  /** As written. */
  path: string;
  pathSpan: Span;
  /** Where Nix looks: relative paths are relative to the including file's directory. */
  resolvedPath: string;
  lineSpan: Span;
  status: ConfIncludeStatus;
}

export interface ParsedNixConf {
  /** Every setting line, in the order Nix 2.8 applies them (an include's lines where it is). */
  settings: ConfSetting[];
  includes: ConfInclude[];
  /** Problems of the nix.conf lines. Builders problems are in each setting's `builders`. */
  problems: Problem[];
  /**
   * The `builders` setting Nix ends up with (the last one applied), or undefined when none is
   * set (Nix then uses `@/etc/nix/machines`). Only its builders errors make Nix fail: an
   * earlier `builders` line is overwritten before Nix reads it, and `extra-builders` is ignored.
   */
  builders: ConfSetting | undefined;
}

export interface ParseNixConfOptions {
  /** The file the text comes from: includes are relative to its directory; messages name it. */
  path?: string;
  /**
   * Reads an included nix.conf or builders `@file`. Return undefined when the file does not
   * exist; throw when it exists but cannot be read.
   */
  readFile?: (path: string) => string | undefined;
  /** Nix's `system` setting, for machines whose systems column is unset. */
  localSystem?: string;
}

/** Reads a nix.conf text as Nix 2.8 does. Never throws. */
export function parseNixConf(text: string, rules: VersionRules, options: ParseNixConfOptions = {}): ParsedNixConf {
  const reader = new ConfReader(rules, options);
  const path = options.path ?? 'nix.conf';
  reader.apply(text, path, { file: undefined, includedVia: undefined }, [path]);
  let builders: ConfSetting | undefined;
  for (const setting of reader.settings) if (setting.name === 'builders') builders = setting;
  return { settings: reader.settings, includes: reader.includes, problems: reader.problems, builders };
}

class ConfReader {
  readonly settings: ConfSetting[] = [];
  readonly includes: ConfInclude[] = [];
  readonly problems: Problem[] = [];

  constructor(
    private readonly rules: VersionRules,
    private readonly options: ParseNixConfOptions,
  ) {}

  apply(text: string, path: string, origin: ConfOrigin, stack: string[]): void {
    // Problems in included files are shown on the include of the parsed text that led there.
    const place = (p: Problem): Problem =>
      origin.file === undefined || origin.includedVia === undefined
        ? p
        : {
            ...p,
            span: origin.includedVia,
            file: origin.file,
            fileSpan: p.span,
            message: `In ${origin.file}: ${p.message}`,
          };

    // Lines are split on `\n` only: a `\r` before it is whitespace to the tokenizer.
    let lineStart = 0;
    for (const rawLine of text.split('\n')) {
      const linePiece: Piece = { text: rawLine, span: { start: lineStart, end: lineStart + rawLine.length } };
      lineStart += rawLine.length + 1;
      const hash = rawLine.indexOf('#');
      const line = hash < 0 ? linePiece : subPiece(linePiece, 0, hash);
      const tokens = tokenize(line.text, nixWhitespace, line.span.start);
      if (tokens.length === 0) continue;
      const tokensSpan: Span = { start: tokens[0]!.span.start, end: tokens[tokens.length - 1]!.span.end };
      const illegal = (advice: string, brokenFormat = false) => {
        const nixMessage =
          brokenFormat && this.rules.confPathsInDoubleQuotes
            ? 'boost::bad_format_string: format-string is ill-formed'
            : `${this.rules.confSyntaxErrorWording ? 'syntax error in' : 'illegal'} configuration line '${line.text}' in ${quotedPath(path, this.rules)}`;
        this.problems.push(
          place(problem('conf-illegal-line', tokensSpan, `Nix fails: "${nixMessage}". ${advice}`, nixMessage)),
        );
      };

      if (tokens.length < 2) {
        illegal(
          tokens[0]!.text.includes('=')
            ? 'Put spaces around the `=`: `name = value`.'
            : 'Write a setting as `name = value`, or an include as `include PATH` or `!include PATH`.',
        );
        continue;
      }
      if (tokens[0]!.text === 'include' || tokens[0]!.text === '!include') {
        if (tokens.length !== 2) {
          illegal('`include` takes exactly one path, and the path cannot contain spaces.', true);
          continue;
        }
        this.include(tokens[0]!.text === '!include', tokens[1]!, line.span, path, origin, stack, place);
        continue;
      }
      if (tokens[1]!.text !== '=') {
        illegal('Write a setting as `name = value`, with spaces around the `=`.');
        continue;
      }
      this.setting(tokens, line.span, origin, place);
    }
  }

  private setting(tokens: Piece[], lineSpan: Span, origin: ConfOrigin, place: (p: Problem) => Problem): void {
    const name = tokens[0]!;
    const valueTokens = tokens.slice(2);
    const afterEquals = tokens[1]!.span.end;
    const setting: ConfSetting = {
      name: name.text,
      nameSpan: name.span,
      value: valueTokens.map((t) => t.text).join(' '),
      valueSpan:
        valueTokens.length === 0
          ? { start: afterEquals, end: afterEquals }
          : { start: valueTokens[0]!.span.start, end: valueTokens[valueTokens.length - 1]!.span.end },
      valueTokens,
      lineSpan,
      ...origin,
    };
    if (name.text === 'builders' || name.text === 'extra-builders') {
      const parsed = parseBuilders(setting.value, this.rules, {
        ...(this.options.readFile && { readFile: this.options.readFile }),
        ...(this.options.localSystem !== undefined && { localSystem: this.options.localSystem }),
      });
      setting.builders = mapBuilders(parsed, joinedToLine(valueTokens, afterEquals));
    }
    if (name.text === 'extra-builders') {
      const nixMessage = "unknown setting 'extra-builders'";
      this.problems.push(
        place(
          problem(
            'extra-builders-ignored',
            name.span,
            `Nix ignores this line: "${nixMessage}" (\`builders\` cannot be appended to). Put all builders in one \`builders = …\` line, separated by ';'.`,
            nixMessage,
          ),
        ),
      );
    }
    this.settings.push(setting);
  }

  private include(
    ignoreMissing: boolean,
    pathToken: Piece,
    lineSpan: Span,
    includingPath: string,
    origin: ConfOrigin,
    stack: string[],
    place: (p: Problem) => Problem,
  ): void {
    const resolvedPath = resolveIncludePath(pathToken.text, includingPath);
    const include: ConfInclude = {
      ignoreMissing,
      path: pathToken.text,
      pathSpan: pathToken.span,
      resolvedPath,
      lineSpan,
      status: 'not-read',
      ...origin,
    };
    this.includes.push(include);
    if (this.options.readFile === undefined) return;

    if (stack.includes(resolvedPath)) {
      include.status = 'cycle';
      this.problems.push(
        place(
          problem(
            'conf-include-cycle',
            pathToken.span,
            `'${resolvedPath}' is already being read (${[...stack, resolvedPath].join(' → ')}): Nix crashes with a segmentation fault. Remove the include that leads back.`,
          ),
        ),
      );
      return;
    }
    let text: string | undefined;
    try {
      text = this.options.readFile(resolvedPath);
    } catch (e) {
      if (e instanceof FileNotRead) {
        include.status = e.reason.kind;
        const code = e.reason.kind === 'not-a-file' ? 'include-not-a-file' : 'include-too-large';
        const advice = e.reason.kind === 'not-a-file' ? ' Include a nix.conf file.' : '';
        this.problems.push(place(problem(code, pathToken.span, `${notReadMessage(resolvedPath, e.reason)}${advice}`)));
        return;
      }
      include.status = 'unreadable'; // Nix: the file exists, reading it fails, the error is swallowed.
      return;
    }
    if (typeof text !== 'string') {
      include.status = 'missing';
      if (!ignoreMissing) {
        const nixMessage = `file ${quotedPath(resolvedPath, this.rules)} included from ${quotedPath(includingPath, this.rules)} not found`;
        this.problems.push(
          place(
            problem(
              'conf-include-missing',
              pathToken.span,
              `Nix fails: "${nixMessage}". Fix the path, create the file, or write \`!include\` to ignore a missing file.`,
              nixMessage,
            ),
          ),
        );
      }
      return;
    }
    include.status = 'read';
    const via = origin.includedVia ?? pathToken.span;
    this.apply(text, resolvedPath, { file: resolvedPath, includedVia: via }, [...stack, resolvedPath]);
  }
}

/**
 * Nix's `absPath(path, dirOf(includingFile))`: relative to the including file's directory,
 * `.` and `..` resolved, no trailing slash. (A relative including path, such as NIX_CONFIG's,
 * leaves a relative result.)
 */
export function resolveIncludePath(path: string, includingPath: string): string {
  const joined = nodePath.posix.isAbsolute(path)
    ? path
    : nodePath.posix.join(nodePath.posix.dirname(includingPath), path);
  const normal = nodePath.posix.normalize(joined);
  return normal.length > 1 && normal.endsWith('/') ? normal.slice(0, -1) : normal;
}

/**
 * Maps a span of the re-joined value (tokens joined by single spaces) onto the line: a token's
 * characters keep their own offsets, and a joining space stands for all the whitespace
 * written between the two tokens.
 */
function joinedToLine(tokens: Piece[], afterEquals: number): (span: Span) => Span {
  const starts: number[] = []; // where each token starts in the joined value
  let at = 0;
  for (const t of tokens) {
    starts.push(at);
    at += t.text.length + 1;
  }
  // The token an offset of the joined value is in (or is the joining space after).
  const locate = (offset: number) => {
    let k = 0; // binary search: the last token starting at or before the offset
    let high = tokens.length - 1;
    while (k < high) {
      const middle = (k + high + 1) >> 1;
      if (starts[middle]! <= offset) k = middle;
      else high = middle - 1;
    }
    return { k, token: tokens[k]!, within: offset - starts[k]! };
  };
  const startOf = (offset: number): number => {
    const { token, within } = locate(offset);
    return token.span.start + Math.min(within, token.text.length);
  };
  const endOf = (end: number): number => {
    const { k, token, within } = locate(end - 1);
    if (within < token.text.length) return token.span.start + within + 1;
    return tokens[k + 1]?.span.start ?? token.span.end; // a span ending with a joining space
  };
  return (s) => {
    if (tokens.length === 0) return { start: afterEquals, end: afterEquals };
    const start = startOf(s.start);
    return { start, end: s.end > s.start ? endOf(s.end) : start };
  };
}

/** The builders parse with every span of the joined value moved onto the line. */
function mapBuilders(parsed: ParsedBuilders, span: (s: Span) => Span): ParsedBuilders {
  // Spans of entries from included files are in those files, and stay as they are.
  const local = (file: string | undefined, s: Span): Span => (file === undefined ? span(s) : s);
  const via = (s: Span | undefined): Span | undefined => (s === undefined ? undefined : span(s));
  const column = (file: string | undefined, c: Column): Column => ({ ...c, span: local(file, c.span) });
  return {
    entries: parsed.entries.map((e) => ({ ...e, span: local(e.file, e.span), includedVia: via(e.includedVia) })),
    includes: parsed.includes.map((i) => ({
      ...i,
      span: local(i.file, i.span),
      pathSpan: local(i.file, i.pathSpan),
      includedVia: via(i.includedVia),
    })),
    machines: parsed.machines.map((m) => {
      const columns = { ...m.columns };
      for (const key of Object.keys(columns) as (keyof typeof columns)[]) {
        const c = columns[key];
        if (c !== undefined) columns[key] = column(m.file, c);
      }
      return {
        ...m,
        rowSpan: local(m.file, m.rowSpan),
        includedVia: via(m.includedVia),
        columns,
        extraColumns: m.extraColumns.map((c) => column(m.file, c)),
      };
    }),
    problems: parsed.problems.map((p) => ({ ...p, span: span(p.span) })),
  };
}

/** A file path as nix.conf messages print it: in single quotes, from Nix 2.34 in double quotes. */
function quotedPath(path: string, rules: VersionRules): string {
  return rules.confPathsInDoubleQuotes ? `"${path}"` : `'${path}'`;
}
