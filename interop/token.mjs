// Independent check of a Charter token with the published JWKS alone: `jose`'s local key set
// picks the key by the token's kid and alg, and jwtVerify checks the signature, the explicit
// type, the issuer, the audience and the times.
// stdin:  {token, jwks, issuer, audience, typ, currentDate}
// stdout: {verified, header?, payload?, error?, code?}
import * as jose from 'jose';
import {readStdinJson} from './loader.mjs';

async function main() {
  const {token, jwks, issuer, audience, typ, currentDate} = await readStdinJson();
  try {
    const keySet = jose.createLocalJWKSet(jwks);
    const {payload, protectedHeader} = await jose.jwtVerify(token, keySet, {
      algorithms: ['Ed25519'],
      issuer,
      audience,
      typ,
      requiredClaims: ['iss', 'aud', 'exp', 'nbf', 'iat', 'jti'],
      clockTolerance: 60,
      currentDate: currentDate ? new Date(currentDate) : undefined
    });
    process.stdout.write(JSON.stringify({verified: true, header: protectedHeader, payload}));
  } catch(error) {
    process.stdout.write(JSON.stringify({
      verified: false, error: String(error.message), code: error.code
    }));
  }
}

await main();
