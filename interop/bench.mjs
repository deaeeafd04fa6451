// Throughput of Digital Bazaar's stack (vc 7 + eddsa-rdfc-2022, offline loader) on one core,
// timed inside Node so process start-up and JSON transfer are not counted.
// stdin:  {mode: "bench", credential, count, seedHex, seconds?}
//           credential: an unsigned credential; each copy gets its own id and name
//         {mode: "canonize", documents: [doc]}   (RDFC-1.0 N-Quads, safe mode, as vc.js hashes)
// stdout: bench: {count, issueSeconds, verifySeconds, issuedPerSecond, verifiedPerSecond,
//                 verifiedAll, signed: first signed credential}
//         canonize: {canonical: [string]}
import * as vc from '@digitalbazaar/vc';
import jsonld from 'jsonld';
import {DataIntegrityProof} from '@digitalbazaar/data-integrity';
import {cryptosuite as rdfc} from '@digitalbazaar/eddsa-rdfc-2022-cryptosuite';
import * as Ed25519Multikey from '@digitalbazaar/ed25519-multikey';
import {buildLoader, readStdinJson} from './loader.mjs';

// Status is not part of the measurement (Charter's side does not check it either), but vc.js
// requires a checkStatus function for credentials that carry credentialStatus.
const checkStatus = async () => ({verified: true});

function copies(credential, count) {
  const out = [];
  for(let i = 0; i < count; i++) {
    const copy = structuredClone(credential);
    copy.id = `urn:uuid:00000000-0000-4000-8000-${String(i).padStart(12, '0')}`;
    copy.name = `${credential.name} #${i}`;
    out.push(copy);
  }
  return out;
}

async function bench(input) {
  const documentLoader = buildLoader({});
  const material = await Ed25519Multikey.generate({seed: Buffer.from(input.seedHex, 'hex')});
  const controller = `did:key:${material.publicKeyMultibase}`;
  const key = await Ed25519Multikey.from({
    type: 'Multikey', id: `${controller}#${material.publicKeyMultibase}`, controller,
    publicKeyMultibase: material.publicKeyMultibase,
    secretKeyMultibase: material.secretKeyMultibase
  });
  const credential = structuredClone(input.credential);
  credential.issuer = {...credential.issuer, id: controller};
  const budget = (input.seconds ?? 30) * 1000;
  const issue = async c => vc.issue({
    credential: c,
    suite: new DataIntegrityProof({signer: key.signer(), cryptosuite: rdfc}),
    documentLoader
  });
  const verify = async c => vc.verifyCredential({
    credential: c, suite: new DataIntegrityProof({cryptosuite: rdfc}), documentLoader, checkStatus
  });
  // Warm up: context caches, JIT.
  for(const c of copies(credential, 20)) {
    const signed = await issue(c);
    const result = await verify(signed);
    if(!result.verified) {
      throw new Error(`warm-up credential did not verify: ${JSON.stringify(result.error)}`);
    }
  }
  const unsigned = copies(credential, input.count);
  const signed = [];
  let start = performance.now();
  for(const c of unsigned) {
    signed.push(await issue(c));
    if(performance.now() - start > budget) {
      break;
    }
  }
  const issueSeconds = (performance.now() - start) / 1000;
  let verifiedAll = true;
  let verified = 0;
  start = performance.now();
  for(const c of signed) {
    const result = await verify(c);
    verifiedAll = verifiedAll && result.verified === true;
    verified++;
    if(performance.now() - start > budget) {
      break;
    }
  }
  const verifySeconds = (performance.now() - start) / 1000;
  return {
    issued: signed.length, verified, issueSeconds, verifySeconds,
    issuedPerSecond: signed.length / issueSeconds,
    verifiedPerSecond: verified / verifySeconds,
    verifiedAll, signed: signed[0]
  };
}

async function canonize(input) {
  const documentLoader = buildLoader({});
  const canonical = [];
  for(const doc of input.documents) {
    canonical.push(await jsonld.canonize(doc, {
      algorithm: 'RDFC-1.0', format: 'application/n-quads', documentLoader, safe: true
    }));
  }
  return {canonical};
}

async function main() {
  const input = await readStdinJson();
  const out = input.mode === 'canonize' ? await canonize(input) : await bench(input);
  process.stdout.write(JSON.stringify(out));
}

main().catch(e => {
  process.stderr.write(String(e?.stack ?? e));
  process.exit(1);
});
