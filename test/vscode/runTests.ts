// Runs the mocha suite of test/vscode/suite inside a real VS Code through @vscode/test-electron.
// With desktop VS Code (VSCODE_EXECUTABLE=/path/to/code) runTests starts it directly; on our
// offline machines runTests starts the project's launcher instead, once per VS Code version we
// claim (the oldest `engines.vscode` allows and the newest: codeServers in
// codeServer/codeServer.mjs; NIX_BUILDERS_CODE_SERVER=<code-server version> runs one), each
// served by code-server to Debian's Chromium (see codeServer/launcher.mjs). Each version runs
// twice: with the folder trusted (every suite but untrusted.test.ts), and with workspace trust on
// as VS Code ships and the folder untrusted (untrusted.test.ts alone), after which the lab's
// builders must have seen no SSH connection at all. Each version also runs as each normal user
// of a multi-user install (nixrb-untrusted, nixrb-trusted), inside the lab's client nix-daemon namespace (asUser.ts; the
// suite's multiuser.test.ts alone).
import { runTests } from '@vscode/test-electron';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { randomBytes } from 'node:crypto';
import { provisionBuilders, skipUnlessRealParts, whereBuiltExpression, type BuilderLab } from '../system/fixture';
import type { CodeServer } from './codeServer/codeServer.mjs' with { 'resolution-mode': 'import' };
import { connectionsIn } from './suite/sshdLog';
import { giveTo, launchAs, resultsDirFor, sshConfigOf, startClientSide } from './asUser';
import { TRUSTED_USER, UNTRUSTED_USER, type ClientDaemon, type ClientUserName } from '../system/fixture/clientDaemon';

const root = resolve(__dirname, '../..');
const inCI = process.env.CI === 'true';

/** One run of the suite: in desktop VS Code, or in one code-server version. */
interface Run {
  /** The VS Code version the summary line names (desktop: whatever VS Code says). */
  label: string;
  executable: string;
  codeServer?: CodeServer;
  /** Why this run cannot happen here, if it cannot. */
  missing?: string;
  /** Workspace trust on and the folder untrusted (code-server only). */
  untrusted?: boolean;
  /** Run as this normal user against the lab's client nix-daemon (code-server only). */
  asUser?: ClientUserName;
}

async function main(): Promise<number> {
  const { missingParts } = await import('./codeServer/codeServer.mjs');
  const missing = missingParts();
  if (missing) return skipped('vscode', missing);
  const desktop = process.env.VSCODE_EXECUTABLE;
  // NIX_BUILDERS_VSCODE_RUNS=<label>,… runs only those (e.g. 1.100.3-as-nixrb-untrusted).
  const only = process.env.NIX_BUILDERS_VSCODE_RUNS?.split(',').filter(Boolean);
  const runs = (desktop ? [{ label: 'desktop', executable: desktop }] : await codeServerRuns()).filter(
    (run: Run) => !only?.length || only.includes(run.label),
  );
  const lab = await startLab();
  const client = lab && runs.some((run) => run.asUser) ? await startClientSide(lab as never) : undefined;
  let failed = 0;
  try {
    for (const run of runs) {
      if (run.missing) {
        failed += skipped(`vscode ${run.label}`, run.missing);
        continue;
      }
      if (run.asUser && !client) {
        failed += skipped(`vscode ${run.label}`, 'a run as a normal user needs the lab (its client nix-daemon)');
        continue;
      }
      if (!(await runSuite(run, lab, client))) failed++;
    }
  } finally {
    await client?.stop();
    await lab?.stop();
  }
  return failed > 0 ? 1 : 0;
}

/**
 * A run per code-server version. With DNS sealed (npm test) the launcher cannot reach the npm
 * registry, so each must already be in the cache: npm test installs them before the tier.
 */
async function codeServerRuns(): Promise<Run[]> {
  const { codeServers, codeServerOf, installedCodeServer } = await import('./codeServer/codeServer.mjs');
  const only = process.env.NIX_BUILDERS_CODE_SERVER;
  const sealed = process.env.NIXRB_DNS_SEALED === '1';
  const executable = join(root, 'test/vscode/codeServer/launcher.mjs');
  return (only ? [codeServerOf(only)] : codeServers).flatMap((codeServer) => {
    const run = {
      label: codeServer.vscode,
      executable,
      codeServer,
      missing:
        sealed && !installedCodeServer(codeServer.version)
          ? `code-server ${codeServer.version} is not installed in .vscode-test/ (npm test installs it from the npm registry before the tier: see why it could not above)`
          : undefined,
    };
    // As each normal user, on every version (a run takes ~15-25 s: its suite is short). The user
    // only reads root's .vscode-test cache: it cannot install code-server there.
    const notInstalled = installedCodeServer(codeServer.version)
      ? undefined
      : `code-server ${codeServer.version} is not installed in .vscode-test/, which a run as a normal user only reads (npm test installs it as root before the tier)`;
    const asUsers = [UNTRUSTED_USER, TRUSTED_USER].map((user) => ({
      ...run,
      label: `${codeServer.vscode}-as-${user}`,
      asUser: user,
      missing: run.missing ?? notInstalled,
    }));
    return [run, { ...run, label: `${codeServer.vscode}-untrusted`, untrusted: true }, ...asUsers];
  });
}

