// What `nix-builders` exits with. Scripts rely on these, so they are documented in the usage
// from this one table, and each subcommand returns one of them by name.
export const exitCodes = {
  ok: 0,
  /** check: an error; ping: a builder unusable; select: no machine fits; build: it failed. */
  failed: 1,
  usage: 2,
  /** ping: a builder could not be checked at all, or there was none: success would be a lie. */
  notChecked: 3,
} as const;

export const exitCodesHelp = `Exit codes:
  0  everything passed: no error, every builder usable, a machine fits, the build succeeded
  1  check found an error, ping found an unusable builder, select found no machine, or the
     build failed
  2  the command line is wrong (unknown subcommand or option, a value out of range): nothing ran
  3  ping could not check a builder at all (e.g. one behind a ProxyCommand), or had none to check
`;
