// The sealing of a passphrase to the server's one-time key (server/src/sealedSecret.ts): only
// that key opens the box, once; a tampered box, another key's box or plain text opens to nothing.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { oneTimeSealingKey, sealSecret } from '../../server/src/sealedSecret';

test('the asking key opens the box once; the box does not hold the secret in any readable form', () => {
  const key = oneTimeSealingKey();
  const secret = 'correct horse battery staple ü';
  const sealed = sealSecret(key.publicKey, secret);
  assert.ok(!sealed.includes(Buffer.from(secret).toString('base64').slice(0, 12)));
  assert.ok(!Buffer.from(sealed, 'base64').toString('latin1').includes('horse'));
  assert.notEqual(sealSecret(key.publicKey, secret), sealed, 'every seal is fresh');
  assert.equal(key.open(sealed), secret);
  assert.equal(key.open(sealed), undefined, 'a second answer to the same question');
});

test('another key, a flipped bit, plain text: nothing opens', () => {
  const asking = oneTimeSealingKey();
  assert.equal(oneTimeSealingKey().open(sealSecret(asking.publicKey, 'x')), undefined);
  const box = Buffer.from(sealSecret(asking.publicKey, 'secret'), 'base64');
  box[box.length - 1] ^= 1;
  assert.equal(asking.open(box.toString('base64')), undefined);
  assert.equal(oneTimeSealingKey().open('secret'), undefined);
  assert.throws(() => sealSecret(Buffer.from('not a key').toString('base64'), 'x'));
});
