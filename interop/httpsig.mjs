// Independent check of a signed Charter response (RFC 9421, Ed25519) with the published JWKS
// alone: `http-message-signatures` rebuilds the signature base from the response's status and
// fields and verifies it with the JWKS key named by keyid; the body is checked against the
// signed Content-Digest (RFC 9530) with Node's own SHA-256, and the nonce against the client's.
// stdin:  {status, headers: {name: value}, body (base64), jwks, nonce}
// stdout: {verified, params?, error?}
import {createHash, createPublicKey} from 'node:crypto';
import {httpbis, createVerifier} from 'http-message-signatures';
import {readStdinJson} from './loader.mjs';

async function main() {
  const {status, headers, body, jwks, nonce} = await readStdinJson();
  let seen = null;
  try {
    const keyLookup = async (params) => {
      seen = params;
      const jwk = (jwks.keys ?? []).find((key) => key.kid === params.keyid);
      if(!jwk || jwk.kty !== 'OKP' || jwk.crv !== 'Ed25519') {
        return null;
      }
      const publicKey = createPublicKey({key: {kty: jwk.kty, crv: jwk.crv, x: jwk.x}, format: 'jwk'});
      return {id: jwk.kid, algs: ['ed25519'], verify: createVerifier(publicKey, 'ed25519')};
    };
    const verified = await httpbis.verifyMessage({
      keyLookup,
      all: true,
      requiredFields: ['@status', 'content-digest'],
      requiredParams: ['created', 'keyid', 'alg', 'nonce']
    }, {status, headers});
    if(verified !== true) {
      throw new Error('the signature does not verify');
    }
    const digest = createHash('sha256').update(Buffer.from(body, 'base64')).digest('base64');
    const field = Object.entries(headers).find(([name]) => name.toLowerCase() === 'content-digest');
    if(!field || field[1] !== `sha-256=:${digest}:`) {
      throw new Error('the body does not match its Content-Digest');
    }
    if(seen.nonce !== nonce) {
      throw new Error(`the answer is for nonce ${seen.nonce}, not ${nonce}`);
    }
    process.stdout.write(JSON.stringify({verified: true, params: seen}));
  } catch(error) {
    process.stdout.write(JSON.stringify({verified: false, error: String(error.message ?? error)}));
  }
}

await main();
