// One .nix file's analysis with what real Nix could evaluate filled in: the same for the editor
// (a document's diagnostics and hovers) and the Remote Builders view (its declared builders), so
// an entry known only after evaluation (`system = arm;` with `let arm = …;`) is the same
// builder in both. Without an evaluator (an untrusted workspace) nothing is evaluated.
import { existsSync } from 'node:fs';
import type { NixEvaluator } from './evaluation';
import type { LineContext } from './lineProblems';
import { analyzeNixModule, unknownValues, type NixModuleAnalysis } from './nixModuleAnalysis';
import type { NixValue } from './nixValue';

/** `dir` is the file's folder (relative paths are read from there); undefined for an untitled document. */
export async function evaluatedAnalysis(
  text: string,
  context: LineContext,
  dir: string | undefined,
  evaluator: NixEvaluator | undefined,
): Promise<NixModuleAnalysis | undefined> {
  const literal = analyzeNixModule(text, context);
  if (!literal || !evaluator) return literal;
  const wanted = unknownValues(literal);
  if (wanted.length === 0) return literal;
  const cwd = dir !== undefined && existsSync(dir) ? dir : '/';
  const values = await Promise.all(wanted.map((w) => evaluator.evaluate(text, w.span, w.expression, cwd)));
  const evaluated = new Map<number, NixValue>();
  values.forEach((value, i) => value && evaluated.set(wanted[i]!.span.start, value));
  return analyzeNixModule(text, context, evaluated);
}
