// Column 8, the builder's host key. Nix checks only that it is base64 and hands the decoded
// text to ssh as a known_hosts line; two mistakes pass Nix and then make ssh refuse the host.

import { problem, type Problem } from '../problem';
import type { Machine } from '../machines';
import { base64Refusal } from '../nixStrings';
import { readHostKeyColumn } from '../hostKey';

const howToGetIt = '`base64 -w0 /etc/ssh/ssh_host_ed25519_key.pub` (run on the builder)';

export function lintHostKey(machine: Machine): Problem[] {
  const column = machine.columns.publicHostKey;
  if (column === undefined || !column.isSet || base64Refusal(column.text) !== undefined) return [];
  const reading = readHostKeyColumn(column.text);
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
