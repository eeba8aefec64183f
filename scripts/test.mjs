// `npm test`: type-checks, then runs every test tier in turn and ends with a summary: a line per
// tier (`unit: N passed, N failed, N skipped (T s)`, or `vscode: skipped — why` for a tier that
// could not run), a line per run of a tier that runs more than once (`vscode 1.139.1: …`, the
// VS Code each run used), then `tests: N passed, N failed, N skipped`. Each tier's own output is
// shown as it runs. In CI (CI=true) a tier whose real parts (Nix, sshd, Chromium) are missing
// fails, not skips.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { countTests, countsLine, skippedBecause } from './testSummary.mjs';

const testFiles = (dir) =>
  readdirSync(dir)
    .filter((name) => name.endsWith('.test.ts'))
    .sort()
    .map((name) => `${dir}/${name}`);

const only = process.argv.slice(2);
/** The nsswitch.conf of the sealed tiers (sealedNsswitch), one per run, removed at exit. */
let nsswitchFile;
/** The version lab's chroots once made (labRoots). */
let madeLab;

const tiers = [
  { name: 'typecheck', command: ['npx', 'tsc', '--noEmit', '-p', '.'] },
  // The code's layout is Prettier's (`npm run format` writes it): a file written otherwise fails here.
  { name: 'format', command: ['npx', 'prettier', '--check', '.'], check: true },
  { name: 'unit', command: withNixVersions(['node', '--import', 'tsx', '--test', ...testFiles('test/unit')], 'unit') },
  { name: 'lsp', command: withNixVersions(['node', '--import', 'tsx', '--test', ...testFiles('test/lsp')], 'lsp') },
  // The system lab's Nix 2.26 and 2.34 builders and clients run from the version lab's chroots (made before the tier).
  {
    name: 'system',
    command: withoutDns(['node', '--import', 'tsx', '--test', ...testFiles('test/system')]),
    prepare: labRoots,
  },
  // code-server comes from the npm registry: installed (or found cached) before DNS is sealed.
  {
    name: 'vscode',
    command: withoutDns(['node', '--import', 'tsx', 'test/vscode/runTests.ts']),
    prepare: prepareCodeServer,
  },
];

/**
 * The version lab: Nix 2.26 and 2.34 in Debian chroots (scripts/nix-versions.sh, made once into
 * .nix-versions/ and reused), for the oracle tests to hold our rules against each. As root, the
 * tier runs in its own mount namespace with /proc and /tmp bound into every chroot (nothing
 * stays mounted after it), and NIXRB_NIX_VERSIONS names the chroots. Without root (or when the
 * lab cannot be made) the tests on other versions say so: they fail in CI and skip elsewhere.
 */
function withNixVersions(command, tier) {
  if (only.length > 0 && !only.includes(tier)) return command;
  const roots = labRoots();
  if (roots.length === 0) return command;
  const binds =
    'for root in $(echo "$0" | tr : " "); do mount --bind /proc "$root/proc" && mount --bind /tmp "$root/tmp" || exit 1; done; NIXRB_NIX_VERSIONS="$0" exec "$@"';
  return ['unshare', '--mount', '--propagation', 'private', 'sh', '-c', binds, roots.join(':'), ...command];
}

/**
 * Installs every code-server the tier runs (and the Node each needs) into .vscode-test/, or finds
 * them cached; a failure is left for the tier to report (it skips that version, or fails in CI).
 */
async function prepareCodeServer() {
  const { codeServers, installCodeServer, missingParts } = await import('../test/vscode/codeServer/codeServer.mjs');
  if (missingParts()) return; // the tier says why it cannot run; nothing to install for it
  const only = process.env.NIX_BUILDERS_CODE_SERVER;
  for (const { version } of codeServers.filter((c) => !only || c.version === only)) {
    try {
      installCodeServer(version);
    } catch (error) {
      console.log(`--- code-server ${version} could not be installed here: ${error.message}`);
    }
  }
}

