// Independent offline verifier (Digital Bazaar stack) for Charter's interop tests.
// stdin:  {credential, documents?: {url: doc}, now?: ISO string, checkStatus?: bool,
//          purpose?: "vc" | "jsigs"}
// stdout: {verified, error?: [messages], statusResults?: [{purpose, status}]}
import * as vc from '@digitalbazaar/vc';
import jsigs from 'jsonld-signatures';
import {DataIntegrityProof} from '@digitalbazaar/data-integrity';
import {cryptosuite as rdfc} from '@digitalbazaar/eddsa-rdfc-2022-cryptosuite';
import {checkStatus} from '@digitalbazaar/vc-bitstring-status-list';
import {buildLoader, errorMessages, readStdinJson} from './loader.mjs';

async function main() {
  const input = await readStdinJson();
  const documentLoader = buildLoader(input.documents ?? {});
  const suite = new DataIntegrityProof({cryptosuite: rdfc});
  const purpose = input.purpose ?? 'vc';
  let result;
  if(purpose === 'jsigs') {
    // The W3C vectors' issuer is not the key controller, so vc.verifyCredential would refuse
    // them; a plain assertionMethod proof check is what those vectors are meant for.
    result = await jsigs.verify(input.credential, {
      suite,
      purpose: new jsigs.purposes.AssertionProofPurpose(),
      documentLoader
    });
  } else if(purpose === 'vc') {
    const options = {credential: input.credential, suite, documentLoader};
    if(input.now) {
      options.now = new Date(input.now);
    }
    if(input.checkStatus) {
      options.checkStatus = checkStatus;
    }
    result = await vc.verifyCredential(options);
  } else {
    throw new Error(`unknown purpose ${purpose}`);
  }
  const out = {verified: result.verified === true};
  if(!out.verified) {
    out.error = errorMessages(result.error) ?? ['not verified'];
  }
  // A revoked credential still has verified: true; the status bits are reported separately.
  if(result.statusResult) {
    out.statusResults = (result.statusResult.results ?? []).map(r => ({
      purpose: r.credentialStatus?.statusPurpose,
      status: r.status
    }));
    if(result.statusResult.error) {
      out.error = [...(out.error ?? []), ...errorMessages(result.statusResult.error)];
    }
  }
  process.stdout.write(JSON.stringify(out));
}

main().catch(e => {
  process.stdout.write(JSON.stringify({verified: false, error: [String(e?.message ?? e)]}));
});
