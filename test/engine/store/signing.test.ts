/** Signed manifests (engine/store/signing.ts): what a signature covers, and what a reader refuses. */
import { createPrivateKey } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { NodeMeta } from '../../../engine/store/cache.ts';
import { makeKey, keyParts } from '../../../engine/keys/key.ts';
import { outputsDigest } from '../../../engine/store/outputs.ts';
import { checkSignature, loadPrivateKey, loadTrusted, newKeyPair, signedPayload, signManifest } from '../../../engine/store/signing.ts';

const dir = mkdtempSync(join(tmpdir(), 'pipeline-sign-'));
const pair = newKeyPair();
const other = newKeyPair();
writeFileSync(join(dir, 'w.key'), pair.privatePem);
writeFileSync(join(dir, 'trust.pub'), pair.publicPem + other.publicPem);
const writer = loadPrivateKey(join(dir, 'w.key'));
const trusted = loadTrusted(join(dir, 'trust.pub'));

function meta(): NodeMeta {
  const parts = keyParts('source', 'c0de', { n: 1 }, {}, {});
  const outputs = { 'a.json': { bytes: 3, sha256: 'a'.repeat(64) }, 'b.json': { bytes: 4, sha256: 'b'.repeat(64) } };
  return { key: makeKey(parts), id: 'source[n=1]', stage: 'source', kind: 'source', record: { parts, params: { n: 1 }, sources: {} }, inputs: {}, outputs, digest: outputsDigest(outputs), seconds: 0.1, created: '2026-12-04T00:00:00Z', log: [] };
}

test('a manifest signed by a trusted key verifies; both keys of the trust file are known', () => {
  assert.is(writer.signer, pair.signer);
  assert.is(trusted.size, 2);
  const m = signManifest(meta(), writer);
  assert.equal(checkSignature(m, trusted), { signer: pair.signer });
});

test('any change after signing is a bad signature: an output digest, its size, a name, the key record, the signer', () => {
  const changes: ((m: any) => void)[] = [
    (m) => (m.outputs['a.json'].sha256 = 'c'.repeat(64)),
    (m) => (m.outputs['a.json'].bytes = 2),
    (m) => ((m.outputs['c.json'] = m.outputs['a.json']), delete m.outputs['a.json']),
    (m) => (m.record.params.n = 2),
    (m) => (m.digest = '0'.repeat(64)),
    (m) => (m.signature.signer = other.signer),
  ];
  for (const change of changes) {
    const m = JSON.parse(JSON.stringify(signManifest(meta(), writer)));
    change(m);
    assert.ok('problem' in checkSignature(m, trusted), String(change));
  }
});

test('unsigned, or signed by a key not in the trust file: refused, saying which', () => {
  const { signature: _s, ...unsigned } = signManifest(meta(), writer);
  assert.match((checkSignature(unsigned as NodeMeta, trusted) as { problem: string }).problem, /unsigned/);
  const stranger = newKeyPair();
  const m = signManifest(meta(), { key: createPrivateKey(stranger.privatePem), signer: stranger.signer });
  assert.match((checkSignature(m, trusted) as { problem: string }).problem, /unknown key/);
});

test('the payload is length-prefixed: moving bytes between adjacent fields changes it', () => {
  const a = meta();
  const b = meta();
  // "ab" + "c" and "a" + "bc" concatenate alike; with lengths they differ.
  a.outputs = { ab: { bytes: 1, sha256: 'c'.repeat(64) } };
  b.outputs = { a: { bytes: 1, sha256: 'c'.repeat(64) } };
  assert.is.not(signedPayload(a, 's').toString('hex'), signedPayload(b, 's').toString('hex'));
  assert.is(signedPayload(a, 's').subarray(0, 8).readBigUInt64BE(), BigInt('pipeline remote manifest v1'.length));
});

test('a trust file without a public key, or a key of another type: an error naming the variable and file', () => {
  writeFileSync(join(dir, 'empty.pub'), 'nothing here\n');
  assert.throws(() => loadTrusted(join(dir, 'empty.pub')), /PIPELINE_REMOTE_TRUST: .*empty\.pub holds no PEM public key/);
  assert.throws(() => loadPrivateKey(join(dir, 'trust.pub')), /PIPELINE_REMOTE_KEY: .*trust\.pub is not a readable PEM private key/);
});

test.run();
