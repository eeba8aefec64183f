// One .nix file's analysis with what real Nix could evaluate filled in: the same for the editor
// (a document's diagnostics and hovers) and the Remote Builders view (its declared builders), so
// an entry known only after evaluation (`system = arm;` with `let arm = …;`) is the same
// builder in both. Without an evaluator (an untrusted workspace) nothing is evaluated.
import { existsSync } from 'node:fs';
import type { NixEvaluator } from './evaluation';
import type { LineContext } from './lineProblems';
import { analyzeNixModule, unknownValues, type NixModuleAnalysis, type WorkspaceBuilders } from './nixModuleAnalysis';
import type { NixValue } from './nixValue';

/**
 * `dir` is the file's folder (relative paths are read from there); undefined for an untitled
 * document. `workspaceOf` gives the builders' own configurations for what the file declares
 * (read only when an entry names an sshUser): the view goes without.
 */
export async function evaluatedAnalysis(
  text: string,
  context: LineContext,
  dir: string | undefined,
  evaluator: NixEvaluator | undefined,
  workspaceOf?: (literal: NixModuleAnalysis) => WorkspaceBuilders | undefined,
): Promise<NixModuleAnalysis | undefined> {
  const literal = analyzeNixModule(text, context);
  if (!literal) return undefined;
  const workspace = workspaceOf?.(literal);
  const withWorkspace = () =>
    workspace && workspace.configurations.length > 0 ? analyzeNixModule(text, context, { workspace })! : literal;
  // The builders' configurations only add problems: the same entries are evaluated either way,
  // and one last analysis takes everything (not one for the configurations, then another).
  if (!evaluator) return withWorkspace();
  const wanted = unknownValues(literal);
  if (wanted.length === 0 && literal.lists.length === 0) return withWorkspace();
  const cwd = dir !== undefined && existsSync(dir) ? dir : '/';
  const [values, evaluatedLists] = await Promise.all([
    Promise.all(wanted.map((w) => evaluator.evaluate(text, w.span, w.expression, cwd))),
    evaluator.evaluateLists(text, literal.lists, cwd),
  ]);
  const evaluated = new Map<number, NixValue>();
  values.forEach((value, i) => value && evaluated.set(wanted[i]!.span.start, value));
  return analyzeNixModule(text, context, { evaluated, evaluatedLists, workspace });
}
