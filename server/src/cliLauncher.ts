// `nix-builders` starts here: a few lines that load the CLI's bundle (dist/cli-main.js) with
// V8's code cache, so a cold start does not compile the same 1 MB of JavaScript every time.
// Measured on this repository's machine: `nix-builders check` 123 → 111 ms per run, `--version`
// 72 → 64 ms (`node -e 0` is 51 ms); the build path gains the same on its critical path.
//
// The cache is `$XDG_CACHE_HOME/nix-builders/code-cache/` (default `~/.cache/…`), one file per
// bundle content and subcommand. It is only a hint to V8, never code we run blindly, but V8 accepts cached
// data whose source has the same *length* (its check is a length and flags, not a hash), so:
//   - the file name carries a SHA-256 of the bundle's bytes: a rebuilt or upgraded bundle never
//     meets another bundle's cache, even of the same length;
//   - a cache file is used only when it and its folder belong to the user running us and no
//     one else may write them: `sudo nix-builders` with the user's HOME must not run code
//     compiled from a file that user wrote;
//   - anything wrong (no HOME, a read-only disk, a rejected or corrupt cache) means compiling as
//     without a cache, silently: the cache can cost at most the first run's write (~5 ms).
// NIX_BUILDERS_CODE_CACHE=0 turns it off. With NIX_BUILDERS_TRACE=1 the trace says what happened,
// as phases `code cache: used` (its time is the compile), `written`, `rejected`, `not used (…)`.
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import Module, { createRequire } from 'node:module';
import { homedir } from 'node:os';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import { Script } from 'node:vm';
import { traceSince } from './context/timingTrace';

const mainFile = path.join(__dirname, 'cli-main.js');

function trace(what: string, at = performance.now()): void {
  traceSince(`code cache: ${what}`, at);
}

/** The XDG base directory rule: a relative XDG_CACHE_HOME is ignored, as if unset. */
function cacheFolder(): string | undefined {
  const xdg = process.env.XDG_CACHE_HOME;
  const home = safeHome();
  const base =
    xdg && path.isAbsolute(xdg) ? xdg : home && path.isAbsolute(home) ? path.join(home, '.cache') : undefined;
  return base === undefined ? undefined : path.join(base, 'nix-builders', 'code-cache');
}

function safeHome(): string | undefined {
  try {
    return homedir() || undefined;
  } catch {
    return undefined;
  }
}

/** Ours alone: owned by this user, writable by nobody else (group or others). */
function ownedByUs(stat: fs.Stats): boolean {
  const uid = process.getuid?.();
  return uid !== undefined && stat.uid === uid && (stat.mode & 0o022) === 0;
}

/** The cached data for this bundle, when there is a usable one. */
function readCache(file: string): Buffer | undefined {
  let fd: number | undefined;
  try {
    if (!ownedByUs(fs.statSync(path.dirname(file)))) {
      trace('not used (its folder is not this user’s alone)');
      return undefined;
    }
    fd = fs.openSync(file, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW);
    if (!ownedByUs(fs.fstatSync(fd))) {
      trace('not used (the file is not this user’s alone)');
      return undefined;
    }
    return fs.readFileSync(fd);
  } catch {
    return undefined;
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}

/** Writes the cache next to where it will be read, atomically (a reader never sees half). */
function writeCache(file: string, script: Script): void {
  const at = performance.now();
  const folder = path.dirname(file);
  try {
    fs.mkdirSync(folder, { recursive: true, mode: 0o700 });
    if (!ownedByUs(fs.statSync(folder))) return;
    const partial = `${file}.${process.pid}.tmp`;
    fs.writeFileSync(partial, script.createCachedData(), { mode: 0o600, flag: 'wx' });
    fs.renameSync(partial, file);
    // Older bundles' caches are of no use to anyone: keep only this bundle's.
    const bundle = path.basename(file).replace(/-[a-z]+\.v8$/, '-');
    for (const name of fs.readdirSync(folder)) {
      if (!name.startsWith(bundle) && name.endsWith('.v8')) fs.rmSync(path.join(folder, name), { force: true });
    }
    trace('written', at);
  } catch {
    // Read-only, full, or raced by another run: the next run compiles again.
  }
}

/**
 * One cache per subcommand: V8 caches the functions a run compiled, and `build` runs other code
 * than `check`, so a cache written by one would leave the other compiling most of its own.
 */
function subcommand(): string {
  const name = process.argv[2];
  return name === 'check' || name === 'ping' || name === 'select' || name === 'build' ? name : 'other';
}

function start(): void {
  // Read as bytes: the hash is of what is on disk, and the text V8 gets is exactly that.
  const bytes = fs.readFileSync(mainFile);
  const source = bytes.toString('utf8');
  const folder = process.env.NIX_BUILDERS_CODE_CACHE === '0' ? undefined : cacheFolder();
  const file =
    folder === undefined
      ? undefined
      : path.join(
          folder,
          `cli-main-${process.version}-${process.arch}-${createHash('sha256').update(bytes).digest('hex').slice(0, 32)}-${subcommand()}.v8`,
        );
  const cached = file === undefined ? undefined : readCache(file);
  const compiling = performance.now();
  const script = new Script(Module.wrap(source), {
    filename: mainFile,
    ...(cached === undefined ? {} : { cachedData: cached }),
  });
  if (cached !== undefined) trace(script.cachedDataRejected ? 'rejected' : 'used', compiling);
  if (file !== undefined && (cached === undefined || script.cachedDataRejected)) {
    // After the command ran, so that the functions it compiled lazily are in the cache too.
    process.once('exit', () => writeCache(file, script));
  }
  const wrapper = script.runInThisContext() as (
    exports: unknown,
    require: NodeJS.Require,
    module: Module,
    filename: string,
    dirname: string,
  ) => void;
  const main = new Module(mainFile, module);
  main.filename = mainFile;
  main.paths = (Module as unknown as { _nodeModulePaths(dir: string): string[] })._nodeModulePaths(__dirname);
  wrapper.call(main.exports, main.exports, createRequire(mainFile), main, mainFile, __dirname);
}

start();
