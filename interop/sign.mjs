// Signs a credential (eddsa-rdfc-2022 DataIntegrityProof) with the Digital Bazaar stack, so tests
// can make third-party-signed credentials for Charter's own verifier.
// stdin:  {credential, seedHex?: 64 hex chars, keyPair?: {publicKeyMultibase, secretKeyMultibase},
//          controller?: string (default did:key of the key), created?: ISO string,
//          documents?: {url: doc}}
// stdout: {signed, controller, verificationMethod, publicKeyMultibase}
import * as vc from '@digitalbazaar/vc';
import {DataIntegrityProof} from '@digitalbazaar/data-integrity';
import {cryptosuite as rdfc} from '@digitalbazaar/eddsa-rdfc-2022-cryptosuite';
import * as Ed25519Multikey from '@digitalbazaar/ed25519-multikey';
import {buildLoader, readStdinJson} from './loader.mjs';

async function loadKey(input) {
  let material;
  if(input.seedHex) {
    material = await Ed25519Multikey.generate({seed: Buffer.from(input.seedHex, 'hex')});
  } else if(input.keyPair) {
    material = input.keyPair;
  } else {
    throw new Error('give seedHex or keyPair');
  }
  const pub = material.publicKeyMultibase;
  const controller = input.controller ?? `did:key:${pub}`;
  const id = input.verificationMethod ?? `${controller}#${pub}`;
  return Ed25519Multikey.from({
    type: 'Multikey', id, controller,
    publicKeyMultibase: pub, secretKeyMultibase: material.secretKeyMultibase
  });
}

async function main() {
  const input = await readStdinJson();
  const key = await loadKey(input);
  const suite = new DataIntegrityProof({signer: key.signer(), cryptosuite: rdfc});
  if(input.created) {
    suite.date = input.created;
  }
  const signed = await vc.issue({
    credential: input.credential, suite, documentLoader: buildLoader(input.documents ?? {})
  });
  process.stdout.write(JSON.stringify({
    signed, controller: key.controller, verificationMethod: key.id,
    publicKeyMultibase: key.publicKeyMultibase
  }));
}

main().catch(e => {
  process.stderr.write(String(e?.stack ?? e));
  process.exit(1);
});