/** The chroots of the version lab, made (or found ready) once per run; none without root. */
function labRoots() {
  if (madeLab !== undefined) return madeLab;
  madeLab = [];
  if (process.getuid?.() !== 0 || spawnSync('unshare', ['--version']).status !== 0) return madeLab;
  console.log('--- the version lab (scripts/nix-versions.sh)');
  const made = spawnSync('bash', ['scripts/nix-versions.sh'], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  process.stdout.write(made.stdout ?? '');
  madeLab = (made.stdout ?? '')
    .split('\n')
    .map((line) => line.split(' ')[2])
    .filter(Boolean);
  return madeLab;
}

/**
 * The system and VS Code tiers make up host names (a builder that does not resolve, aliases of
 * the lab's builders): none may reach the machine's resolver. As root, such a tier runs in its
 * own mount namespace whose /etc/nsswitch.conf resolves host names from /etc/hosts only, so real
 * glibc, ssh and Nix answer "not found" for any name the lab does not define, without a query.
 * `NIXRB_DNS_SEALED` tells the tier's guard test (fixture.test.ts) the seal is on.
 */
function withoutDns(command) {
  const canSeal = process.getuid?.() === 0 && spawnSync('unshare', ['--version']).status === 0;
  if (!canSeal) return command;
  const nsswitch = sealedNsswitch();
  const seal = 'mount --bind "$0" /etc/nsswitch.conf && NIXRB_DNS_SEALED=1 exec "$@"';
  return ['unshare', '--mount', '--propagation', 'private', 'sh', '-c', seal, nsswitch, ...command];
}

const totals = { passed: 0, failed: 0, skipped: 0 };
const results = [];

for (const tier of tiers.filter((t) => only.length === 0 || only.includes(t.name))) {
  console.log(`\n=== ${tier.name} ===`);
  const started = Date.now();
  await tier.prepare?.();
  const { code, output } = await run(tier.command);
  const counts = countTests(output);
  if (tier.name === 'typecheck' || tier.check) {
    // Not a test, but a type error (or a file Prettier would rewrite) fails the run like one.
    counts.failed = code === 0 ? 0 : 1;
  } else if (code !== 0 && counts.failed === 0) {
    // A tier that crashed before reporting still counts as a failure.
    counts.failed = 1;
  }
  for (const key of Object.keys(totals)) totals[key] += counts[key];
  const took = `(${((Date.now() - started) / 1000).toFixed(1)} s)`;
  const skip = skippedBecause(tier.name, output, counts);
  results.push(
    skip && code === 0 ? `${tier.name}: skipped — ${skip} ${took}` : `${tier.name}: ${countsLine(counts)} ${took}`,
  );
  for (const each of counts.runs) results.push(`  ${each}`);
}

console.log(`\n${results.join('\n')}`);
console.log(`tests: ${countsLine(totals)}`);
process.exitCode = totals.failed > 0 ? 1 : 0;

function run([command, ...args]) {
  return new Promise((resolve) => {
    const child = spawn(command, args, {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, FORCE_COLOR: '0' },
    });
    let output = '';
    child.stdout.on('data', (chunk) => {
      output += chunk;
      process.stdout.write(chunk);
    });
    child.stderr.on('data', (chunk) => {
      output += chunk;
      process.stderr.write(chunk);
    });
    child.on('close', (code) => resolve({ code: code ?? 1, output }));
  });
}

/** /etc/nsswitch.conf with host names from /etc/hosts only, written once per run. */
function sealedNsswitch() {
  if (nsswitchFile !== undefined) return nsswitchFile;
  const dir = mkdtempSync(join(tmpdir(), 'nixrb-nsswitch-'));
  process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
  nsswitchFile = join(dir, 'nsswitch.conf');
  const current = readFileSync('/etc/nsswitch.conf', 'utf8');
  writeFileSync(nsswitchFile, `${current.replace(/^hosts:.*$/m, '').trimEnd()}\nhosts: files\n`);
  return nsswitchFile;
}