/** VS Code's own settings for the runs (older versions ignore the ones they do not have). */
const userSettings = {
  'chat.disableAIFeatures': true,
  'workbench.secondarySideBar.defaultVisibility': 'hidden',
};
/**
 * The untrusted run's: trust on, as VS Code ships it, without the modal that asks at startup
 * (a user who closes it, or picks "Don't Trust", is left in the same restricted mode). The lab's
 * ssh config is a user setting here: VS Code ignores the workspace's nixBuilders.sshConfigFile in
 * an untrusted folder (restrictedConfigurations), and without it the lab's names do not resolve,
 * so zero connections would prove nothing about the extension.
 */
function untrustedSettings(lab: Lab | undefined): Record<string, unknown> {
  return {
    ...userSettings,
    'security.workspace.trust.enabled': true,
    'security.workspace.trust.startupPrompt': 'never',
    ...(lab ? { 'nixBuilders.sshConfigFile': lab.sshConfig } : {}),
  };
}

/** One VS Code run on a fresh copy of the example workspace and fresh VS Code state. */
async function runSuite(run: Run, lab: Lab | undefined, client?: ClientDaemon): Promise<boolean> {
  const runDir = mkdtempSync(join(tmpdir(), 'nix-builders-vscode-'));
  const workspace = join(runDir, 'workspace');
  cpSync(join(root, 'test/fixtures/example-workspace'), workspace, { recursive: true });
  if (lab) useLab(workspace, lab, run.asUser && client ? sshConfigOf(client, run.asUser) : undefined);
  // A user without AI features: VS Code 1.139 otherwise opens its chat beside every screenshot.
  mkdirSync(join(runDir, 'user-data/User'), { recursive: true });
  writeFileSync(
    join(runDir, 'user-data/User/settings.json'),
    `${JSON.stringify(run.untrusted ? untrustedSettings(lab) : userSettings, null, 2)}\n`,
  );
  const asUser = run.asUser && client ? launchAs(client, run.asUser) : undefined;
  const resultsDir = join(root, 'test-results/vscode', run.label);
  if (run.asUser && client) {
    giveTo(client, run.asUser, runDir);
    resultsDirFor(client, run.asUser, resultsDir);
  }
  const connectionsBefore = lab ? sshConnections(lab) : 0;
  const started = Date.now();
  let suitePassed = false;
  try {
    await runTests({
      vscodeExecutablePath: asUser?.executable ?? run.executable,
      extensionDevelopmentPath: root,
      extensionTestsPath: join(root, 'out/test/vscode/suite/index.js'),
      launchArgs: [
        workspace,
        `--user-data-dir=${join(runDir, 'user-data')}`,
        `--extensions-dir=${join(runDir, 'extensions')}`,
      ],
      extensionTestsEnv: {
        // For the launcher: which code-server to start, and whether with workspace trust on;
        // for the suite (index.ts): which files to run, and the run's name in its summary line.
        NIX_BUILDERS_CODE_SERVER: run.codeServer?.version ?? '',
        NIX_BUILDERS_WORKSPACE_TRUST: run.untrusted ? 'on' : '',
        NIX_BUILDERS_RUN_LABEL: run.label,
        // For the suite: the VS Code it must find itself in (index.ts fails otherwise).
        NIX_BUILDERS_EXPECTED_VSCODE: run.codeServer?.vscode ?? '',
        NIX_BUILDERS_TEST_RESULTS: resultsDir,
        // Nix's configuration as the extension will read it: ours, not the machine's.
        NIX_CONF_DIR: join(root, 'test/fixtures/etc-nix'),
        NIX_USER_CONF_FILES: join(runDir, 'no-user-nix.conf'),
        NIX_CONFIG: '',
        // Which machines of lab.machines are real builders, for the health tests.
        NIX_BUILDERS_LAB: lab
          ? JSON.stringify(Object.fromEntries(labBuilders.map((name) => [name, lab.builders[name].uri])))
          : '',
        // For the log test: a builder whose key has a passphrase, the key and the passphrase it must never find in the log.
        NIX_BUILDERS_LAB_PASSPHRASE: lab
          ? JSON.stringify({
              machinesLine: lab.builders.passphraseKey.machinesLine,
              uri: lab.builders.passphraseKey.uri,
              keyFile: lab.passphraseKey,
              passphrase: lab.passphrase,
            })
          : '',
        NIX_BUILDERS_LAB_HOSTNAMES: lab
          ? JSON.stringify(Object.fromEntries(Object.entries(lab.builders).map(([name, b]) => [name, b.hostname])))
          : '',
        // The builders' sshd logs, for the untrusted suite's count of connections.
        NIX_BUILDERS_LAB_SSHD_LOGS: lab ? JSON.stringify(sshdLogs(lab)) : '',
        // For a run as a user: how launcherAsUser.mjs enters the namespace, and (for the suite) who.
        ...asUser?.env,
      },
    });
    suitePassed = true;
  } catch (error) {
    console.error(
      `The suite failed in VS Code ${run.label}: ${error instanceof Error ? error.message : String(error)}`,
    );
  } finally {
    rmSync(runDir, { recursive: true, force: true });
    // From starting VS Code to its exit; scripts/test.mjs shows it beside the run's counts.
    console.log(`vscode ${run.label} took ${((Date.now() - started) / 1000).toFixed(1)} s`);
  }
  // Counted once VS Code has exited, whether or not its suite passed: an untrusted session that
  // connected fails even when its suite failed first. A failed trusted suite may have connected nowhere.
  const connectionsRight =
    !lab ||
    (!run.untrusted && !suitePassed) ||
    connectionsAsExpected(run, lab, sshConnections(lab) - connectionsBefore);
  return suitePassed && connectionsRight;
}

