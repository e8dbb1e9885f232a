/**
 * Signatures of remote manifests (issue 18): readers accept only entries signed by keys they
 * list. ed25519 from node:crypto; keys are PEM files (`openssl genpkey -algorithm ed25519`, or
 * `pipeline remote keygen`).
 *
 * The signed payload is canonical and length-prefixed (every field is its byte length as 8 bytes
 * big-endian, then its UTF-8 bytes), so no two different manifests have the same payload: a
 * concatenation without lengths once let Turborepo signatures be moved between fields (turborepo
 * PR #13059). It covers the key, the output digest, every output's name, sha256 and byte count,
 * a hash of the rest of the meta (key record, recorded inputs: what verify re-executes from), and
 * the signer.
 */
import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, sign, verify, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { NodeMeta } from './cache.ts';
import { PipelineError } from '../errors.ts';
import { canonicalJson } from '../keys/hash.ts';

export interface Signature {
  /** sha256 hex of the signer's public key (DER, SubjectPublicKeyInfo). */
  signer: string;
  alg: 'ed25519';
  /** base64 */
  sig: string;
}

/** A manifest as stored under /ac/<key>: the entry's meta plus its signature. */
export type Manifest = NodeMeta & { signature?: Signature };

const DOMAIN = 'pipeline remote manifest v1';

/** The meta without what is local or the signature itself: hashed into the payload. */
function signedMetaRest(meta: NodeMeta): string {
  const { origin: _origin, executor: _executor, signature: _sig, ...rest } = meta as Manifest;
  return createHash('sha256').update(canonicalJson(rest)).digest('hex');
}

function field(s: string): Buffer {
  const bytes = Buffer.from(s, 'utf8');
  const len = Buffer.alloc(8);
  len.writeBigUInt64BE(BigInt(bytes.byteLength));
  return Buffer.concat([len, bytes]);
}

/** The bytes a signature is over. */
export function signedPayload(meta: NodeMeta, signer: string): Buffer {
  const names = Object.keys(meta.outputs).sort();
  const parts = [DOMAIN, meta.key, meta.digest, String(names.length)];
  for (const n of names) parts.push(n, meta.outputs[n].sha256, String(meta.outputs[n].bytes));
  parts.push(signedMetaRest(meta), signer);
  return Buffer.concat(parts.map(field));
}

export function fingerprint(pub: KeyObject): string {
  return createHash('sha256').update(pub.export({ type: 'spki', format: 'der' })).digest('hex');
}

/** The writer's key: the private key in a PEM file. */
export function loadPrivateKey(path: string, what = 'PIPELINE_REMOTE_KEY'): { key: KeyObject; signer: string } {
  let key: KeyObject;
  try {
    key = createPrivateKey(readFileSync(path));
  } catch (e) {
    throw new PipelineError(`${what}: ${path} is not a readable PEM private key (${(e as Error).message.split('\n')[0]})`, { key: what });
  }
  if (key.asymmetricKeyType !== 'ed25519') throw new PipelineError(`${what}: ${path} holds a ${key.asymmetricKeyType} key; expected ed25519 (openssl genpkey -algorithm ed25519, or pipeline remote keygen)`, { key: what });
  return { key, signer: fingerprint(createPublicKey(key)) };
}

/** The reader's trusted keys: one or more PEM public keys in one file, by fingerprint. */
export function loadTrusted(path: string, what = 'PIPELINE_REMOTE_TRUST'): Map<string, KeyObject> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new PipelineError(`${what}: cannot read ${path} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`, { key: what });
  }
  const blocks = text.match(/-----BEGIN PUBLIC KEY-----[\s\S]*?-----END PUBLIC KEY-----/g) ?? [];
  if (!blocks.length) throw new PipelineError(`${what}: ${path} holds no PEM public key (-----BEGIN PUBLIC KEY-----)`, { key: what });
  const out = new Map<string, KeyObject>();
  for (const b of blocks) {
    const k = createPublicKey(b);
    if (k.asymmetricKeyType !== 'ed25519') throw new PipelineError(`${what}: ${path} holds a ${k.asymmetricKeyType} key; expected ed25519`, { key: what });
    out.set(fingerprint(k), k);
  }
  return out;
}

export function signManifest(meta: NodeMeta, writer: { key: KeyObject; signer: string }): Manifest {
  const sig = sign(null, signedPayload(meta, writer.signer), writer.key).toString('base64');
  return { ...meta, signature: { signer: writer.signer, alg: 'ed25519', sig } };
}

/** The signer when the manifest is signed by a trusted key, else why not (one line). */
export function checkSignature(m: Manifest, trusted: Map<string, KeyObject>): { signer: string } | { problem: string; kind: 'unsigned' | 'unknown-signer' | 'bad-signature' } {
  const s = m.signature;
  if (!s || typeof s !== 'object' || typeof s.signer !== 'string' || typeof s.sig !== 'string') return { problem: 'unsigned manifest', kind: 'unsigned' };
  if (s.alg !== 'ed25519') return { problem: `signature algorithm ${String(s.alg).slice(0, 20)} (expected ed25519)`, kind: 'bad-signature' };
  const pub = trusted.get(s.signer);
  if (!pub) return { problem: `signed by an unknown key ${s.signer.slice(0, 16)} (not in PIPELINE_REMOTE_TRUST)`, kind: 'unknown-signer' };
  let ok = false;
  try {
    ok = verify(null, signedPayload(m, s.signer), pub, Buffer.from(s.sig, 'base64'));
  } catch {
    ok = false;
  }
  return ok ? { signer: s.signer } : { problem: `bad signature (the manifest was changed after signer ${s.signer.slice(0, 16)} signed it)`, kind: 'bad-signature' };
}

/** A new key pair as PEM text (`pipeline remote keygen`). */
export function newKeyPair(): { privatePem: string; publicPem: string; signer: string } {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  return {
    privatePem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    publicPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
    signer: fingerprint(publicKey),
  };
}
