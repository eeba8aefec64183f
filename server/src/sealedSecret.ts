// Sealing a secret (a key's passphrase) to a one-time key, so it never travels as plain LSP
// content: every LSP message can end up in a trace (`nixBuilders.trace.server: verbose` prints
// each request and result in the output channel). The server makes an X25519 key pair for one
// question and sends the public half; the client answers with the secret sealed to it: a fresh
// X25519 key of its own, the shared secret through HKDF-SHA256, AES-256-GCM. Only the server,
// which holds the private half in memory for that one question, can open the answer.
//
// It lives in its own file and imports nothing but `node:crypto`, because protocol.ts
// re-exports it and the client imports protocol.ts: the client bundle gets this file and no
// other server code (design.md: protocol.ts is the one server file the client imports).
import {
  createCipheriv,
  createDecipheriv,
  createPublicKey,
  diffieHellman,
  generateKeyPairSync,
  hkdfSync,
  randomBytes,
  type KeyObject,
} from 'node:crypto';

/** Bound into the derived key and the AEAD tag: a sealed answer is good for this use only. */
const purpose = Buffer.from('nixBuilders/askPassphrase v1');
const ivLength = 12;
const tagLength = 16;

const spkiDer = (key: KeyObject): Buffer => key.export({ type: 'spki', format: 'der' });

function sealingKey(shared: Buffer, senderPublic: Buffer, recipientPublic: Buffer): Buffer {
  return Buffer.from(hkdfSync('sha256', shared, Buffer.concat([senderPublic, recipientPublic]), purpose, 32));
}

/** Seals `secret` to the public key the server sent (base64 SPKI DER): base64 of the sealed box. */
export function sealSecret(recipientPublicKey: string, secret: string): string {
  const recipientDer = Buffer.from(recipientPublicKey, 'base64');
  const recipient = createPublicKey({ key: recipientDer, format: 'der', type: 'spki' });
  if (recipient.asymmetricKeyType !== 'x25519') throw new Error('the server sent no X25519 key to seal the answer to');
  const sender = generateKeyPairSync('x25519');
  const senderDer = spkiDer(sender.publicKey);
  const key = sealingKey(
    diffieHellman({ privateKey: sender.privateKey, publicKey: recipient }),
    senderDer,
    recipientDer,
  );
  const iv = randomBytes(ivLength);
  const cipher = createCipheriv('aes-256-gcm', key, iv, { authTagLength: tagLength });
  cipher.setAAD(purpose);
  const body = Buffer.concat([cipher.update(secret, 'utf8'), cipher.final()]);
  const length = Buffer.alloc(2);
  length.writeUInt16BE(senderDer.length);
  return Buffer.concat([length, senderDer, iv, cipher.getAuthTag(), body]).toString('base64');
}

/** A key pair for one question: its public half for the client, `open` for the answer (once). */
export interface OneTimeSealingKey {
  /** base64 of the SPKI DER public key: what `sealSecret` takes. */
  publicKey: string;
  /** The secret, or undefined when the box is not one sealed to this key (or was opened before). */
  open(sealed: string): string | undefined;
}

export function oneTimeSealingKey(): OneTimeSealingKey {
  const pair = generateKeyPairSync('x25519');
  const recipientDer = spkiDer(pair.publicKey);
  let privateKey: KeyObject | undefined = pair.privateKey;
  return {
    publicKey: recipientDer.toString('base64'),
    open(sealed) {
      const own = privateKey;
      privateKey = undefined; // one answer per question: the private half is dropped now
      if (own === undefined || typeof sealed !== 'string') return undefined;
      try {
        const box = Buffer.from(sealed, 'base64');
        const senderLength = box.readUInt16BE(0);
        const senderDer = box.subarray(2, 2 + senderLength);
        const iv = box.subarray(2 + senderLength, 2 + senderLength + ivLength);
        const tag = box.subarray(2 + senderLength + ivLength, 2 + senderLength + ivLength + tagLength);
        const body = box.subarray(2 + senderLength + ivLength + tagLength);
        if (iv.length !== ivLength || tag.length !== tagLength) return undefined;
        const sender = createPublicKey({ key: senderDer, format: 'der', type: 'spki' });
        const key = sealingKey(diffieHellman({ privateKey: own, publicKey: sender }), senderDer, recipientDer);
        const decipher = createDecipheriv('aes-256-gcm', key, iv, { authTagLength: tagLength });
        decipher.setAAD(purpose);
        decipher.setAuthTag(tag);
        return Buffer.concat([decipher.update(body), decipher.final()]).toString('utf8');
      } catch {
        // Not a box sealed to this key (or tampered with): no secret, and no detail to leak.
        return undefined;
      }
    },
  };
}
