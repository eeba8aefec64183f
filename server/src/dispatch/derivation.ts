// A store derivation (`/nix/store/…-name.drv`) read from its ATerm text, for what the selector
// needs: the system it builds for, the features it requires, its outputs and inputs. Reading the
// file ourselves avoids `nix show-derivation`, which Nix 2.8 hides behind an experimental flag.

export interface Derivation {
  outputs: { name: string; path: string }[];
  /** `.drv` paths this one depends on, with the outputs it uses. */
  inputDrvs: { path: string; outputs: string[] }[];
  inputSrcs: string[];
  system: string;
  builder: string;
  args: string[];
  env: Record<string, string>;
  /** From `requiredSystemFeatures` (a space-separated env var, or a list with structured attrs). */
  requiredSystemFeatures: string[];
}

class ATermReader {
  private at = 0;
  constructor(private readonly text: string) {}

  expect(literal: string): void {
    if (!this.text.startsWith(literal, this.at))
      throw new Error(`not a derivation: expected '${literal}' at offset ${this.at}`);
    this.at += literal.length;
  }

  peek(literal: string): boolean {
    return this.text.startsWith(literal, this.at);
  }

  string(): string {
    this.expect('"');
    let out = '';
    for (;;) {
      const c = this.text[this.at++];
      if (c === undefined) throw new Error('not a derivation: unterminated string');
      if (c === '"') return out;
      if (c === '\\') {
        const e = this.text[this.at++];
        out += e === 'n' ? '\n' : e === 'r' ? '\r' : e === 't' ? '\t' : (e ?? '');
      } else out += c;
    }
  }

  /** `[item,item,…]` */
  list<T>(item: () => T): T[] {
    this.expect('[');
    const items: T[] = [];
    while (!this.peek(']')) {
      if (items.length) this.expect(',');
      items.push(item());
    }
    this.expect(']');
    return items;
  }

  /** `(a,b,…)` of strings. */
  tuple(size: number): string[] {
    this.expect('(');
    const parts: string[] = [];
    for (let i = 0; i < size; i++) {
      if (i) this.expect(',');
      parts.push(this.string());
    }
    this.expect(')');
    return parts;
  }

  inputDrv(): { path: string; outputs: string[] } {
    this.expect('(');
    const path = this.string();
    this.expect(',');
    const outputs = this.list(() => this.string());
    this.expect(')');
    return { path, outputs };
  }

  done(): boolean {
    return this.at >= this.text.trimEnd().length;
  }
}

export function parseDerivation(text: string): Derivation {
  const r = new ATermReader(text);
  r.expect('Derive(');
  const outputs = r.list(() => r.tuple(4)).map(([name, path]) => ({ name: name!, path: path! }));
  r.expect(',');
  const inputDrvs = r.list(() => r.inputDrv());
  r.expect(',');
  const inputSrcs = r.list(() => r.string());
  r.expect(',');
  const system = r.string();
  r.expect(',');
  const builder = r.string();
  r.expect(',');
  const args = r.list(() => r.string());
  r.expect(',');
  const env = Object.fromEntries(r.list(() => r.tuple(2)).map(([k, v]) => [k!, v!]));
  r.expect(')');
  if (!r.done()) throw new Error('not a derivation: text after the end');
  return { outputs, inputDrvs, inputSrcs, system, builder, args, env, requiredSystemFeatures: requiredFeatures(env) };
}

function requiredFeatures(env: Record<string, string>): string[] {
  if (env.__json !== undefined) {
    try {
      const attrs = JSON.parse(env.__json) as { requiredSystemFeatures?: unknown };
      const list = attrs.requiredSystemFeatures;
      return Array.isArray(list) ? list.filter((f): f is string => typeof f === 'string') : [];
    } catch {
      return [];
    }
  }
  return (env.requiredSystemFeatures ?? '').split(/\s+/).filter(Boolean);
}
