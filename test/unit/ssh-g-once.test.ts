// `ssh -G` once per destination while the config files stay as they are (ssh/sshGCache.ts):
// the real ssh behind a wrapper that marks each run. A second resolution of the same host asks
// ssh nothing; an edited config (even one rewritten at once with the same size), a file it
// includes, or another host asks again; a config with `Match exec` is asked every time.
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { resolveSshHost } from '../../server/src/ssh/sshConfig';
import { marked, markingWrapper } from '../lsp/helpers/markingWrapper';
import { hasCommand } from '../helpers/realTools';

const dir = mkdtempSync(join(tmpdir(), 'nix-builders-ssh-g-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const bin = join(dir, 'bin');
mkdirSync(bin);
const home = join(dir, 'home');
mkdirSync(join(home, '.ssh'), { recursive: true });
const marks = join(dir, 'marks');
const runs = () => marked(marks).split('\n').filter(Boolean).length;

const resolve = (host: string, configFile: string) =>
  resolveSshHost(
    { user: undefined, host },
    { sshBinary: join(bin, 'ssh'), configFile, home, env: { PATH: process.env.PATH }, nixSshOpts: '' },
  );

test(
  'the same host twice: ssh -G runs once; an edit, an included file or another host asks again',
  { skip: !hasCommand('ssh') },
  async () => {
    markingWrapper(bin, 'ssh', marks);
    const config = join(dir, 'config');
    const included = join(dir, 'included');
    writeFileSync(included, 'Host b\n  User bee\n');
    writeFileSync(config, `Include ${included}\nHost a\n  Port 2201\n`);
    const first = await resolve('a', config);
    const second = await resolve('a', config);
    assert.ok(first.ok && second.ok);
    assert.equal(second.host.port, 2201);
    assert.equal(runs(), 1, marked(marks));

    // Rewritten at once, the same size: the contents decide, not the clock.
    writeFileSync(config, `Include ${included}\nHost a\n  Port 2202\n`);
    const edited = await resolve('a', config);
    assert.ok(edited.ok);
    assert.equal(edited.host.port, 2202);
    assert.equal(runs(), 2);

    writeFileSync(included, 'Host a\n  User ay\n');
    const viaInclude = await resolve('a', config);
    assert.ok(viaInclude.ok);
    assert.equal(viaInclude.host.user, 'ay');
    assert.equal(runs(), 3);

    await resolve('b', config);
    assert.equal(runs(), 4);
  },
);

test('a config with Match exec is asked every time (its command decides)', { skip: !hasCommand('ssh') }, async () => {
  markingWrapper(bin, 'ssh', marks);
  const config = join(dir, 'exec-config');
  writeFileSync(config, 'Match exec "true"\n  Port 2203\n');
  const before = runs();
  await resolve('c', config);
  const again = await resolve('c', config);
  assert.ok(again.ok);
  assert.equal(again.host.port, 2203);
  assert.equal(runs() - before, 2);
});
