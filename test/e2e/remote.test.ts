/**
 * The remote cache against a real server (nginx WebDAV started by scripts/remote/up.sh), through
 * the CLI in temp folders: fig3 quick built in cache A and pushed; an empty cache B pulls it and
 * `run` runs nothing and publishes the same bytes. Then poisoning and faults, each: one warning,
 * nothing wrong filed locally, the build still correct.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Cache, type NodeMeta } from '../../engine/cache.ts';
import { newKeyPair, signManifest, type Manifest } from '../../engine/store/signing.ts';
import { cliAsync, cliRun, makeProject, PACKAGE_ROOT, waitFor } from '../helpers/project.ts';
import { startRemote } from '../helpers/remote.ts';

const server = startRemote();
const copy = (name: string) => readFileSync(join(PACKAGE_ROOT, 'configs', name), 'utf8');
const fig3Project = () => makeProject({ 'configs/fig2.yml': copy('fig2.yml'), 'configs/fig3.yml': copy('fig3.yml') });
const keys = mkdtempSync(join(tmpdir(), 'pipeline-keys-'));
const A = fig3Project();
const B = fig3Project();
let env: Record<string, string> = {};
let built: Map<string, string>;

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
const warnings = (err: string) => err.split('\n').filter((l) => l.startsWith('warning: remote cache'));
const quick = ['fig3', '--profile', 'quick'];

/** Node id -> "key digest" of a run, from its local cache's metas. */
function truth(dir: string, out: string): Map<string, string> {
  const s = JSON.parse(out) as { nodes: { id: string; key?: string; status: string }[] };
  const c = new Cache(join(dir, 'cache'));
  return new Map(s.nodes.filter((n) => !('shared' in n)).map((n) => [n.id, `${n.key} ${n.key ? c.readMeta(n.key)?.digest : '-'}`]));
}

const reportFiles = (dir: string) => Object.fromEntries(readdirSync(join(dir, 'reports', 'fig3')).map((f) => [f, readFileSync(join(dir, 'reports', 'fig3', f))]));

function manifestPath(key: string): string {
  return join(server!.dir, 'root', 'ac', key);
}

/** A fresh project whose cache reads the server (read-through on run). */
async function runFresh(extra: Record<string, string> = {}): Promise<{ dir: string; code: number; out: string; err: string; seconds: number }> {
  const dir = fig3Project();
  const t0 = performance.now();
  const r = await cliRun(dir, ['run', ...quick, '--json', '--remote', server!.url], { ...env, ...extra });
  return { dir, ...r, seconds: (performance.now() - t0) / 1000 };
}

/** One entry's manifest on the server, changed by `f`, put back afterwards. */
async function withManifest(key: string, f: (m: Manifest) => Manifest | string, body: () => Promise<void>): Promise<void> {
  const path = manifestPath(key);
  const saved = readFileSync(path);
  const m = f(JSON.parse(saved.toString()) as Manifest);
  writeFileSync(path, typeof m === 'string' ? m : JSON.stringify(m));
  try {
    await body();
  } finally {
    writeFileSync(path, saved);
  }
}

/** A data node's key (a leaf: its recomputation is quick) and its meta in cache A. */
function leaf(): { key: string; meta: NodeMeta } {
  const last = JSON.parse(readFileSync(join(A, 'cache', 'refs', 'fig3.last.json'), 'utf8')) as Record<string, string[]>;
  const id = Object.keys(last).find((k) => k.startsWith('ntk['))!;
  return { key: last[id][0], meta: new Cache(join(A, 'cache')).readMeta(last[id][0])! };
}

/** The poisoned entry was computed here (no origin), with cache A's bytes; the build equals A's. */
function assertClean(r: { dir: string; code: number; out: string; err: string }, key: string): void {
  assert.is(r.code, 0, r.err);
  assert.equal(truth(r.dir, r.out), built);
  const local = new Cache(join(r.dir, 'cache')).readMeta(key)!;
  assert.is(local.origin, undefined, 'the poisoned entry was not filed from the server');
  assert.equal(local.outputs, leaf().meta.outputs);
  const s = JSON.parse(r.out) as { ran: number; remote: { pulled: number } };
  assert.is(s.ran, 1, 'only the poisoned node ran');
  assert.ok(s.remote.pulled > 90);
}

