// What real Nix makes of the values a .nix file does not write out (`system = arm;` with
// `let arm = "aarch64-linux";`, `maxJobs = cores * 2;`, `inherit hostName;`), in a trusted
// workspace only: each value is evaluated with `nix-instantiate --eval` in its scope
// (scopedExpression.ts), in restricted evaluation (no file outside the store, no download),
// with no NIX_PATH (so no `<nixpkgs>`) and a time limit. What needs the configuration or
// nixpkgs throws, and stays unknown until the system is built.
// A part of `nix.buildMachines` that is not written out (`map mkBuilder hosts`) is evaluated the
// same way, each builder's attributes one by one.
import { execFile } from 'node:child_process';
import type { NixValue } from './nixValue';
import { scopedExpression } from './scopedExpression';

/** One evaluation's time limit: a value that takes longer is left unknown. */
const timeoutMs = 10_000;

/** A value as a type name and, for what NixOS renders, its `toString` (list items for lists). */
const describe = `v: {
  type = builtins.typeOf v;
  text = if builtins.isList v then map (x: if builtins.isString x then x else null) v
    else if builtins.isString v || builtins.isInt v || builtins.isFloat v || builtins.isPath v then toString v
    else if builtins.isBool v then v else null;
}`;

const probe = (
  expression: string,
) => `let result = builtins.tryEval (let v = ${expression}; in builtins.deepSeq v ((${describe}) v));
  in if result.success then result.value else { type = "unknown"; }`;

/**
 * A list of builders (`map mkBuilder hosts`): each item's attributes described one by one, so an
 * attribute that needs the configuration (`pkgs.…`) leaves the others known; null when the
 * value is not a list, and an item that is not an attribute set is null.
 */
const entriesProbe = (expression: string) => `let
  tried = x: let r = builtins.tryEval (builtins.deepSeq x ((${describe}) x)); in if r.success then r.value else { type = "unknown"; };
  result = builtins.tryEval (let v = ${expression}; items = if builtins.isList v
    then map (e: if builtins.isAttrs e then builtins.mapAttrs (n: tried) e else null) v else null;
    in builtins.deepSeq items items);
in if result.success then result.value else null`;

/** At most this many builders are read from one evaluated list. */
const maxEntries = 200;

interface Answer {
  type: string;
  text?: string | boolean | (string | null)[] | null;
}

function valueOf(answer: Answer): NixValue | undefined {
  const { type, text } = answer;
  if (type === 'string' && typeof text === 'string') return { kind: 'string', value: text };
  if (type === 'path' && typeof text === 'string') return { kind: 'path', value: text };
  if (type === 'int' && typeof text === 'string') return { kind: 'int', value: BigInt(text) };
  if (type === 'float' && typeof text === 'string') return { kind: 'float', value: Number(text) };
  if (type === 'bool' && typeof text === 'boolean') return { kind: 'bool', value: text };
  if (type === 'null') return { kind: 'null' };
  if (type === 'set') return { kind: 'attrs' };
  if (type === 'list' && Array.isArray(text)) {
    // A list item that is not a string is the module's type error; keep it out of the line.
    const items = text.flatMap((item) =>
      typeof item === 'string' ? [{ value: { kind: 'string' as const, value: item }, span: { start: 0, end: 0 } }] : [],
    );
    return items.length === text.length ? { kind: 'list', items } : undefined;
  }
  return undefined;
}

/** The attributes of each builder an evaluated list makes, by name; undefined for an item that is no attribute set. */
export type EvaluatedEntries = (ReadonlyMap<string, NixValue | undefined> | undefined)[];

function entriesOf(answer: unknown): EvaluatedEntries | undefined {
  if (!Array.isArray(answer)) return undefined;
  return answer.slice(0, maxEntries).map((item: unknown) => {
    if (item === null || typeof item !== 'object') return undefined;
    return new Map(Object.entries(item as Record<string, Answer>).map(([name, a]) => [name, valueOf(a)]));
  });
}

export class NixEvaluator {
  private readonly cache = new Map<string, Promise<unknown>>();

  /** `command` turns the program and its arguments into what runs (the tests run another Nix's in its chroot). */
  constructor(
    private readonly nixInstantiate = 'nix-instantiate',
    private readonly command: (program: string, args: string[], cwd: string) => [string, string[]] = (p, a) => [p, a],
  ) {}

  /**
   * The value of `expression` written at `span` of `text`, or undefined when it stays unknown.
   * `dir` is the file's folder: a relative path (`./keys/builder`) means a file there.
   */
  evaluate(
    text: string,
    span: { start: number; end: number },
    expression: string,
    dir: string,
  ): Promise<NixValue | undefined> {
    const scoped = scopedExpression(text, span, expression);
    if (scoped === undefined) return Promise.resolve(undefined);
    return this.cached(probe(scoped), dir).then((answer) =>
      answer && typeof answer === 'object' ? valueOf(answer as Answer) : undefined,
    );
  }

  /**
   * The builders a part of `nix.buildMachines` that is not written out makes (`map f hosts`,
   * `builtins.map`, a `let` name), evaluated at `span` of `text` in its scope; undefined when
   * real Nix cannot tell without the configuration or nixpkgs.
   */
  evaluateEntries(
    text: string,
    span: { start: number; end: number },
    dir: string,
  ): Promise<EvaluatedEntries | undefined> {
    const scoped = scopedExpression(text, span);
    if (scoped === undefined) return Promise.resolve(undefined);
    return this.cached(entriesProbe(scoped), dir).then(entriesOf);
  }

  /** The builders of each part real Nix could evaluate, by where the part starts (for analyzeNixModule). */
  async evaluateLists(
    text: string,
    parts: readonly { span: { start: number; end: number } }[],
    dir: string,
  ): Promise<Map<number, EvaluatedEntries>> {
    const lists = await Promise.all(parts.map(({ span }) => this.evaluateEntries(text, span, dir)));
    return new Map(parts.flatMap(({ span }, i) => (lists[i] ? [[span.start, lists[i]!] as const] : [])));
  }

  private cached(expression: string, dir: string): Promise<unknown> {
    const key = `${dir}\0${expression}`;
    let pending = this.cache.get(key);
    if (!pending) {
      pending = this.run(expression, dir);
      this.cache.set(key, pending);
      if (this.cache.size > 1000) this.cache.delete(this.cache.keys().next().value!);
    }
    return pending;
  }

  /** Nix's JSON answer, or undefined when it failed. */
  private run(expression: string, dir: string): Promise<unknown> {
    const env = { ...process.env, NIX_PATH: '' };
    const args = [
      '--eval',
      '--strict',
      '--json',
      '--option',
      'restrict-eval',
      'true',
      '--option',
      'allow-import-from-derivation',
      'false',
      '-E',
      expression,
    ];
    return new Promise((resolve) => {
      execFile(
        ...this.command(this.nixInstantiate, args, dir),
        { env, timeout: timeoutMs, maxBuffer: 1 << 20, cwd: dir },
        (error, stdout) => {
          if (error) return resolve(undefined);
          try {
            resolve(JSON.parse(stdout) as unknown);
          } catch {
            resolve(undefined);
          }
        },
      );
    });
  }
}
