// A pinned host key (column 8) and a builder on a port other than 22, for real, with our probe's
// verdict held against real Nix (the machine's 2.8 and the lab's 2.34 as clients) in each case.
// Nix writes column 8 into a known_hosts file of its own as `<URI host> <key>` (2.34.8
// src/libstore/ssh.cc `addCommonSSHOpts`: `authority.host + " " + sshPublicHostKey`, and the port
// as `-p`; 2.8 the same with the whole host). What ssh looks up is the HostName, as
// `[HostName]:port` for a port other than 22, or the HostKeyAlias. Found for real:
// - the port in the URI (2.31+): ssh finds the key Nix wrote for the bare host ("found matching
//   key w/out port"), so column 8 works there;
// - an ssh config alias whose HostName differs: ssh never finds the key Nix filed under the
//   alias, whatever the port, until the entry says `HostKeyAlias <alias>`.
// The builder on another port is a TCP relay on a free port of the 2.34 builder's own address.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { connect, createServer, type AddressInfo, type Server } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { runProbe } from '../../server/src/health/probe';
import { parseBuilders } from '../../server/src/model/machines';
import { parseNixVersion, rulesFor } from '../../server/src/model/nixVersion';
import {
  clientEnv,
  nixBuildRemote,
  provisionBuilders,
  readWhereBuilt,
  run,
  whereBuiltExpression,
  type BuilderLab,
} from './fixture';
import { labCanRun, labNixCanRun } from './fixture/gate';
import { makeLabClient } from './fixture/labClient';

/** Relays a free port on the builder's own address to its sshd: a builder on a port other than 22. */
async function relay(address: string, port: number): Promise<{ server: Server; port: number }> {
  const server = createServer((socket) => {
    const upstream = connect(port, address);
    socket.pipe(upstream).pipe(socket);
    const close = () => {
      socket.destroy();
      upstream.destroy();
    };
    socket.on('error', close);
    upstream.on('error', close);
  });
  await new Promise<void>((resolve) => server.listen(0, address, resolve));
  return { server, port: (server.address() as AddressInfo).port };
}

if (labCanRun() && labNixCanRun('2.34')) {
  describe('a pinned host key on a port other than 22: our probe says what real Nix does', { concurrency: 1 }, () => {
    let lab: BuilderLab<'healthy234'>;
    let forward: { server: Server; port: number };
    let dir: string;
    before(async () => {
      lab = await provisionBuilders({ builders: ['healthy234'] });
      const builder = lab.builders.healthy234;
      forward = await relay(builder.address, builder.port);
      dir = mkdtempSync(join(lab.dir, 'port-key-'));
    });
    after(async () => {
      forward?.server.close();
      await lab?.stop();
    });

    /** An ssh config for the relayed builder: its address, and `Host port-key` with the port (and a HostKeyAlias or not). */
    const sshConfig = (name: string, hostKeyAlias: boolean) => {
      const builder = lab.builders.healthy234;
      const path = join(dir, `ssh_config-${name}`);
      const common = [
        `  User ${builder.user}`,
        `  IdentityFile ${lab.clientKey}`,
        '  IdentitiesOnly yes',
        '  BatchMode yes',
        '  StrictHostKeyChecking yes',
        '  GlobalKnownHostsFile /dev/null',
        '  UserKnownHostsFile /dev/null',
        '  ConnectTimeout 5',
      ];
      const alias = [
        'Host port-key',
        `  HostName ${builder.address}`,
        `  Port ${forward.port}`,
        ...(hostKeyAlias ? ['  HostKeyAlias port-key'] : []),
        ...common,
      ];
      writeFileSync(path, [`Host ${builder.address}`, ...common, ...alias, ''].join('\n'));
      return path;
    };
    const lineFor = (uri: string) =>
      `${uri} ${lab.system} ${lab.clientKey} 1 1 - - ${lab.builders.healthy234.hostKeyBase64}`;
    const expression = () => whereBuiltExpression({ nonce: randomBytes(6).toString('hex'), system: lab.system });
    const refusedKey = /Host key verification failed|host key is known for/;

    /** Real Nix 2.8 (the machine's) or 2.34 (the lab's) building on the line through the config. */
    async function nixBuilds(
      version: '2.8' | '2.34',
      config: string,
      line: string,
    ): Promise<{ built: boolean; output: string }> {
      if (version === '2.8') {
        const result = await nixBuildRemote(`-F ${config}`, line, expression());
        if (result.code === 0) assert.equal(readWhereBuilt(result.outPath!).hostname, lab.builders.healthy234.hostname);
        return { built: result.code === 0, output: result.output };
      }
      const own = makeLabClient(lab.dir, '2.34');
      const result = await run('nix-build', ['--no-out-link', '-j0', '--builders', line, '-E', expression()], {
        env: own.env(clientEnv(`-F ${config}`)),
        cwd: '/',
        timeoutMs: 60_000,
      });
      return { built: result.code === 0, output: result.output };
    }

    /** Our probe of the same line with the same config, reading the line as that Nix does. */
    async function probeSays(version: '2.8' | '2.34', config: string, line: string) {
      const [machine] = parseBuilders(`${line}\n`, rulesFor(parseNixVersion(version)!), {
        localSystem: lab.system,
      }).machines;
      const rules = rulesFor(parseNixVersion(version)!);
      return runProbe(machine!, {
        env: { ...lab.env(), NIX_SSHOPTS: `-F ${config}` },
        sshConfigFile: config,
        portInUri: rules.portInUri,
        timeoutMs: 8000,
      });
    }

    const cases = [
      {
        name: 'the port in the URI (Nix 2.31+): ssh matches the key Nix filed for the bare host',
        versions: ['2.34'] as const,
        uri: () => `ssh://${lab.builders.healthy234.user}@${lab.builders.healthy234.address}:${forward.port}`,
        hostKeyAlias: false,
        builds: true,
      },
      {
        name: 'an alias with the port and another HostName, no HostKeyAlias: ssh never finds the key Nix filed under the alias',
        versions: ['2.8', '2.34'] as const,
        uri: () => 'ssh://port-key',
        hostKeyAlias: false,
        builds: false,
      },
      {
        name: 'the same alias with HostKeyAlias port-key: column 8 verifies',
        versions: ['2.8', '2.34'] as const,
        uri: () => 'ssh://port-key',
        hostKeyAlias: true,
        builds: true,
      },
    ];
    for (const [n, c] of cases.entries()) {
      for (const version of c.versions) {
        test(`${c.name}: Nix ${version} ${c.builds ? 'builds' : 'fails'}, and the probe says so`, async () => {
          const config = sshConfig(`${n}-${version}`, c.hostKeyAlias);
          const line = lineFor(c.uri());
          const nix = await nixBuilds(version, config, line);
          assert.equal(nix.built, c.builds, nix.output);
          if (!c.builds) assert.match(nix.output, refusedKey);
          const probe = await probeSays(version, config, line);
          const codes = probe.findings.map((f) => f.code);
          if (c.builds) assert.deepEqual(codes, ['ok'], JSON.stringify(probe.findings));
          else {
            const finding = probe.findings.find((f) => f.code === 'host-key-unknown');
            assert.ok(finding, JSON.stringify(probe.findings));
            assert.match(finding.message, /files it under 'port-key' while ssh looks it up under/);
          }
        });
      }
    }
  });
}
