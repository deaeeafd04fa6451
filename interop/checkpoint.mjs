// Independent check of a signed checkpoint of Charter's events log, with the issuer's DID
// document alone: the key named by the JWS's kid, read from the document's Multikey, verifies
// the compact JWS with the `jose` library.
// stdin:  {jws, didDocument}
// stdout: {verified, header?, payload?, error?}
import * as jose from 'jose';
import * as Ed25519Multikey from '@digitalbazaar/ed25519-multikey';
import {readStdinJson} from './loader.mjs';

async function main() {
  const {jws, didDocument} = await readStdinJson();
  try {
    const header = jose.decodeProtectedHeader(jws);
    const method = didDocument.verificationMethod.find(m => m.id === header.kid);
    if(!method || !didDocument.assertionMethod.includes(method.id)) {
      throw new Error(`no assertion method ${header.kid} in the DID document`);
    }
    const keyPair = await Ed25519Multikey.from(method);
    const jwk = await Ed25519Multikey.toJwk({keyPair});
    const key = await jose.importJWK(jwk, 'Ed25519');
    const {payload, protectedHeader} = await jose.compactVerify(jws, key, {
      algorithms: ['Ed25519']
    });
    process.stdout.write(JSON.stringify({
      verified: true,
      header: protectedHeader,
      payload: JSON.parse(new TextDecoder().decode(payload))
    }));
  } catch(error) {
    process.stdout.write(JSON.stringify({verified: false, error: String(error.message)}));
  }
}

await main();
