// Column 8, the builder's host key. Nix checks only that it is base64 and hands the decoded
// text to ssh as a known_hosts line, with the host in front (libstore/ssh.cc at 2.26.3:
// `writeFile(fileName, thost + " " + sshPublicHostKey + "\n")`); three mistakes pass Nix and
// then make ssh refuse the host: the bare blob, text that is no key, and a whole known_hosts
// line (what ssh-keyscan prints), whose own host field then reads as the key type.

/**
 * Column 8 decoded to a known_hosts line (`host[,host] type AAAA… [comment]`): its key. A key
 * is on record there, in the wrong form: to be unwrapped, never replaced by a fetched one.
 */
export function knownHostsLineKey(decoded: string): HostPublicKey | undefined {
  const fields = (decoded.split(/\r?\n/)[0] ?? '').trim().split(/\s+/);
  if (fields.length < 3 || fields[0]!.startsWith('@')) return undefined;
  return parsePublicKeyLine(fields.slice(1).join(' '));
}

import { problem, type Problem } from '../problem';
import type { Machine } from '../machines';
import { base64Refusal } from '../nixStrings';
import { hostKeyColumnFor, parsePublicKeyLine, type HostPublicKey } from '../hostKey';
import { hostKeyReading } from './hostKeyReading';

const howToGetIt = '`base64 -w0 /etc/ssh/ssh_host_ed25519_key.pub` (run on the builder)';

export function lintHostKey(machine: Machine): Problem[] {
  const column = machine.columns.publicHostKey;
  if (column === undefined || !column.isSet || base64Refusal(column.text) !== undefined) return [];
  const reading = hostKeyReading(column.text);
  if (reading.kind === 'key-line') return [];
  if (reading.kind === 'raw-blob') {
    return [
      problem(
        'host-key-raw',
        column.span,
        `This is the bare ${reading.key.type} key (${reading.key.fingerprint}), the AAAA… part of a .pub file. Nix accepts it, but column 8 must be base64 of the whole key line ('${reading.key.type} AAAA…'): as it is, ssh does not recognise the host ("Host key verification failed"). Replace it with the wrapped form (the quick fix does), which is what ${howToGetIt} prints.`,
        undefined,
        { suggestion: reading.wrapped },
      ),
    ];
  }
  const inLine = knownHostsLineKey(reading.decoded);
  if (inLine !== undefined) {
    const host = reading.decoded.trim().split(/\s+/)[0]!;
    return [
      problem(
        'host-key-with-host',
        column.span,
        `Column 8 decodes to a known_hosts line ('${host} ${inLine.type} …', as ssh-keyscan prints it), but Nix puts the host in front itself, so ssh reads '${host}' as the key type and does not recognise the host ("Host key verification failed"). Keep only the key line, base64 of '${inLine.type} AAAA…' (the quick fix does), which is what ${howToGetIt} prints.`,
        undefined,
        { suggestion: hostKeyColumnFor(inLine.line) },
      ),
    ];
  }
  return [
    problem(
      'host-key-not-a-key',
      column.span,
      `Column 8 decodes to ${describeDecoded(reading.decoded)}, which is not an SSH public key line, so ssh does not recognise the host ("Host key verification failed"). Put the output of ${howToGetIt} here, or '-' to use known_hosts.`,
    ),
  ];
}

/** The decoded text for a message: quoted when it is printable, else described. */
function describeDecoded(decoded: string): string {
  const text = decoded.replace(/\r?\n$/, '');
  if (text === '') return 'nothing';
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f\ufffd]/.test(text)) return 'binary data';
  return text.length > 60 ? `'${text.slice(0, 60)}…'` : `'${text}'`;
}
