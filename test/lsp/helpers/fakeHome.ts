// A home directory for the editing tests: an ssh config with an Include, a known_hosts with a
// plain, a bracketed-port and a hashed entry, and private keys (one with a .pub, one without).
// The server runs with HOME pointing here, so completion and hover read these files.
import { execFileSync } from 'node:child_process';
import { createHmac, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

export interface FakeHome {
  home: string;
  /** Public key lines (`type base64 comment`) by name. */
  keys: { pi: string; mac: string; secret: string };
  remove(): void;
}

function keyPair(file: string, comment: string): string {
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', comment, '-f', file]);
  return fs.readFileSync(`${file}.pub`, 'utf8').trim();
}

export function makeFakeHome(): FakeHome {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'nix-builders-home-'));
  const ssh = path.join(home, '.ssh');
  fs.mkdirSync(path.join(ssh, 'config.d'), { recursive: true, mode: 0o700 });
  fs.writeFileSync(
    path.join(ssh, 'config'),
    'Host mac-mini\n  HostName 192.168.1.20\n  User nix\n\nHost *.example.org\n  User builder\n\nInclude config.d/*\n',
  );
  fs.writeFileSync(path.join(ssh, 'config.d', 'team'), 'Host team-builder\n  HostName 10.0.0.5\n  Port 2222\n');
  keyPair(path.join(ssh, 'id_builder'), 'me@laptop');
  keyPair(path.join(ssh, 'deploy_key'), 'deploy');
  fs.rmSync(path.join(ssh, 'deploy_key.pub'));
  fs.writeFileSync(path.join(ssh, 'notes.txt'), 'not a key\n');

  const keysDir = fs.mkdtempSync(path.join(os.tmpdir(), 'nix-builders-hostkeys-'));
  const strip = (line: string) => line.split(' ').slice(0, 2).join(' ');
  const keys = {
    pi: keyPair(path.join(keysDir, 'pi'), 'root@pi'),
    mac: keyPair(path.join(keysDir, 'mac'), 'root@mac-mini'),
    secret: keyPair(path.join(keysDir, 'secret'), 'root@secret'),
  };
  fs.rmSync(keysDir, { recursive: true, force: true });
  const salt = randomBytes(20);
  const hashed = `|1|${salt.toString('base64')}|${createHmac('sha1', salt).update('secret.example').digest('base64')}`;
  fs.writeFileSync(
    path.join(ssh, 'known_hosts'),
    `pi.local ${strip(keys.pi)}\n192.168.1.20 ${strip(keys.mac)}\n[odd.example]:2222 ${strip(keys.pi)}\n${hashed} ${strip(keys.secret)}\n`,
  );
  return { home, keys, remove: () => fs.rmSync(home, { recursive: true, force: true }) };
}
