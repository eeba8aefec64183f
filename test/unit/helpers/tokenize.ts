// Tokenizes text with the extension's TextMate grammars through the engine VS Code itself uses
// (vscode-textmate + vscode-oniguruma), so grammar tests see exactly the scopes an editor would.
import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import * as path from 'node:path';
import type * as Oniguruma from 'vscode-oniguruma';
import type * as TextMate from 'vscode-textmate';

export const MACHINES = 'source.nix-machines';
export const NIX_CONF = 'source.nix-conf';
export type GrammarScope = typeof MACHINES | typeof NIX_CONF;

/** One token of one line: its text, where it sits in the line, and its scopes (outermost first). */
export interface Token {
  readonly text: string;
  readonly startIndex: number;
  readonly endIndex: number;
  readonly scopes: readonly string[];
}

const grammarFiles: Record<GrammarScope, string> = {
  [MACHINES]: 'syntaxes/nix-machines.tmLanguage.json',
  [NIX_CONF]: 'syntaxes/nix-conf.tmLanguage.json',
};

/**
 * The repository root, found by walking up from the working directory, so the helper works
 * whether the test runs as CommonJS or as an ES module and from any folder inside the project.
 */
function projectRoot(): string {
  let dir = process.cwd();
  for (;;) {
    if (fs.existsSync(path.join(dir, grammarFiles[MACHINES]))) return dir;
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error(`no ${grammarFiles[MACHINES]} above ${process.cwd()}`);
    dir = parent;
  }
}

const root = projectRoot();

// Both engines are CommonJS bundles whose named exports Node cannot see from an ES module, so
// they are loaded with require; this works the same whether this file runs as CJS or as ESM.
const requireFromRoot = createRequire(path.join(root, 'package.json'));
const textmate = requireFromRoot('vscode-textmate') as typeof TextMate;
const oniguruma = requireFromRoot('vscode-oniguruma') as typeof Oniguruma;

let registryPromise: Promise<TextMate.Registry> | undefined;

async function createRegistry(): Promise<TextMate.Registry> {
  const wasm = fs.readFileSync(path.join(root, 'node_modules/vscode-oniguruma/release/onig.wasm'));
  await oniguruma.loadWASM(wasm.buffer.slice(wasm.byteOffset, wasm.byteOffset + wasm.byteLength));
  const onigLib: TextMate.IOnigLib = {
    createOnigScanner: (patterns) => new oniguruma.OnigScanner(patterns),
    createOnigString: (text) => new oniguruma.OnigString(text),
  };
  return new textmate.Registry({
    onigLib: Promise.resolve(onigLib),
    loadGrammar: async (scopeName) => {
      if (scopeName !== MACHINES && scopeName !== NIX_CONF) return null;
      const file = path.join(root, grammarFiles[scopeName]);
      return textmate.parseRawGrammar(fs.readFileSync(file, 'utf8'), file);
    },
  });
}

const grammars = new Map<GrammarScope, Promise<TextMate.IGrammar>>();

/** The grammar for a scope name, loaded once; nix-conf pulls in nix-machines through its include. */
export function loadGrammar(scopeName: GrammarScope): Promise<TextMate.IGrammar> {
  let grammar = grammars.get(scopeName);
  if (!grammar) {
    registryPromise ??= createRegistry();
    grammar = registryPromise.then(async (registry) => {
      const loaded = await registry.loadGrammar(scopeName);
      if (!loaded) throw new Error(`grammar ${scopeName} did not load`);
      return loaded;
    });
    grammars.set(scopeName, grammar);
  }
  return grammar;
}

/** Tokenizes a whole text line by line, carrying the rule stack from each line to the next. */
export async function tokenizeText(scopeName: GrammarScope, text: string): Promise<Token[][]> {
  const grammar = await loadGrammar(scopeName);
  let ruleStack: TextMate.StateStack = textmate.INITIAL;
  const lines: Token[][] = [];
  for (const line of text.split(/\r?\n/)) {
    const result = grammar.tokenizeLine(line, ruleStack);
    lines.push(
      result.tokens.map((token) => ({
        text: line.slice(token.startIndex, token.endIndex),
        startIndex: token.startIndex,
        endIndex: Math.min(token.endIndex, line.length),
        scopes: token.scopes,
      })),
    );
    ruleStack = result.ruleStack;
  }
  return lines;
}

/** The tokens of a single line. */
export async function tokenizeLine(scopeName: GrammarScope, line: string): Promise<Token[]> {
  const [tokens] = await tokenizeText(scopeName, line);
  return tokens ?? [];
}

/** The token covering a 0-based column of a tokenized line. */
export function tokenAt(tokens: readonly Token[], column: number): Token {
  const token = tokens.find((t) => t.startIndex <= column && column < t.endIndex);
  if (!token) throw new Error(`no token at column ${column}`);
  return token;
}

const isWordChar = (char: string | undefined): boolean => char !== undefined && /\w/.test(char);

/**
 * The 0-based column of the `occurrence`-th (0-based) whole appearance of `needle` in `line`.
 * "Whole" means not glued to letters, digits or `_` on a side where the needle itself starts or
 * ends with one, so `8` is found in `- 8 2` but not inside `x86_64-linux`. Throws when there is
 * no such appearance, so a typo in a test cannot pass.
 */
export function columnOf(line: string, needle: string, occurrence = 0): number {
  let seen = 0;
  for (let column = line.indexOf(needle); column >= 0; column = line.indexOf(needle, column + 1)) {
    const end = column + needle.length;
    const wholeStart = !isWordChar(needle[0]) || !isWordChar(line[column - 1]);
    const wholeEnd = !isWordChar(needle[needle.length - 1]) || !isWordChar(line[end]);
    if (wholeStart && wholeEnd && seen++ === occurrence) return column;
  }
  throw new Error(`${JSON.stringify(needle)} occurs fewer than ${occurrence + 1} times in ${JSON.stringify(line)}`);
}

/** The token at the first character of the `occurrence`-th whole `needle` in `line` (see columnOf). */
export async function tokenOf(scopeName: GrammarScope, line: string, needle: string, occurrence = 0): Promise<Token> {
  return tokenAt(await tokenizeLine(scopeName, line), columnOf(line, needle, occurrence));
}

/** The scopes at the first character of `needle` in `line` (see tokenOf). */
export async function scopesOf(
  scopeName: GrammarScope,
  line: string,
  needle: string,
  occurrence = 0,
): Promise<readonly string[]> {
  return (await tokenOf(scopeName, line, needle, occurrence)).scopes;
}

/** A readable dump of a line's tokens, for assertion messages and debugging. */
export function dumpTokens(tokens: readonly Token[]): string {
  return tokens.map((t) => `${JSON.stringify(t.text)} ${t.scopes.join(' ')}`).join('\n');
}
