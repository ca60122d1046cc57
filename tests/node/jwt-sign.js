// Signs a JWT with node's own crypto (OpenSSL's HMAC, RFC 2104), independent of the .NET code under test.
// Usage: node jwt-sign.js <alg> <secret-hex> <payload-json> [variant]
//   alg: HS256 | HS384 | HS512 | none | RS256 (a fresh key the proxy has never seen)
//   variant: tampered (payload changed after signing)
// Prints the token.
'use strict';
const crypto = require('crypto');

const [alg, secretHex, payload, variant] = process.argv.slice(2);
const b64url = (buffer) => Buffer.from(buffer).toString('base64').replace(/=+$/, '').replace(/\+/g, '-').replace(/\//g, '_');
const header = b64url(JSON.stringify({ alg, typ: 'JWT' }));
const input = `${header}.${b64url(payload)}`;
let signature;
if (alg === 'none') {
  signature = '';
} else if (alg === 'RS256') {
  const { privateKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
  signature = b64url(crypto.sign('sha256', Buffer.from(input), privateKey));
} else {
  const hash = { HS256: 'sha256', HS384: 'sha384', HS512: 'sha512' }[alg];
  if (!hash) {
    throw new Error(`unknown alg ${alg}`);
  }
  signature = b64url(crypto.createHmac(hash, Buffer.from(secretHex, 'hex')).update(input).digest());
}

const body = variant === 'tampered' ? `${header}.${b64url('{"sub":"admin"}')}` : input;
process.stdout.write(`${body}.${signature}`);
