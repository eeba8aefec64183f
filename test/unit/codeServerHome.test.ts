// Whose home `npm start` gives the extension, ssh and Nix: the user's own (their ~/.ssh config,
// keys, known_hosts and ~/.config/nix), while the tests keep an empty home inside the run folder
// so nothing of the machine's user leaks into them. VS Code's profile is in the run folder either way.
import assert from 'node:assert/strict';
import { test } from 'node:test';

const codeServerEnv = async (
  ...args: Parameters<
    typeof import('../vscode/codeServer/codeServer.mjs', { with: { 'resolution-mode': 'import' } }).codeServerEnv
  >
) => (await import('../vscode/codeServer/codeServer.mjs')).codeServerEnv(...args);

const user = {
  HOME: '/home/alice',
  XDG_CONFIG_HOME: '/home/alice/.config',
  PATH: '/usr/bin',
  SSH_AUTH_SOCK: '/run/alice/agent',
};

test('npm start (userHome): the user’s HOME, XDG folders and ssh-agent reach the extension', async () => {
  const env = await codeServerEnv(user, { runDir: '/work/.vscode-test/start', userHome: true });
  assert.equal(env.HOME, '/home/alice');
  assert.equal(env.XDG_CONFIG_HOME, '/home/alice/.config');
  assert.equal(env.SSH_AUTH_SOCK, '/run/alice/agent');
  assert.equal(env.XDG_CACHE_HOME, undefined, 'not made up: ssh and Nix find their defaults under HOME');
  assert.equal(env.TMPDIR, '/work/.vscode-test/start/tmp');
});

test('the tests (default): an empty home in the run folder, nothing of the user’s', async () => {
  const env = await codeServerEnv(user, { runDir: '/tmp/run' });
  assert.equal(env.HOME, '/tmp/run/home');
  assert.equal(env.XDG_CONFIG_HOME, '/tmp/run/home/.config');
  assert.equal(env.XDG_DATA_HOME, '/tmp/run/home/.local/share');
  assert.equal(env.XDG_CACHE_HOME, '/tmp/run/home/.cache');
  assert.equal(env.EXTENSIONS_GALLERY, '{}');
});
