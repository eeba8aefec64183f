// The editor's pool kept warm while the Remote Builders view is visible (issue 14, item 2),
// against a real lab sshd, counting the TCP connections its VERBOSE log records: with a short
// idle time (NIX_BUILDERS_TEST_IDLE_MS, for tests), a check and then a build after several idle
// times reuse the check's connection while the view is visible; once it hides, the idle time
// closes that connection and the next build opens exactly one new one. Order and counts only.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  listBuildersRequest,
  probeRequest,
  startBuildRequest,
  viewVisibleNotification,
} from '../../server/src/protocol';
import { LspClient } from '../lsp/helpers/lspClient';
import { connectionsIn } from '../vscode/suite/sshdLog';
import { provisionBuilders, readWhereBuilt, whereBuiltExpression, type BuilderLab } from './fixture';
import { labCanRun } from './fixture/gate';

const idleMs = 300;
const wait = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** sshd's VERBOSE log of a session's end: the client said goodbye, or the TCP connection closed. */
const endsIn = (log: string) =>
  readFileSync(log, 'utf8').match(/^(Received disconnect|Connection closed) /gm)?.length ?? 0;

describe('the pool kept warm while the view is visible', { skip: !labCanRun() }, () => {
  let lab: BuilderLab<'healthy'>;
  let client: LspClient;
  let dir: string;
  let id: string;

  before(async () => {
    lab = await provisionBuilders({ builders: ['healthy'] });
    dir = mkdtempSync(join(lab.dir, 'warm-pool-'));
    writeFileSync(join(dir, 'nix.conf'), `builders = ${lab.machines('healthy')}\n`);
    const env: NodeJS.ProcessEnv = {
      ...lab.env(),
      NIX_CONF_DIR: dir,
      NIX_USER_CONF_FILES: join(dir, 'none'),
      NIX_BUILDERS_TEST_IDLE_MS: String(idleMs),
    };
    delete env.NIX_CONFIG;
    client = await LspClient.start({ env, initializationOptions: { trusted: true } });
    client.settings = { nixVersion: '2.8', sshConfigFile: lab.sshConfig };
    const list = await client.connection.sendRequest(listBuildersRequest);
    const machine = list.sources.flatMap((source) => source.machines).find((m) => m.uri === lab.builders.healthy.uri);
    assert.ok(machine, JSON.stringify(list.sources));
    id = machine.id;
  });
  after(async () => {
    await client?.stop();
    await lab?.stop();
  });

  const build = async () => {
    const nonce = randomBytes(6).toString('hex');
    const file = join(dir, `where-${nonce}.nix`);
    writeFileSync(file, `${whereBuiltExpression({ nonce, system: lab.system })}\n`);
    const outcome = await client.connection.sendRequest(startBuildRequest, { file, buildId: nonce, on: id });
    assert.equal(outcome.ok, true, JSON.stringify(outcome));
    assert.equal(readWhereBuilt(outcome.outputs[0]!.path).hostname, lab.builders.healthy.hostname);
  };
  const connections = () => connectionsIn([lab.builders.healthy.sshdLog]);

  test('visible: a check, then a build several idle times later, on one connection; hidden: the idle time closes it, and the next build opens one', async () => {
    const log = lab.builders.healthy.sshdLog;
    // What a client might send by mistake is no visibility and no crash (the check below answers).
    for (const params of [null, 'yes', { visible: 'yes' }, []])
      await client.connection.sendNotification(viewVisibleNotification, params as never);
    await client.connection.sendNotification(viewVisibleNotification, { visible: true });
    const before = connections();
    const [health] = await client.connection.sendRequest(probeRequest, { ids: [id] });
    assert.equal(health?.status, 'up', JSON.stringify(health?.findings));
    const checked = connections();
    assert.equal(checked - before, 1, 'the check opened one connection');

    await wait(idleMs * 6); // the idle time passes several times over; the view keeps it warm
    await build();
    assert.equal(connections(), checked, "the build after the idle time opened a connection: the check's was closed");

    // Hidden: the idle time counts again from now, and the connection is closed...
    const ended = endsIn(log);
    await client.connection.sendNotification(viewVisibleNotification, { visible: false });
    for (let i = 0; i < 200 && endsIn(log) === ended; i++) await wait(idleMs / 2);
    assert.ok(endsIn(log) > ended, 'the idle connection was never closed after the view hid');
    // ...so the next build opens exactly one.
    await build();
    assert.equal(connections(), checked + 1, 'hidden and idle: the next build opens one new connection');
  });
});