if (server) {
  test.after(() => server.stop());

  test('keygen makes a pair; a push needs a key; fig3 quick built in cache A is pushed, a second push writes nothing', async () => {
    const k = await cliRun(A, ['remote', 'keygen', '--out', join(keys, 'writer')]);
    assert.is(k.code, 0, k.err);
    assert.match(k.out, /signer: +[0-9a-f]{64}/);
    assert.is(statSync(join(keys, 'writer.key')).mode & 0o777, 0o600);
    env = { PIPELINE_REMOTE_KEY: join(keys, 'writer.key'), PIPELINE_REMOTE_TRUST: join(keys, 'writer.pub') };
    const run = await cliRun(A, ['run', ...quick, '--json']);
    assert.is(run.code, 0, run.err);
    built = truth(A, run.out);
    const nokey = await cliRun(A, ['push', ...quick, '--remote', server.url]);
    assert.is(nokey.code, 2);
    assert.match(nokey.err, /PIPELINE_REMOTE_KEY/);
    const t0 = performance.now();
    const push = await cliRun(A, ['push', ...quick, '--remote', server.url, '--json'], env);
    console.log(`  push fig3 quick: ${((performance.now() - t0) / 1000).toFixed(2)} s`);
    assert.is(push.code, 0, push.err);
    const p = JSON.parse(push.out);
    assert.is(p.moved, new Set([...built.values()].map((v) => v.split(' ')[0])).size);
    assert.is(p.unavailable, 0);
    const again = JSON.parse((await cliRun(A, ['push', ...quick, '--remote', server.url, '--json'], env)).out);
    assert.is(again.moved, 0);
    assert.is(again.present, p.moved);
    // Every manifest is signed; every object is whole under its digest.
    for (const f of readdirSync(join(server.dir, 'root', 'cas'))) assert.is(sha(readFileSync(join(server.dir, 'root', 'cas', f))), f);
    assert.ok((JSON.parse(readFileSync(manifestPath(leaf().key), 'utf8')) as Manifest).signature?.sig);
  });

  test('an empty cache B pulls fig3; run runs 0 nodes; reports byte-identical; verify --sample re-executes pulled entries', async () => {
    const pull = await cliRun(B, ['pull', ...quick, '--remote', server.url, '--json'], env);
    assert.is(pull.code, 0, pull.err);
    assert.is(JSON.parse(pull.out).unavailable, 0);
    assert.equal(warnings(pull.err), []);
    const run = await cliRun(B, ['run', ...quick, '--json'], env);
    assert.is(run.code, 0, run.err);
    assert.is(JSON.parse(run.out).ran, 0);
    assert.equal(truth(B, run.out), built);
    assert.equal(reportFiles(B), reportFiles(A));
    const meta = new Cache(join(B, 'cache')).readMeta(leaf().key)!;
    assert.is(meta.origin?.remote, server.url.replace(/\/$/, ''));
    const verify = await cliRun(B, ['verify', 'fig3', '--sample', '0.05']);
    assert.is(verify.code, 0, verify.out + verify.err);
    assert.match(verify.out, /re-executed [1-9]\d*: 0 differ/);
  });

  test('a manifest rewritten on the server with other digests: one warning, a miss, the build correct', async () => {
    const { key } = leaf();
    const other = Object.values(new Cache(join(A, 'cache')).readMeta(JSON.parse(readFileSync(join(A, 'cache', 'refs', 'fig3.last.json'), 'utf8')).summary[0])!.outputs)[0];
    await withManifest(key, (m) => {
      const name = Object.keys(m.outputs)[0];
      m.outputs[name] = { ...other };
      m.digest = createHash('sha256').update(JSON.stringify(Object.fromEntries(Object.entries(m.outputs).sort().map(([k, v]) => [k, v.sha256])))).digest('hex');
      return m;
    }, async () => {
      const r = await runFresh();
      assert.is(warnings(r.err).length, 1, r.err);
      assert.match(warnings(r.err)[0], /bad signature|digest/);
      assertClean(r, key);
    });
  });

  test('a manifest signed by an unknown key: one warning, a miss, the build correct', async () => {
    const { key } = leaf();
    const stranger = newKeyPair();
    const { createPrivateKey } = await import('node:crypto');
    await withManifest(key, (m) => signManifest({ ...m, signature: undefined } as NodeMeta, { key: createPrivateKey(stranger.privatePem), signer: stranger.signer }), async () => {
      const r = await runFresh();
      assert.is(warnings(r.err).length, 1, r.err);
      assert.match(warnings(r.err)[0], /unknown key/);
      assertClean(r, key);
    });
    // An unsigned one the same way.
    await withManifest(key, (m) => ({ ...m, signature: undefined }), async () => {
      const r = await runFresh();
      assert.is(warnings(r.err).length, 1, r.err);
      assert.match(warnings(r.err)[0], /unsigned/);
      assertClean(r, key);
    });
  });

  test('an output object truncated on the server: one warning, a miss, the build correct', async () => {
    const { key, meta } = leaf();
    const f = Object.values(meta.outputs).sort((a, b) => b.bytes - a.bytes)[0];
    const obj = join(server.dir, 'root', 'cas', f.sha256);
    const saved = readFileSync(obj);
    truncateSync(obj, Math.floor(f.bytes / 2));
    try {
      const r = await runFresh();
      assert.is(warnings(r.err).length, 1, r.err);
      assert.match(warnings(r.err)[0], /bytes/);
      assertClean(r, key);
    } finally {
      writeFileSync(obj, saved);
    }
  });

  test('the server unreachable: one warning, the build correct, seconds not minutes', async () => {
    const cold = fig3Project();
    const t0 = performance.now();
    const base = await cliRun(cold, ['run', ...quick, '--json']);
    const baseSeconds = (performance.now() - t0) / 1000;
    assert.is(base.code, 0);
    // A closed port (refused), and a server that takes connections and never answers.
    const silent = createServer(() => {}).listen(0, '127.0.0.1');
    await new Promise((r) => silent.once('listening', r));
    const silentUrl = `http://127.0.0.1:${(silent.address() as AddressInfo).port}/`;
    try {
    for (const url of ['http://127.0.0.1:9/', silentUrl]) {
      const dir = fig3Project();
      const t1 = performance.now();
      const r = await cliRun(dir, ['run', ...quick, '--json', '--remote', url], env);
      const seconds = (performance.now() - t1) / 1000;
      console.log(`  unreachable ${url}: ${seconds.toFixed(2)} s against ${baseSeconds.toFixed(2)} s without a remote (+${(seconds - baseSeconds).toFixed(2)} s)`);
      assert.is(r.code, 0, r.err);
      assert.is(warnings(r.err).length, 1, r.err);
      assert.match(warnings(r.err)[0], /unreachable/);
      assert.equal(truth(dir, r.out), built);
      assert.ok(seconds - baseSeconds < 10, `${seconds - baseSeconds} s extra`);
    }
    } finally {
      silent.close();
    }
  });

  test('bad input: credentials in the URL are refused without printing them (exit 2)', async () => {
    const r = await cliRun(B, ['pull', ...quick, '--remote', 'http://alice:s3cret@127.0.0.1:1/'], env);
    assert.is(r.code, 2);
    assert.match(r.err, /credentials in the URL are refused/);
    assert.not.match(r.err, /s3cret/);
  });

  // Faults mid-transfer need transfers that last: 16 entries of 8 MB each (a toy stage).
  const BLOB_STAGE = `export default {
  description: 'mb megabytes of the byte i',
  params: { i: { type: 'integer', doc: 'which' }, mb: { type: 'integer', doc: 'size' } },
  run({ params }) { return { 'blob.bin': new Uint8Array(params.mb << 20).fill(params.i) }; },
};
`;
  const BLOB_CONFIG = `title: blobs\nsweep:\n  i: [${Array.from({ length: 16 }, (_, i) => i + 1).join(', ')}]\nstages:\n  blob:\n    stage: blob\n    params: { i: "\${i}", mb: 8 }\n`;
  const blobProject = () => makeProject({ 'configs/blobs.yml': BLOB_CONFIG, 'stages/blob.ts': BLOB_STAGE });
  const P = blobProject();

  /** Every object on the server is whole (hashes to its name); every manifest's objects are there. */
  function serverConsistent(dir: string): { objects: number; manifests: number } {
    const cas = readdirSync(join(dir, 'root', 'cas'));
    for (const f of cas) assert.is(sha(readFileSync(join(dir, 'root', 'cas', f))), f, `object ${f} is partial`);
    const ac = readdirSync(join(dir, 'root', 'ac'));
    for (const k of ac) for (const o of Object.values((JSON.parse(readFileSync(join(dir, 'root', 'ac', k), 'utf8')) as Manifest).outputs)) assert.ok(cas.includes(o.sha256), `manifest ${k} names a missing object`);
    return { objects: cas.length, manifests: ac.length };
  }

  test('the server killed mid-push: an error naming what was not written; no partial object on the server; a second push completes', async () => {
    const s2 = startRemote()!;
    try {
      const built2 = await cliRun(P, ['run', 'blobs', '--json']);
      assert.is(built2.code, 0, built2.err);
      const child = cliAsync(P, ['push', 'blobs', '--remote', s2.url], { ...env, PIPELINE_REMOTE_JOBS: '1' });
      let err = '';
      child.stderr!.on('data', (d) => (err += d));
      const exited = new Promise<number>((r) => child.on('exit', (c) => r(c ?? -1)));
      await waitFor(() => readdirSync(join(s2.dir, 'root', 'cas')).length >= 1, 20_000, 'a first object on the server');
      s2.kill();
      const code = await exited;
      assert.is(code, 1, err);
      assert.match(err, /push to .* incomplete: \d+ of 16 entries not written/);
      const mid = serverConsistent(s2.dir);
      assert.ok(mid.manifests < 16, 'killed before the end');
      s2.start();
      const again = await cliRun(P, ['push', 'blobs', '--remote', s2.url, '--json'], env);
      assert.is(again.code, 0, again.err);
      assert.is(JSON.parse(again.out).moved, 16 - mid.manifests);
      assert.equal(serverConsistent(s2.dir), { objects: 16, manifests: 16 });
    } finally {
      s2.stop();
    }
  });

  test('the server killed mid-pull: one warning; nothing partial filed locally; a second pull completes, run runs 0 nodes', async () => {
    const s3 = startRemote({ PIPELINE_REMOTE_LIMIT_RATE: '8m' })!;
    try {
      const push = await cliRun(P, ['push', 'blobs', '--remote', s3.url], env);
      assert.is(push.code, 0, push.err);
      const Q = blobProject();
      const child = cliAsync(Q, ['pull', 'blobs', '--remote', s3.url, '--json'], env);
      let out = '';
      let err = '';
      child.stdout!.on('data', (d) => (out += d));
      child.stderr!.on('data', (d) => (err += d));
      const exited = new Promise<number>((r) => child.on('exit', (c) => r(c ?? -1)));
      const staging = join(Q, 'cache', 'staging');
      await waitFor(() => existsSync(staging) && readdirSync(staging).length > 0, 20_000, 'a download under way');
      await new Promise((r) => setTimeout(r, 300));
      s3.kill();
      const code = await exited;
      assert.is(code, 1, err);
      assert.is(warnings(err).length, 1, err);
      assert.match(warnings(err)[0], /unreachable|ECONNRESET|socket hang up/);
      const pulled = JSON.parse(out).moved as number;
      assert.ok(pulled < 16, 'killed before the end');
      const c = new Cache(join(Q, 'cache'));
      const local = [...c.keys()];
      assert.is(local.length, pulled);
      for (const k of local) assert.equal(c.corruptOutputs(k), []);
      assert.ok(!existsSync(staging) || readdirSync(staging).length === 0, 'no staging left');
      s3.start();
      const again = await cliRun(Q, ['pull', 'blobs', '--remote', s3.url, '--json'], env);
      assert.is(again.code, 0, again.err);
      assert.is(JSON.parse(again.out).moved, 16 - pulled);
      const run = await cliRun(Q, ['run', 'blobs', '--json']);
      assert.is(JSON.parse(run.out).ran, 0);
    } finally {
      s3.stop();
    }
  });
} else {
  test('remote cache tests: skipped (nginx cannot be installed here; see the line above)', () => {});
}

test.run();