/**
 * The line scripts/test.mjs shows in its summary for a run that could not happen. In CI a
 * missing part is a failure (returns 1), elsewhere a loud skip (returns 0).
 */
function skipped(what: string, why: string): number {
  if (inCI) {
    console.error(`FAIL: ${why}`);
    console.log(`${what}: 0 passed, 1 failed, 0 skipped`);
    return 1;
  }
  console.warn(`\n*** SKIPPED: ${why} ***\n`);
  console.log(`${what}: skipped — ${why}`);
  return 0;
}

/**
 * The SSH connections the lab's builders saw from VS Code's start to its exit: none for an
 * untrusted session, and some for a trusted one (its health and build tests connect), which
 * shows the count sees connections at all. A wrong count fails the run.
 */
function connectionsAsExpected(run: Run, lab: Lab, connections: number): boolean {
  console.log(`vscode ${run.label}: the lab's builders saw ${connections} SSH connection(s)`);
  const wrong = run.untrusted ? connections > 0 : connections === 0;
  if (!wrong) return true;
  console.error(
    run.untrusted
      ? `The untrusted workspace in VS Code ${run.label} connected to the lab's builders (their sshd logs: ${sshdLogs(lab).join(', ')})`
      : `The trusted run in VS Code ${run.label} checked and built on the lab's builders, yet their sshd logs show no connection: is sshd's LogLevel VERBOSE? (${sshdLogs(lab).join(', ')})`,
  );
  // Counted in the summary beside the run's own line.
  console.log(`vscode ${run.label}: 0 passed, 1 failed, 0 skipped`);
  return false;
}

/** The builders' sshd logs (a closed port has none). */
function sshdLogs(lab: Lab): string[] {
  return Object.values<Lab['builders'][keyof Lab['builders']]>(lab.builders)
    .map((b) => b.sshdLog)
    .filter(Boolean);
}

/** Connections the builders' sshd accepted so far. */
function sshConnections(lab: Lab): number {
  return connectionsIn(sshdLogs(lab));
}

const labBuilders = ['healthy', 'closedPort', 'untrusted'] as const;
type Lab = BuilderLab<(typeof labBuilders)[number] | 'passphraseKey'>;

/**
 * Real builders for the view's health and build tests (sshd + nix-daemon on loopback, see
 * test/system), shared by the runs of every VS Code version. Without the real parts: fails in
 * CI, skipped elsewhere.
 */
async function startLab(): Promise<Lab | undefined> {
  const skip = skipUnlessRealParts(); // throws in CI when something is missing
  if (skip) {
    console.warn(`\n*** The VS Code health tests are skipped: ${skip} ***\n`);
    return undefined;
  }
  // The passphrase builder is in no machines file (a Check All would ask for its passphrase):
  // the log test adds it for itself.
  return provisionBuilders({ builders: [...labBuilders, 'passphraseKey'] });
}

/**
 * The lab's lines go into the workspace as lab.machines, and its settings point the extension
 * at the lab's ssh config. where.nix is new in every workspace: a derivation built by an
 * earlier run would already be in the store, and the build test would prove nothing.
 */
function useLab(workspace: string, lab: Lab, userSshConfig?: string): void {
  // A normal user reaches the builders by its own ~/.ssh/config (the lab's keys are root's).
  const lines = userSshConfig
    ? [`ssh://${lab.builders.healthy.alias} ${lab.system}`]
    : labBuilders.map((name) => lab.builders[name].machinesLine);
  writeFileSync(join(workspace, 'lab.machines'), `${lines.join('\n')}\n`);
  // A derivation whose output says where it was built (a fresh one every run: never cached).
  writeFileSync(
    join(workspace, 'where.nix'),
    `${whereBuiltExpression({ nonce: randomBytes(6).toString('hex'), system: lab.system })}\n`,
  );
  const settingsFile = join(workspace, '.vscode/settings.json');
  const settings = JSON.parse(readFileSync(settingsFile, 'utf8')) as Record<string, unknown>;
  writeFileSync(
    settingsFile,
    JSON.stringify(
      { ...settings, 'nixBuilders.sshConfigFile': userSshConfig ?? lab.sshConfig, 'nixBuilders.probeTimeout': 5 },
      null,
      2,
    ),
  );
}

main().then((code) => process.exit(code));
