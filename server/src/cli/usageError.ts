// A mistake in how the CLI was called: it is said as `nix-builders: <what is wrong>. <what to
// do>` and exits 2 before anything runs. With a subcommand, that subcommand's usage follows, so
// the user sees the options it does take.
import type { SubcommandName } from './subcommands';

export class UsageError extends Error {
  constructor(
    wrong: string,
    todo: string,
    public subcommand?: SubcommandName,
  ) {
    super(`${wrong}. ${todo}`);
  }
}
