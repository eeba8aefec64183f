// A public key described the way `ssh-keygen -lf` prints it (`256 SHA256:… root@builder (ED25519)`),
// so a user can compare the hover or the pin prompt with what the builder itself prints.
import { fingerprintOf, type HostPublicKey } from '../model/hostKey';

/** The key blob's SSH wire fields: length-prefixed strings and mpints. */
function fields(blob: Buffer): Buffer[] {
  const result: Buffer[] = [];
  let at = 0;
  while (at + 4 <= blob.length) {
    const length = blob.readUInt32BE(at);
    if (at + 4 + length > blob.length) break;
    result.push(blob.subarray(at + 4, at + 4 + length));
    at += 4 + length;
  }
  return result;
}

/** Bits of a big-endian unsigned integer (an mpint may carry a leading zero byte). */
function bitLength(value: Buffer): number {
  let i = 0;
  while (i < value.length && value[i] === 0) i++;
  if (i === value.length) return 0;
  return (value.length - i - 1) * 8 + (32 - Math.clz32(value[i]!));
}

/** `ssh-keygen`'s name and size of a key type. */
function keySize(type: string, blob: Buffer): { bits: number; name: string } {
  if (type === 'ssh-ed25519') return { bits: 256, name: 'ED25519' };
  if (type === 'sk-ssh-ed25519@openssh.com') return { bits: 256, name: 'ED25519-SK' };
  if (type === 'sk-ecdsa-sha2-nistp256@openssh.com') return { bits: 256, name: 'ECDSA-SK' };
  const curve = /^ecdsa-sha2-nistp(\d+)$/.exec(type);
  if (curve) return { bits: Number(curve[1]), name: 'ECDSA' };
  const parts = fields(blob);
  if (type === 'ssh-rsa') return { bits: bitLength(parts[2] ?? Buffer.alloc(0)), name: 'RSA' }; // type, e, n
  if (type === 'ssh-dss') return { bits: bitLength(parts[1] ?? Buffer.alloc(0)), name: 'DSA' }; // type, p, …
  return { bits: 0, name: type.toUpperCase() };
}

/** The line `ssh-keygen -lf` prints for a public key. */
export function keygenLine(key: HostPublicKey): string {
  const blob = Buffer.from(key.line.split(' ')[1] ?? '', 'base64');
  const { bits, name } = keySize(key.type, blob);
  return `${bits} ${fingerprintOf(blob)} ${key.comment || 'no comment'} (${name})`;
}
