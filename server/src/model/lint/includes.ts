// `@file` entries. Nix skips an included file that does not exist without a word, so the
// builders it was meant to add are simply not there. (One that exists but cannot be read is
// the parser's error.)

import { problem, type Problem } from '../problem';
import type { ParsedBuilders } from '../machines';
import { placeInOrigin } from '../machines';

export function lintIncludes(parsed: ParsedBuilders): Problem[] {
  return parsed.includes
    .filter((include) => include.status === 'missing')
    .map((include) =>
      placeInOrigin(
        problem(
          'include-missing',
          include.span,
          include.path === ''
            ? "'@' without a file name: Nix skips it silently, so no builders come from it. Write the machines file's path after the @, or remove the line."
            : `'${include.path}' does not exist: Nix skips it silently, so no builders come from it. Create the file (one builder per line), or fix the path.`,
          undefined,
          include.path === '' ? undefined : { path: include.path },
        ),
        include,
      ),
    );
}
