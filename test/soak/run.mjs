// The soak (issue 14, Deliver 10; the "Must show" lists of issues 14 and 12): faults as a user's
// would come, each case scripted on temp projects and caches with the toy stages, bounded in time.
//
//   npm run soak                      # full counts (K = 50 kills of run, ...)
//   npm run soak:quick                # small counts, for CI (<= 60 s)
//   node --import tsx test/soak/run.mjs [--quick] [--only 1,5,9] [--seed 123] [--k 10] [--n 1]
//     --k: kills of run (case 1); --n: every case's count; --keep: keep the temp folder;
//     --keep-slurm: leave the soak's Slurm cluster up
//
// Prints one table row per case (what it observed) and ends with "N passed, N failed"; exit 1 if
// any case failed. A case that cannot run here (not root, no Slurm) is a "skip" row that says why.
import { spawn, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { cpus, hostname, loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { TOY_STAGES } from '../helpers/project.ts';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const BIN = join(ROOT, 'bin', 'pipeline.mjs');

// ------------------------------------------------------------------------------------ arguments
const argv = process.argv.slice(2);
const flag = (name) => argv.includes(name);
const opt = (name) => {
  const i = argv.indexOf(name);
  return i >= 0 ? argv[i + 1] : undefined;
};
const QUICK = flag('--quick');
const ONLY = opt('--only')?.split(',').map(Number);
const SEED = Number(opt('--seed') ?? Math.floor(Math.random() * 1e9));
const K = Number(opt('--k') ?? opt('--n') ?? (QUICK ? 5 : 50));
const COUNT = opt('--n') === undefined ? undefined : Number(opt('--n'));
/** A case's repetitions: full or quick, or --n for every case (while developing). */
const N = (full, quick) => COUNT ?? (QUICK ? quick : full);
/** A size (ms, nodes) of the full or the quick soak. */
const Q = (full, quick) => (QUICK ? quick : full);
const IS_ROOT = process.getuid?.() === 0;

// Seeded RNG (mulberry32): a failing run is replayed with --seed.
let rngState = SEED >>> 0;
function rand() {
  rngState = (rngState + 0x6d2b79f5) >>> 0;
  let t = rngState;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}
const uniform = (a, b) => a + (b - a) * rand();

// -------------------------------------------------------------------------------------- helpers
const TMP = mkdtempSync(join(tmpdir(), 'pipeline-soak-'));
let projects = 0;

function makeProject(config, extra = {}) {
  const dir = join(TMP, `p${projects++}`);
  mkdirSync(join(dir, 'configs'), { recursive: true });
  for (const [name, text] of Object.entries({ ...TOY_STAGES, ...extra, 'configs/soak.yml': config })) {
    mkdirSync(dirname(join(dir, name)), { recursive: true });
    writeFileSync(join(dir, name), text);
  }
  return dir;
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Spawns the CLI; `done` resolves with code, signal, stdout, stderr and wall ms. */
function start(dir, args, env = {}, cmd = [process.execPath, BIN]) {
  const t0 = performance.now();
  const child = spawn(cmd[0], [...cmd.slice(1), ...args], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, CI: 'true', ...env } });
  let out = '';
  let err = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (err += d));
  const done = new Promise((resolve) => child.on('close', (code, signal) => resolve({ code, signal, out, err, ms: performance.now() - t0, exitAt: performance.now() })));
  return { child, done, t0, errNow: () => err };
}

/** Runs the CLI to its end, killed after timeoutMs (then code is null and timedOut true). */
async function cli(dir, args, env = {}, timeoutMs = 120_000) {
  const p = start(dir, args, env);
  let timedOut = false;
  const t = setTimeout(() => {
    timedOut = true;
    p.child.kill('SIGKILL');
  }, timeoutMs);
  const r = await p.done;
  clearTimeout(t);
  return { ...r, timedOut };
}

function json(r) {
  try {
    return JSON.parse(r.out);
  } catch {
    return undefined;
  }
}

const ls = (d) => {
  try {
    return readdirSync(d);
  } catch {
    return [];
  }
};
const sha256 = (buf) => createHash('sha256').update(buf).digest('hex');

/** Every entry in objects/, and those that are not whole (meta.json, each output with its size and sha256). */
function checkCache(cacheDir) {
  const root = join(cacheDir, 'objects');
  const entries = [];
  const half = [];
  for (const shard of ls(root)) {
    for (const key of ls(join(root, shard))) {
      entries.push(key);
      const dir = join(root, shard, key);
      let meta;
      try {
        meta = JSON.parse(readFileSync(join(dir, 'meta.json'), 'utf8'));
      } catch (e) {
        half.push(`${key.slice(0, 12)}: meta.json ${e.code ?? 'unreadable'}`);
        continue;
      }
      if (meta.key !== key) half.push(`${key.slice(0, 12)}: meta.key ${meta.key}`);
      for (const [name, f] of Object.entries(meta.outputs ?? {})) {
        let buf;
        try {
          buf = readFileSync(join(dir, name));
        } catch {
          half.push(`${key.slice(0, 12)}: ${name} missing`);
          continue;
        }
        if (buf.length !== f.bytes) half.push(`${key.slice(0, 12)}: ${name} ${buf.length} bytes, meta says ${f.bytes}`);
        else if (sha256(buf) !== f.sha256) half.push(`${key.slice(0, 12)}: ${name} sha256 differs`);
      }
    }
  }
  return { entries, half };
}

/** What processes leave behind: lock files, staging folders, trash. */
function leftovers(cacheDir) {
  return { locks: ls(join(cacheDir, 'locks')), staging: ls(join(cacheDir, 'staging')), trash: ls(join(cacheDir, 'trash')) };
}
const leftText = (l) => `${l.locks.length} locks${l.locks.length ? ` (${l.locks.slice(0, 2).join(', ')})` : ''}, ${l.staging.length} staging, ${l.trash.length} trash`;

/** refs/<target>.last.json: id -> [key, digest] of the target's last run. */
/** The last run's [key, digest] per node id; the stamp a record also carries (a hint about this cache's meta.json) is left out. */
function lastRun(cacheDir, target = 'soak') {
  try {
    const raw = JSON.parse(readFileSync(join(cacheDir, 'refs', `${target}.last.json`), 'utf8'));
    return Object.fromEntries(Object.entries(raw).map(([id, v]) => [id, Array.isArray(v) ? v.slice(0, 2) : v]));
  } catch {
    return {};
  }
}

const stat = (xs) => {
  if (!xs.length) return '-';
  const s = [...xs].sort((a, b) => a - b);
  return `median ${Math.round(s[Math.floor(s.length / 2)])}, max ${Math.round(s[s.length - 1])}`;
};
const firstLines = (text, n = 2) =>
  text
    .split('\n')
    .filter((l) => l.trim() && !/^\[\d+s\] /.test(l))
    .slice(0, n)
    .join(' | ')
    .slice(0, 300);
const stackLines = (text) => text.split('\n').filter((l) => /^\s+at .+[(:]\d+/.test(l) || /^\s+at /.test(l)).length;

/** Descendants of a process (by the parent pid in /proc/<pid>/stat), with their command lines. */
function descendants(root) {
  const parent = new Map();
  const cmd = new Map();
  for (const p of ls('/proc')) {
    if (!/^\d+$/.test(p)) continue;
    try {
      const stat = readFileSync(`/proc/${p}/stat`, 'utf8');
      parent.set(Number(p), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
      cmd.set(Number(p), readFileSync(`/proc/${p}/cmdline`, 'utf8').replace(/\0/g, ' '));
    } catch {
      // gone
    }
  }
  const out = [];
  const walk = (pid) => {
    for (const [c, pp] of parent) if (pp === pid) out.push({ pid: c, cmd: cmd.get(c) }), walk(c);
  };
  walk(root);
  return out;
}
const alive = (pid) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

// ---------------------------------------------------------------------------------------- configs
/** Slow and fast nodes; `salt` changes every key, so each iteration has fresh work. */
const MIXED = `title: soak
vars:
  salt: 0
sweep:
  n: [1, 2, 3, 4]
stages:
  source:
    stage: source
    params: { n: "\${n}", seed: "\${salt}" }
  short:
    stage: slow
    inputs: { x: source }
    params: { ms: 100 }
  long:
    stage: slow
    inputs: { x: source }
    params: { ms: ${Q(500, 250)} }
  scale:
    stage: scale
    inputs: { x: source }
    params: { factor: 2 }
  total:
    stage: sum
    inputs: { xs: [scale] }
`;
const MIXED_NODES = 17;
/** The value the total of MIXED must hold for a salt. */
const mixedTotal = (salt) => [1, 2, 3, 4].reduce((s, n) => s + 2 * (n * 10 + salt), 0);

function totalValue(cacheDir, target = 'soak') {
  const last = lastRun(cacheDir, target);
  const k = last.total?.[0];
  if (!k) return undefined;
  try {
    return JSON.parse(readFileSync(join(cacheDir, 'objects', k.slice(0, 2), k, 'value.json'), 'utf8')).v;
  } catch {
    return undefined;
  }
}

// ------------------------------------------------------------------------------------------ cases
/** Each case returns { n, ok, observed } (or { skip }); failures say what was seen. */
const CASES = [];
/** background: mostly idle waiting (a lock's lease, Slurm's scheduler), run beside the others. */
const def = (id, name, fn, background = false) => CASES.push({ id, name, fn, background });

def(1, 'kill -9 of run', async () => {
  const dir = makeProject(MIXED);
  const cache = join(dir, 'cache');
  // An unkilled run measures how long a build takes (the first one bundles the stages: not it).
  await cli(dir, ['run', 'soak', '--json', '--jobs', '2', '--set', 'salt=999']);
  const ref = await cli(dir, ['run', 'soak', '--json', '--jobs', '2', '--set', 'salt=1000']);
  if (ref.code !== 0) return { ok: false, observed: `the unkilled run failed: exit ${ref.code}: ${firstLines(ref.err)}` };
  let span = ref.ms;
  const span0 = span;
  const problems = [];
  let half = 0;
  let failedReruns = 0;
  let wrong = 0;
  let finishedBeforeKill = 0;
  const leftAfter = [];
  const leftNames = [];
  // K kills that land in a running build: a run that ended before its kill does not count.
  let kills = 0;
  for (let i = 0; kills < K && i < 3 * K; i++) {
    const set = ['--set', `salt=${i}`];
    const p = start(dir, ['run', 'soak', '--json', '--jobs', '2', ...set]);
    await sleep(uniform(0, span));
    if (p.child.exitCode === null) p.child.kill('SIGKILL');
    const r = await p.done;
    if (r.signal !== 'SIGKILL') {
      // The build got faster than the measured one (less load): aim within its time from now on.
      finishedBeforeKill++;
      span = Math.min(span, r.ms);
    } else kills++;
    const c = checkCache(cache);
    if (c.half.length) {
      half += c.half.length;
      problems.push(`kill ${i}: half entries ${c.half.slice(0, 3).join('; ')}`);
    }
    const re = await cli(dir, ['run', 'soak', '--json', '--jobs', '2', ...set], {}, 60_000);
    const s = json(re);
    if (re.code !== 0 || !s || s.failed) {
      failedReruns++;
      problems.push(`rerun ${i}: exit ${re.code}${re.timedOut ? ' (timed out)' : ''}: ${firstLines(re.err)}`);
    } else if (totalValue(cache) !== mixedTotal(i)) {
      wrong++;
      problems.push(`rerun ${i}: total ${totalValue(cache)}, expected ${mixedTotal(i)}`);
    }
    const l = leftovers(cache);
    leftAfter.push(l.locks.length + l.staging.length);
    if (l.locks.length + l.staging.length && leftNames.length < 3) leftNames.push(...l.locks.slice(0, 1).map((n) => `locks/${n.slice(0, 16)}…${n.slice(64)}`), ...l.staging.slice(0, 1).map((n) => `staging/${n}`));
  }
  const fin = leftovers(cache);
  const finalHalf = checkCache(cache).half.length;
  const v = await cli(dir, ['verify', '--cache-dir', cache]);
  if (v.code !== 0) problems.push(`pipeline verify: exit ${v.code}: ${firstLines(v.out + v.err)}`);
  const ok = kills === K && !half && !failedReruns && !wrong && !fin.locks.length && !fin.staging.length && !finalHalf && v.code === 0;
  return {
    n: kills,
    ok,
    observed: `${kills} kills in 0-${Math.round(span0)} ms, later 0-${Math.round(span)} ms (${finishedBeforeKill} more runs had ended before their kill); ${half} half entries; ${failedReruns} failed reruns; ${wrong} wrong totals; after the final run: ${leftText(fin)}, ${firstLines(v.out, 1)}; locks+staging left after a rerun (swept later): ${leftAfter.reduce((a, b) => a + b, 0)}${leftNames.length ? ` (${leftNames.join(', ')})` : ''}${problems.length ? `; ${problems.slice(0, 4).join(' / ')}` : ''}`,
  };
});

const GC_CONFIG = `title: soak
vars:
  factor: 1
sweep:
  n: [${Array.from({ length: Q(100, 15) }, (_, i) => i + 1).join(', ')}]
stages:
  source:
    stage: source
    params: { n: "\${n}" }
  scale:
    stage: scale
    inputs: { x: source }
    params: { factor: "\${factor}" }
  total:
    stage: sum
    inputs: { xs: [scale] }
`;

def(2, 'kill -9 of gc', async () => {
  const kills = N(20, 3);
  const dir = makeProject(GC_CONFIG);
  const template = join(dir, 'template');
  const variants = Q(6, 3);
  for (let f = 1; f <= variants; f++) {
    const r = await cli(dir, ['run', 'soak', '--json', '--set', `factor=${f}`, '--cache-dir', template]);
    if (r.code !== 0) return { ok: false, observed: `building variant factor=${f} failed: ${firstLines(r.err)}` };
  }
  const before = checkCache(template).entries.length;
  // One gc to its end on a copy: how long it takes, how much it removes.
  const probe = join(dir, 'probe');
  cpSync(template, probe, { recursive: true });
  const gp = start(dir, ['gc', '--keep-last', '1', '--cache-dir', probe]);
  // Removal starts when trash/ appears (the first entry renamed out of objects/).
  while (gp.child.exitCode === null && !existsSync(join(probe, 'trash'))) await sleep(2);
  const removalStart = performance.now() - gp.t0;
  // ... and ends when objects/ stops shrinking (counted while it goes).
  const count = (c) => ls(join(c, 'objects')).reduce((n, sh) => n + ls(join(c, 'objects', sh)).length, 0);
  let removalEnd = removalStart;
  for (let last = -1, n = count(probe); gp.child.exitCode === null && n !== last; last = n, n = count(probe)) {
    removalEnd = performance.now() - gp.t0;
    await sleep(1);
  }
  const g = await gp.done;
  if (g.code !== 0) return { ok: false, observed: `gc on a copy failed: exit ${g.code}: ${firstLines(g.err)}` };
  const removable = before - checkCache(probe).entries.length;
  const span = g.ms;
  const removalMs = Math.max(3, removalEnd - removalStart);
  const problems = [];
  let half = 0;
  let failed = 0;
  let midway = 0;
  let leftTrash = 0;
  for (let i = 0; i < kills; i++) {
    const cache = join(dir, `c${i}`);
    cpSync(template, cache, { recursive: true });
    const p = start(dir, ['gc', '--keep-last', '1', '--cache-dir', cache]);
    // A quarter of the kills at any moment, the rest while it removes entries.
    if (i % 4 === 0) await sleep(uniform(0, span));
    else {
      while (p.child.exitCode === null && !existsSync(join(cache, 'trash'))) await sleep(2);
      await sleep(uniform(0, removalMs));
    }
    if (p.child.exitCode === null) p.child.kill('SIGKILL');
    await p.done;
    const c = checkCache(cache);
    const gone = before - c.entries.length;
    if (gone > 0 && gone < removable) midway++;
    if (c.half.length) {
      half += c.half.length;
      problems.push(`kill ${i}: ${c.half.slice(0, 3).join('; ')}`);
    }
    // Rebuilds: the last variant (kept) and an old one (removed, or half removed).
    for (const f of QUICK ? [1 + (i % (variants - 1))] : [variants, 1 + (i % (variants - 1))]) {
      const r = await cli(dir, ['run', 'soak', '--json', '--set', `factor=${f}`, '--cache-dir', cache], {}, 60_000);
      const s = json(r);
      if (r.code !== 0 || !s || s.failed) {
        failed++;
        problems.push(`rebuild factor=${f} after kill ${i}: exit ${r.code}: ${firstLines(r.err)}`);
      }
    }
    const c2 = checkCache(cache);
    if (c2.half.length) {
      half += c2.half.length;
      problems.push(`after rebuild ${i}: ${c2.half.slice(0, 3).join('; ')}`);
    }
    leftTrash += leftovers(cache).trash.length;
    rmSync(cache, { recursive: true, force: true });
  }
  return {
    n: kills,
    ok: !half && !failed,
    observed: `gc removes ${removable} of ${before} entries in ${Math.round(span)} ms (whole process; removing ${Math.round(removalMs)} ms); ${kills} kills, ${midway} landed mid-removal; ${half} half entries; ${failed} failed rebuilds; trash left after rebuilds: ${leftTrash}${problems.length ? `; ${problems.slice(0, 4).join(' / ')}` : ''}`,
  };
});

const SLOW_BUILD = `title: soak
vars:
  salt: 0
sweep:
  n: [1, 2, 3, 4]
stages:
  source:
    stage: source
    params: { n: "\${n}", seed: "\${salt}" }
  wait:
    stage: slow
    inputs: { x: source }
    params: { ms: ${Q(1200, 600)} }
  scale:
    stage: scale
    inputs: { x: source }
    params: { factor: 3 }
  total:
    stage: sum
    inputs: { xs: [scale] }
`;

def(3, 'gc beside a running build', async () => {
  const reps = N(10, 2);
  const dir = makeProject(SLOW_BUILD);
  const cache = join(dir, 'cache');
  // Old variants give gc something it may remove.
  for (const salt of [100, 101]) await cli(dir, ['run', 'soak', '--json', '--set', `salt=${salt}`]);
  const problems = [];
  let refused = 0;
  let waited = 0;
  let deleted = 0;
  let failedBuilds = 0;
  for (let i = 0; i < reps; i++) {
    const b = start(dir, ['run', 'soak', '--json', '--set', `salt=${i}`]);
    // gc starts once the build has committed something fresh (or after a random delay).
    const seen = new Set(checkCache(cache).entries);
    const until = Date.now() + 15_000;
    while (Date.now() < until && b.child.exitCode === null && checkCache(cache).entries.every((k) => seen.has(k))) await sleep(20);
    await sleep(uniform(0, 600));
    const fresh = checkCache(cache).entries.filter((k) => !seen.has(k));
    const g = await cli(dir, ['gc', '--keep-last', '1'], {}, 60_000);
    const after = new Set(checkCache(cache).entries);
    const lost = fresh.filter((k) => !after.has(k));
    const br = await b.done;
    const s = json(br);
    const buildKeys = (s?.nodes ?? []).map((n) => n.key).filter(Boolean);
    const end = new Set(checkCache(cache).entries);
    const lostAtEnd = buildKeys.filter((k) => !end.has(k));
    deleted += lost.length + lostAtEnd.length;
    if (g.code === 2 && /\brun\b/.test(g.err) && new RegExp(`pid ${b.child.pid}\\b`).test(g.err)) refused++;
    else if (g.code === 0 && g.exitAt >= br.exitAt) waited++;
    else problems.push(`rep ${i}: gc exit ${g.code} (${Math.round(g.ms)} ms, build ${b.child.exitCode === null ? 'running' : 'ended'}): ${firstLines(g.out + g.err)}`);
    if (br.code !== 0 || !s || s.failed) {
      failedBuilds++;
      problems.push(`rep ${i}: build exit ${br.code}: ${firstLines(br.err)}`);
    }
    if (lost.length || lostAtEnd.length) problems.push(`rep ${i}: ${lost.length} fresh entries deleted while the build ran, ${lostAtEnd.length} of its final keys missing`);
    if (i === 0 && g.code === 2) problems.unshift(`gc said: ${firstLines(g.err, 1)}`);
  }
  return {
    n: reps,
    ok: refused + waited === reps && !deleted && !failedBuilds,
    observed: `gc refused (exit 2, naming the build's pid) ${refused}, waited ${waited}, other ${reps - refused - waited}; ${deleted} fresh entries deleted; ${failedBuilds} failed builds${problems.length ? `; ${problems.slice(0, 4).join(' / ')}` : ''}`,
  };
});

def(4, 'lock of a live foreign pid', async () => {
  const dir = makeProject(MIXED);
  const cache = join(dir, 'cache');
  const boot = (() => {
    try {
      return readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim().replace(/-/g, '').slice(0, 12);
    } catch {
      return 'noboot';
    }
  })();
  const host = hostname().replace(/[^A-Za-z0-9.-]/g, '_').slice(0, 64) || 'host';
  const variants = [
    ['JSON lease {host, boot, pid: 1, start: "123"}', (salt) => JSON.stringify({ host, boot, pid: 1, start: '123', role: 'lock', since: new Date().toISOString(), what: `source[n=1] salt ${salt}` })],
    ['bare pid "1" (older version)', () => '1'],
  ];
  const rows = [];
  let ok = true;
  for (const [i, [what, text]] of variants.entries()) {
    const salt = 500 + i;
    const plan = await cli(dir, ['plan', 'soak', '--json', '--set', `salt=${salt}`]);
    const key = json(plan)?.nodes.find((n) => n.stage === 'source' && n.key)?.key;
    if (!key) return { ok: false, observed: `plan gave no key for a source node: ${firstLines(plan.err)}` };
    mkdirSync(join(cache, 'locks'), { recursive: true });
    writeFileSync(join(cache, 'locks', key), text(salt));
    const p = start(dir, ['run', 'soak', '--json', '--set', `salt=${salt}`]);
    // Within 10 s: the run ended, or it said which lock it waits for and whose.
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline && p.child.exitCode === null) await sleep(50);
    const endedIn10 = p.child.exitCode !== null;
    const errAt10 = p.errNow();
    let r;
    if (endedIn10) r = await p.done;
    else {
      // Let it go on (bounded): a lease of an unrecognised holder goes stale after PIPELINE_LEASE_SECONDS.
      const t = setTimeout(() => p.child.kill('SIGKILL'), QUICK ? 0 : 90_000);
      r = await p.done;
      clearTimeout(t);
    }
    // Only what it said in its first 10 s counts as saying why it waits.
    const errSoFar = endedIn10 ? r.err : errAt10;
    const explained = /lock|waiting|holds|held/i.test(errSoFar);
    const s = json(r);
    const pass = (endedIn10 && r.code === 0 && s && !s.failed) || (!endedIn10 && explained);
    if (!pass) ok = false;
    const saidAt = explained ? 'yes' : 'no';
    rows.push(
      `${what}: ${endedIn10 ? `run ended in ${(r.ms / 1000).toFixed(1)} s, exit ${r.code}` : `still running at 10 s (${QUICK ? 'killed' : r.signal ? 'killed at 90 s' : `ended after ${(r.ms / 1000).toFixed(1)} s, exit ${r.code}`})`}; said why it waits: ${saidAt}${explained ? ` ("${firstLines(errSoFar.split('\n').filter((l) => /lock|wait|held|holds/i.test(l)).join('\n'), 1)}")` : ''}`,
    );
  }
  return { n: variants.length, ok, observed: rows.join(' / ') };
}, true);

def(5, 'bit flip in a data node', async () => {
  const config = `title: soak
sweep:
  n: [1, 2, 3]
  repeat: 2
stages:
  source:
    stage: source
    params: { n: "\${n}", seed: "\${repeat}" }
  scale:
    stage: scale
    inputs: { x: source }
    params: { factor: 2 }
  total:
    stage: sum
    inputs: { xs: [scale] }
`;
  const dir = makeProject(config);
  const clean = join(dir, 'clean');
  const cache = join(dir, 'cache');
  const a = await cli(dir, ['run', 'soak', '--json', '--cache-dir', clean]);
  const b = await cli(dir, ['run', 'soak', '--json', '--cache-dir', cache]);
  if (a.code || b.code) return { ok: false, observed: `builds failed: ${firstLines(a.err + b.err)}` };
  const last = lastRun(cache);
  const srcId = Object.keys(last).find((id) => id.startsWith('source') && id.includes('n=1') && id.includes('repeat=0'));
  const scaleId = Object.keys(last).find((id) => id.startsWith('scale') && id.includes('n=1') && id.includes('repeat=0'));
  const entry = (k) => join(cache, 'objects', k.slice(0, 2), k);
  // Downstream entries gone, then one digit of the data node's output changed (same size).
  rmSync(entry(last[scaleId][0]), { recursive: true });
  rmSync(entry(last.total[0]), { recursive: true });
  const file = join(entry(last[srcId][0]), 'value.json');
  const text = readFileSync(file, 'utf8');
  const flipped = text.replace(/"v": 1/, '"v": 9');
  if (flipped === text) return { ok: false, observed: `could not flip a byte in ${text}` };
  writeFileSync(file, flipped);
  const r = await cli(dir, ['run', 'soak', '--json', '--cache-dir', cache]);
  const s = json(r);
  const ref = lastRun(clean);
  const got = lastRun(cache);
  const differ = Object.keys(ref).filter((id) => JSON.stringify(ref[id]) !== JSON.stringify(got[id]));
  const src = s?.nodes.find((n) => n.id === srcId);
  const v = await cli(dir, ['verify', '--cache-dir', cache]);
  const found = src?.status === 'ran';
  // Nothing filed from the damaged bytes: every entry's digest is the clean build's under the same key.
  const digestOf = (c, k) => {
    try {
      return JSON.parse(readFileSync(join(c, 'objects', k.slice(0, 2), k, 'meta.json'), 'utf8')).digest;
    } catch {
      return undefined;
    }
  };
  const filed = checkCache(cache).entries.filter((k) => digestOf(cache, k) !== digestOf(clean, k));
  const ok = r.code === 0 && !differ.length && v.code === 0 && found && !filed.length;
  return {
    n: 1,
    ok,
    observed: `rerun exit ${r.code}; damaged ${srcId}: ${src ? `${src.status}${src.changed ? ` (${src.changed.join('; ')})` : ''}` : 'absent'}; ${differ.length} of ${Object.keys(ref).length} keys/digests differ from a clean build; ${filed.length} entries whose bytes differ from the clean build's under the same key${differ.length ? ` (${differ.slice(0, 3).join(', ')})` : ''}; verify: ${firstLines(v.out, 1)}`,
  };
});

def(6, 'SIGINT / SIGTERM', async () => {
  const each = N(10, 2);
  const dir = makeProject(MIXED);
  const cache = join(dir, 'cache');
  await cli(dir, ['run', 'soak', '--json', '--set', 'salt=1999']); // bundles the stages
  const ref = await cli(dir, ['run', 'soak', '--json', '--set', 'salt=2000']);
  const span = ref.ms;
  const rows = [];
  let ok = ref.code === 0;
  let salt = 3000;
  for (const sig of ['SIGINT', 'SIGTERM']) {
    const ms = [];
    const codes = {};
    let slow = 0;
    let ignored = 0;
    let half = 0;
    let failedResumes = 0;
    let ended = 0;
    const notes = [];
    // `each` signals that land in a running build (a run that ended first does not count).
    for (let i = 0, landed = 0; landed < each && i < 3 * each; i++) {
      salt++;
      const set = ['--set', `salt=${salt}`];
      const p = start(dir, ['run', 'soak', '--json', ...set]);
      await sleep(uniform(300, 0.8 * span));
      if (p.child.exitCode !== null) {
        ended++;
        await p.done;
      } else {
        landed++;
        const sent = performance.now();
        p.child.kill(sig);
        const t = setTimeout(() => p.child.kill('SIGKILL'), 15_000);
        const r = await p.done;
        clearTimeout(t);
        const took = r.exitAt - sent;
        ms.push(took);
        const c = r.signal ? r.signal : String(r.code);
        codes[c] = (codes[c] ?? 0) + 1;
        // Exit 0 means the build ran to its end: the signal did not stop it.
        if (r.code === 0) {
          ignored++;
          if (notes.length < 2) notes.push(`ignored: exit 0 ${Math.round(took)} ms after the signal, ${json(r)?.ran ?? '?'} nodes ran`);
        } else if (took > 2000) {
          slow++;
          if (notes.length < 2) notes.push(`took ${Math.round(took)} ms (${r.signal === 'SIGKILL' ? 'SIGKILLed at 15 s' : `exit ${r.code}`})`);
        }
      }
      const c = checkCache(cache);
      half += c.half.length;
      const re = await cli(dir, ['run', 'soak', '--json', ...set], {}, 60_000);
      const s = json(re);
      if (re.code !== 0 || !s || s.failed || totalValue(cache) !== mixedTotal(salt)) {
        failedResumes++;
        notes.push(`resume exit ${re.code}: ${firstLines(re.err)}`);
      }
    }
    if (slow || ignored || half || failedResumes) ok = false;
    rows.push(`${sig} x${each}: exit ${Object.entries(codes).map(([c, n]) => `${c}:${n}`).join(' ') || '-'}, ms to exit ${stat(ms)}, ${ignored} ignored (ran to the end), ${slow} stopped but over 2 s (${ended} more runs ended before their signal); ${half} corrupt; ${failedResumes} failed resumes${notes.length ? ` (${notes.join('; ')})` : ''}`);
  }
  const fin = leftovers(cache);
  if (fin.locks.length || fin.staging.length) ok = false;
  rows.push(`after the last resume: ${leftText(fin)}`);
  return { n: 2 * each, ok, observed: rows.join(' / ') };
});

def(6.5, 'SIGTERM to the npx wrapper', async () => {
  const dir = makeProject(MIXED.replace(/ms: \d+ }\n  scale/, 'ms: 4000 }\n  scale'));
  // npx finds the package in the project's node_modules: no registry involved (--offline).
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'soak-project', private: true, dependencies: { pipeline: `file:${ROOT}` } }));
  mkdirSync(join(dir, 'node_modules', '.bin'), { recursive: true });
  symlinkSync(ROOT, join(dir, 'node_modules', 'pipeline'));
  symlinkSync('../pipeline/bin/pipeline.mjs', join(dir, 'node_modules', '.bin', 'pipeline'));
  const npx = spawnSync('which', ['npx'], { encoding: 'utf8' }).stdout.trim();
  if (!npx) return { skip: 'no npx on PATH' };
  const p = start(dir, ['--offline', '--no-install', 'pipeline', 'run', 'soak', '--set', 'salt=77'], { npm_config_update_notifier: 'false' }, [npx]);
  // Wait until the build itself (a node process under npx) runs and has started a node.
  let build = [];
  const until = Date.now() + 20_000;
  while (Date.now() < until && p.child.exitCode === null) {
    build = descendants(p.child.pid)
      .filter((d) => /^\S*node\S* \S*pipeline\S* run /.test(d.cmd))
      .map((d) => d.pid);
    if (build.length && existsSync(join(dir, 'cache', 'staging'))) break;
    await sleep(50);
  }
  if (!build.length) {
    const r = await p.done;
    return { ok: false, observed: `the build never started under npx: exit ${r.code}: ${firstLines(r.err)}` };
  }
  const sent = performance.now();
  p.child.kill('SIGTERM');
  const windowMs = Q(5000, 2500);
  const r = await Promise.race([p.done, sleep(windowMs).then(() => undefined)]);
  const npxMs = r ? Math.round(r.exitAt - sent) : undefined;
  let buildMs;
  while (performance.now() - sent < windowMs) {
    if (build.every((pid) => !alive(pid))) {
      buildMs = Math.round(performance.now() - sent);
      break;
    }
    await sleep(20);
  }
  const orphans = build.filter(alive);
  const locks = leftovers(join(dir, 'cache')).locks.length;
  // How long an orphan goes on by itself (bounded), then it is killed (started by this soak, through npx).
  let orphanMs;
  while (!QUICK && orphans.some(alive) && performance.now() - sent < 30_000) await sleep(50);
  if (orphans.length) orphanMs = Math.round(performance.now() - sent);
  for (const pid of orphans.filter(alive)) process.kill(pid, 'SIGKILL');
  if (!r) p.child.kill('SIGKILL');
  return {
    n: 1,
    // The CLI sits under npm -> sh; it stops once its parent goes (polled every 100 ms), which
    // took 1.7-2.1 s after npm's SIGTERM here: 5 s leaves room for a busy machine. An orphan that
    // went on building would run for the build's whole length.
    ok: buildMs !== undefined && buildMs <= 5000,
    observed: `npx ${npxMs === undefined ? `still running after ${windowMs / 1000} s` : `exited in ${npxMs} ms (code ${r.code}, signal ${r.signal})`}; the build (pid ${build.join(',')}) ${buildMs === undefined ? `was still running ${windowMs / 1000} s later (holding ${locks} locks; ${npxMs === undefined ? 'npx waiting for it' : 'an orphan'}) and ${QUICK ? 'was killed by the soak' : orphanMs < 30_000 ? `ended by itself ${orphanMs} ms after the signal` : 'was killed by the soak at 30 s'}` : `ended ${buildMs} ms after the signal`}`,
  };
});

def(7, 'full disk / read-only cache (tmpfs)', async () => {
  if (!IS_ROOT) return { skip: 'needs root to mount a tmpfs' };
  const config = `title: soak
vars:
  salt: 0
sweep:
  n: [${Array.from({ length: 60 }, (_, i) => i + 1).join(', ')}]
stages:
  source:
    stage: source
    params: { n: "\${n}", seed: "\${salt}" }
  scale:
    stage: scale
    inputs: { x: source }
    params: { factor: 2 }
  total:
    stage: sum
    inputs: { xs: [scale] }
`;
  const dir = makeProject(config);
  const mnt = join(dir, 'mnt');
  mkdirSync(mnt);
  const mount = (args) => spawnSync('mount', args, { encoding: 'utf8' });
  const m = mount(['-t', 'tmpfs', '-o', 'size=2m,nr_inodes=200', 'tmpfs', mnt]);
  if (m.status !== 0) return { skip: `mount failed: ${m.stderr.trim()}` };
  const cache = join(mnt, 'cache');
  const rows = [];
  let ok = true;
  const judge = (label, r, want) => {
    const lines = r.err.split('\n').filter((l) => l.trim() && !/^\[\d+s\] /.test(l));
    const stacks = stackLines(r.err);
    const cause = lines.filter((l) => want.test(l)).length;
    // One message (a line or two), not one per node: the run stops at the fault.
    const pass = !r.timedOut && r.code !== 0 && !stacks && cause >= 1 && cause <= 2;
    if (!pass) ok = false;
    rows.push(`${label}: ${r.timedOut ? 'HUNG (killed at 30 s)' : `exit ${r.code} in ${(r.ms / 1000).toFixed(1)} s`}, ${lines.length} stderr lines, ${cause} naming the cause, ${stacks} stack frames: "${firstLines(r.err, 2)}"`);
  };
  const keep = process.env.SOAK_SHOW_STDERR ? (label, r) => process.stderr.write(`--- ${label} stderr:\n${r.err}\n`) : () => {};
  try {
    const full = await cli(dir, ['run', 'soak', '--cache-dir', cache], {}, 30_000);
    keep('full', full);
    judge('2 MB / 200 inodes', full, /ENOSPC|no space|space left|disk is full|cache is full/i);
    // Again on the cache that is still full (--json: the summary goes to stdout).
    const again = await cli(dir, ['run', 'soak', '--json', '--cache-dir', cache, '--set', 'salt=2'], {}, 30_000);
    keep('again', again);
    judge('again, still full (--json)', again, /ENOSPC|no space|space left|disk is full|cache is full/i);
    const c1 = checkCache(cache);
    if (c1.half.length) ok = false;
    rows.push(`${c1.entries.length} entries, ${c1.half.length} corrupt`);
    mount(['-o', 'remount,size=64m,nr_inodes=100000', mnt]);
    const re = await cli(dir, ['run', 'soak', '--json', '--cache-dir', cache], {}, 60_000);
    const s = json(re);
    const resumed = re.code === 0 && s && !s.failed && !checkCache(cache).half.length;
    if (!resumed) ok = false;
    rows.push(`after remount to 64 MB: ${resumed ? `resumed (${s.ran} ran, ${s.cached} cached)` : `exit ${re.code}: ${firstLines(re.err)}`}`);
    mount(['-o', 'remount,ro', mnt]);
    const ro = await cli(dir, ['run', 'soak', '--cache-dir', cache, '--set', 'salt=1'], {}, 30_000);
    keep('ro', ro);
    judge('read-only', ro, /EROFS|read-only|read only/i);
    const noop = await cli(dir, ['run', 'soak', '--json', '--cache-dir', cache], {}, 30_000);
    rows.push(`no-op run on the read-only cache: exit ${noop.code}`);
    if (checkCache(cache).half.length) ok = false;
    // Room for the nodes but not for the run history (30 inodes, 6 nodes): the write of refs/ fails last.
    spawnSync('umount', [mnt]);
    mount(['-t', 'tmpfs', '-o', 'size=2m,nr_inodes=30', 'tmpfs', mnt]);
    writeFileSync(join(dir, 'configs', 'hist.yml'), 'sweep:\n  n: [1, 2, 3, 4, 5, 6]\nstages:\n  source:\n    stage: source\n    params: { n: "${n}" }\n');
    const hist = await cli(dir, ['run', 'hist', '--cache-dir', cache], {}, 30_000);
    keep('history', hist);
    judge('30 inodes, 6 nodes (history write fails)', hist, /ENOSPC|no space|space left|disk is full|cache is full/i);
  } finally {
    spawnSync('umount', [mnt]);
    if (spawnSync('mountpoint', ['-q', mnt]).status === 0) spawnSync('umount', ['-l', mnt]);
  }
  return { n: 4, ok, observed: rows.join(' / ') };
});

def(8, 'two hosts (PID+UTS namespaces)', async () => {
  const reps = N(10, 1);
  const canUnshare = IS_ROOT && spawnSync('unshare', ['--pid', '--uts', '--fork', '--mount-proc', 'true']).status === 0;
  if (!canUnshare) return { skip: 'needs root and unshare --pid --uts --mount-proc' };
  const config = `title: soak
vars:
  salt: 0
sweep:
  n: [1, 2, 3, 4, 5, 6]
stages:
  source:
    stage: source
    params: { n: "\${n}", seed: "\${salt}" }
  wait:
    stage: slow
    inputs: { x: source }
    params: { ms: 700 }
  total:
    stage: sum
    inputs: { xs: [wait] }
`;
  const dir = makeProject(config);
  const onHost = (host, burn, cache, salt) => {
    const script = `hostname ${host} && for i in $(seq ${burn}); do /bin/true; done && exec "${process.execPath}" "${BIN}" run soak --json --jobs 2 --cache-dir "${cache}" --set salt=${salt}`;
    return start(dir, ['--pid', '--uts', '--fork', '--mount-proc', 'sh', '-c', script], {}, ['unshare']).done;
  };
  let twice = 0;
  let failed = 0;
  let disagree = 0;
  const notes = [];
  const walls = [];
  for (let rep = 0; rep < reps; rep++) {
    const cache = join(dir, `cache${rep}`);
    const [a, b] = await Promise.all([onHost('hostA', 0, cache, rep), onHost('hostB', 5 + rep, cache, rep)]);
    walls.push(Math.max(a.ms, b.ms));
    const sa = json(a);
    const sb = json(b);
    if (a.code !== 0 || b.code !== 0 || !sa || !sb) {
      failed++;
      notes.push(`rep ${rep}: exits ${a.code}/${b.code}: ${firstLines(a.err + b.err)}`);
      continue;
    }
    const ran = (st) => sa.nodes.filter((n) => n.stage === st && n.status === 'ran').length + sb.nodes.filter((n) => n.stage === st && n.status === 'ran').length;
    const r = [ran('source'), ran('wait'), ran('total')];
    if (r[0] > 6 || r[1] > 6 || r[2] > 1) {
      twice++;
      notes.push(`rep ${rep}: ran ${r.join('/')} (expected 6/6/1)`);
    }
    const keys = (s) => s.nodes.map((n) => `${n.id}=${n.key}`).sort().join();
    if (keys(sa) !== keys(sb)) disagree++;
  }
  return {
    n: reps,
    ok: !twice && !failed && !disagree,
    observed: `${twice} reps with a node run twice (stolen lock); ${failed} reps with a failed build (a deleted staging folder fails a node); ${disagree} reps where the hosts' keys differ; wall per rep ${stat(walls)} ms${notes.length ? `; ${notes.slice(0, 3).join(' / ')}` : ''}`,
  };
});

def(9, 'two local runs share the work', async () => {
  const config = `title: soak
sweep:
  n: [1, 2, 3, 4, 5, 6]
stages:
  source:
    stage: source
    params: { n: "\${n}" }
  wait:
    stage: slow
    inputs: { x: source }
    params: { ms: ${Q(1000, 400)} }
`;
  const dir = makeProject(config);
  await cli(dir, ['plan', 'soak']); // bundles the stages once, outside the timings
  const alone = await cli(dir, ['run', 'soak', '--json', '--jobs', '1', '--cache-dir', join(dir, 'alone')]);
  const pair = join(dir, 'pair');
  const t0 = performance.now();
  const [a, b] = await Promise.all([cli(dir, ['run', 'soak', '--json', '--jobs', '1', '--cache-dir', pair]), cli(dir, ['run', 'soak', '--json', '--jobs', '1', '--cache-dir', pair])]);
  const wall = performance.now() - t0;
  const sa = json(a);
  const sb = json(b);
  if (alone.code || a.code || b.code || !sa || !sb) return { ok: false, observed: `exits: alone ${alone.code}, pair ${a.code}/${b.code}: ${firstLines(alone.err + a.err + b.err)}` };
  const ran = (s) => s.nodes.filter((n) => n.stage === 'wait' && n.status === 'ran').length;
  const split = `${ran(sa)}+${ran(sb)}`;
  const ok = ran(sa) + ran(sb) === 6 && ran(sa) > 0 && ran(sb) > 0 && wall < alone.ms;
  return { n: 1, ok, observed: `one run alone ${(alone.ms / 1000).toFixed(1)} s; the pair ${(wall / 1000).toFixed(1)} s (${(a.ms / 1000).toFixed(1)} s and ${(b.ms / 1000).toFixed(1)} s), slow nodes split ${split}` };
});

/** Job files of the slurm executor in a cache: the node keys of every task. */
/**
 * The keys of every job file Slurm accepted: a job carries its file in --comment, and squeue keeps
 * finished jobs for MinJobAge. A file whose sbatch never happened (the driver was killed between
 * writing it and submitting) is no submission.
 */
function jobKeys(cacheDir, env) {
  const out = [];
  const root = join(cacheDir, 'jobs');
  const q = spawnSync('squeue', ['--noheader', '--states=all', '--format=%k'], { encoding: 'utf8', env: { ...process.env, ...env } });
  const submitted = new Set(q.stdout.split('\n').map((l) => l.trim()).filter(Boolean));
  for (const run of ls(root)) {
    for (const f of ls(join(root, run))) {
      if (!/^\d+\.json$/.test(f) || !submitted.has(join(root, run, f))) continue;
      try {
        const doc = JSON.parse(readFileSync(join(root, run, f), 'utf8'));
        out.push({ file: `${run}/${f}`, keys: doc.tasks.flat().map((n) => n.key) });
      } catch (e) {
        out.push({ file: `${run}/${f}`, keys: [], error: e.message });
      }
    }
  }
  return out;
}

let slurmStarted = false;
const SLURM_DIR = process.env.PIPELINE_SOAK_SLURM_DIR ?? '/tmp/pipeline-soak-slurm';
const SLURM_PORT = process.env.PIPELINE_SOAK_SLURM_PORT ?? '20817';

def(10, 'slurm: driver kills, TIMEOUT', async () => {
  if (!IS_ROOT && !existsSync(join(SLURM_DIR, 'slurm.conf'))) return { skip: 'not root and no cluster up' };
  const wasUp = existsSync(join(SLURM_DIR, 'run', 'slurmctld.pid'));
  const up = spawnSync('bash', [join(ROOT, 'scripts', 'slurm', 'up.sh')], { encoding: 'utf8', env: { ...process.env, PIPELINE_SLURM_DIR: SLURM_DIR, PIPELINE_SLURM_PORT: SLURM_PORT, PIPELINE_SLURM_MIN_JOB_AGE: '600' } });
  if (up.status !== 0) return { skip: `scripts/slurm/up.sh could not start a cluster: ${up.stderr.trim().split('\n').pop()}` };
  slurmStarted = !wasUp;
  const env = { SLURM_CONF: join(SLURM_DIR, 'slurm.conf') };
  const kills = N(10, 1);
  const config = `title: soak
vars:
  salt: 0
  ms: 3000
sweep:
  n: [1, 2, 3, 4]
stages:
  source:
    stage: source
    params: { n: "\${n}", seed: "\${salt}" }
  wait:
    stage: slow
    inputs: { x: source }
    params: { ms: "\${ms}" }
  total:
    stage: sum
    inputs: { xs: [source] }
`;
  const dir = makeProject(config);
  const cache = join(dir, 'cache');
  const slurm = ['--executor', 'slurm', '--slurm-nodes-per-job', '1'];
  const problems = [];
  let failedReruns = 0;
  let half = 0;
  const rerunMs = [];
  for (let i = 0; i < kills; i++) {
    const set = ['--set', `salt=${i}`];
    const p = start(dir, ['run', 'soak', '--json', ...slurm, ...set], env);
    await sleep(uniform(500, 8000));
    if (p.child.exitCode === null) p.child.kill('SIGKILL');
    await p.done;
    half += checkCache(cache).half.length;
    const re = await cli(dir, ['run', 'soak', '--json', ...slurm, ...set], env, 120_000);
    rerunMs.push(re.ms);
    const s = json(re);
    if (re.code !== 0 || !s || s.failed) {
      failedReruns++;
      problems.push(`rerun ${i}: exit ${re.code}${re.timedOut ? ' (timed out at 120 s)' : ''}: ${firstLines(re.err)}`);
    }
  }
  half += checkCache(cache).half.length;
  const seen = new Map();
  for (const f of jobKeys(cache, env)) for (const k of f.keys) seen.set(k, (seen.get(k) ?? 0) + 1);
  const twice = [...seen.values()].filter((n) => n > 1).length;
  let ok = !failedReruns && !half && !twice;
  const rows = [`${kills} driver kills: ${twice} node keys in more than one submitted job (of ${seen.size}), ${half} corrupt, ${failedReruns} failed reruns, rerun ${stat(rerunMs)} ms${problems.length ? ` (${problems.slice(0, 2).join('; ')})` : ''}`];
  if (!QUICK) {
    // A job past --slurm-time=1 (a node sleeping 90 s): failed with state TIMEOUT; then a rerun with room completes.
    const tset = ['--set', 'salt=900', '--set', 'ms=90000', '--set', 'sweep.n=[1]'];
    const t = await cli(dir, ['run', 'soak', '--json', ...slurm, '--slurm-time=1', ...tset], env, 240_000);
    const st = json(t);
    const w = st?.nodes.find((n) => n.stage === 'wait');
    const timeout = t.code === 1 && w?.status === 'failed' && /TIMEOUT/.test(w.error ?? '');
    const re = await cli(dir, ['run', 'soak', '--json', ...slurm, '--slurm-time=5', '--set', 'salt=900', '--set', 'ms=2000', '--set', 'sweep.n=[1]'], env, 240_000);
    const sr = json(re);
    const done = re.code === 0 && sr && !sr.failed;
    if (!timeout || !done) ok = false;
    rows.push(`--slurm-time=1, 90 s node: exit ${t.code} after ${(t.ms / 1000).toFixed(0)} s, ${w ? `${w.status}: ${(w.error ?? '').split('\n')[0].slice(0, 120)}` : 'no wait node in the summary'}; rerun (--slurm-time=5, 2 s): ${done ? `completed in ${(re.ms / 1000).toFixed(1)} s` : `exit ${re.code}: ${firstLines(re.err)}`}`);
  } else rows.push('TIMEOUT: full soak only');
  return { n: kills, ok, observed: rows.join(' / ') };
}, true);

def(12, 'kill -9 of run while command nodes run', async () => {
  // Command nodes (a shell program that ignores SIGTERM and leaves a background sleep 600 in its
  // group, sleeps, then writes) under random kill -9 of the driver: no
  // process of the killed run may be left, no half entry, and every resume completes with the
  // digests of an uninterrupted build.
  const kills = N(20, 3);
  const config = `title: soak
sweep:
  n: [1, 2, 3, 4, 5, 6, 7, 8]
stages:
  work:
    stage: command
    params: { n: "\${n}" }
    shell: "trap '' TERM; sleep 600 & sleep 0.${Q(4, 2)}; echo \\"$(cat $PIPELINE_PARAMS)\\" > $PIPELINE_OUT/v.json"
    outputs: [v.json]
  total:
    stage: sum
    inputs: { xs: { from: work, gather: true } }
`;
  const extra = { 'stages/sum.ts': TOY_STAGES['stages/sum.ts'].replace("h.json('value.json').v", "h.json('v.json').n") };
  const dir = makeProject(config, extra);
  const ref = await cli(dir, ['run', 'soak', '--json', '--jobs', '2', '--cache-dir', join(dir, 'ref')]);
  if (ref.code !== 0) return { ok: false, observed: `the uninterrupted run failed: exit ${ref.code}: ${firstLines(ref.err)}` };
  const want = lastRun(join(dir, 'ref'));
  const cache = join(dir, 'cache');
  const problems = [];
  let left = 0;
  let half = 0;
  let wrong = 0;
  let landed = 0;
  for (let i = 0; i < kills; i++) {
    const p = start(dir, ['run', 'soak', '--jobs', '2', '--cache-dir', cache]);
    await sleep(uniform(150, ref.ms));
    const running = descendants(p.child.pid).filter((d) => d.cmd.includes('sleep')).length;
    if (p.child.exitCode === null) p.child.kill('SIGKILL');
    await p.done;
    if (running) landed++;
    // The watchdog ends the groups at once (SIGTERM), SIGKILL after 2 s.
    await sleep(2500);
    const stray = [];
    for (const pid of ls('/proc')) {
      if (!/^\d+$/.test(pid)) continue;
      try {
        // A command's processes inherit PIPELINE_OUT, a folder under this cache.
        if (readFileSync(`/proc/${pid}/environ`, 'utf8').includes(`PIPELINE_OUT=${cache}`)) stray.push(pid);
      } catch {
      }
    }
    if (stray.length) {
      left += stray.length;
      problems.push(`kill ${i}: ${stray.length} processes left`);
      for (const pid of stray) try { process.kill(Number(pid), 'SIGKILL'); } catch {}
    }
    const c = checkCache(cache);
    if (c.half.length) {
      half += c.half.length;
      problems.push(`kill ${i}: ${c.half.slice(0, 2).join('; ')}`);
    }
    const r = await cli(dir, ['run', 'soak', '--json', '--jobs', '2', '--cache-dir', cache]);
    const got = lastRun(cache);
    if (r.code !== 0 || JSON.stringify(got) !== JSON.stringify(want)) {
      wrong++;
      problems.push(`resume ${i}: exit ${r.code} ${r.code ? firstLines(r.err) : 'digests differ from the uninterrupted build'}`);
    }
    rmSync(cache, { recursive: true, force: true });
  }
  const ok = !left && !half && !wrong;
  return { n: kills, ok, observed: `${kills} kills (${landed} while a command ran); ${left} processes left; ${half} half entries; ${wrong} resumes without the uninterrupted digests${problems.length ? `; ${problems.slice(0, 4).join(' / ')}` : ''}` };
});

def(11, 'bad-input matrix (test/soak/bad-inputs.mjs)', async () => {
  const file = join(ROOT, 'test', 'soak', 'bad-inputs.mjs');
  if (!existsSync(file)) return { skip: 'test/soak/bad-inputs.mjs does not exist in this tree' };
  const r = spawnSync(process.execPath, [file], { cwd: ROOT, encoding: 'utf8', timeout: 600_000 });
  const m = /(\d+) passed, (\d+) failed/.exec(r.stdout.trim().split('\n').pop() ?? '');
  if (!m) return { ok: false, observed: `no "N passed, N failed" line; exit ${r.status}: ${firstLines(r.stdout + r.stderr)}` };
  return { n: Number(m[1]) + Number(m[2]), ok: m[2] === '0' && r.status === 0, observed: `${m[0]} (exit ${r.status})` };
});

def(13, 'remote cache: a 1 GB output pushed and pulled (nginx)', async () => {
  // Streamed both ways: the CLI's peak RSS (VmHWM, polled) must stay under 300 MB. The full soak's
  // case (minutes); soak:quick runs it (64 MB) only when asked for with --only 13.
  if (QUICK && !ONLY?.includes(13)) return { skip: 'full soak only (npm run soak): 1 GB each way' };
  const MB = Q(1024, 64);
  const srv = join(TMP, 'remote-server');
  const up = spawnSync('bash', [join(ROOT, 'scripts', 'remote', 'up.sh'), srv], { encoding: 'utf8' });
  if (up.status !== 0) return IS_ROOT ? { ok: false, observed: `scripts/remote/up.sh failed: ${firstLines(up.stderr)}` } : { skip: `no nginx and not root: ${firstLines(up.stderr)}` };
  const url = up.stdout.trim();
  try {
    const blob = `export default {\n  description: 'mb megabytes',\n  params: { mb: { type: 'integer', doc: 'size' } },\n  run({ params }) { const b = new Uint8Array(params.mb << 20); for (let i = 0; i < b.length; i += 4096) b[i] = i % 251; return { 'blob.bin': b }; },\n};\n`;
    const config = `stages:\n  blob:\n    stage: blob\n    params: { mb: ${MB} }\n`;
    const a = makeProject(config, { 'stages/blob.ts': blob });
    const b = makeProject(config, { 'stages/blob.ts': blob });
    const keys = join(TMP, 'remote-keys');
    mkdirSync(keys, { recursive: true });
    await cli(a, ['remote', 'keygen', '-o', join(keys, 'w')]);
    const env = { PIPELINE_REMOTE_KEY: join(keys, 'w.key'), PIPELINE_REMOTE_TRUST: join(keys, 'w.pub') };
    const built = await cli(a, ['run', 'soak', '--json'], env, 600_000);
    if (built.code !== 0) return { ok: false, observed: `build exit ${built.code}: ${firstLines(built.err)}` };
    /** Runs the CLI, polling its peak RSS. */
    const peak = async (dir, args) => {
      const p = start(dir, args, env);
      let hwm = 0;
      const poll = setInterval(() => {
        try {
          const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${p.child.pid}/status`, 'utf8'));
          if (m) hwm = Math.max(hwm, Number(m[1]) / 1024);
        } catch {}
      }, 50);
      const r = await p.done;
      clearInterval(poll);
      return { ...r, mb: hwm };
    };
    const push = await peak(a, ['push', 'soak', '--remote', url, '-q']);
    const pull = await peak(b, ['pull', 'soak', '--remote', url, '-q']);
    const run = await cli(b, ['run', 'soak', '--json'], env);
    const s = json(run);
    const whole = checkCache(join(b, 'cache')).half.length === 0;
    const ok = push.code === 0 && pull.code === 0 && s?.ran === 0 && whole && push.mb < 300 && pull.mb < 300;
    return {
      n: 1,
      ok,
      observed: `${MB} MB output: push exit ${push.code} in ${(push.ms / 1000).toFixed(1)} s, peak RSS ${push.mb.toFixed(0)} MB; pull exit ${pull.code} in ${(pull.ms / 1000).toFixed(1)} s, peak RSS ${pull.mb.toFixed(0)} MB; then run: ${s ? `${s.ran} ran` : `exit ${run.code}`}; pulled entry ${whole ? 'whole' : 'NOT whole'}${push.code || pull.code ? ` (${firstLines(push.err + pull.err)})` : ''}`,
    };
  } finally {
    spawnSync('bash', [join(ROOT, 'scripts', 'remote', 'down.sh'), srv]);
  }
});

// ------------------------------------------------------------------------------------------ main
async function main() {
  const t0 = performance.now();
  process.stdout.write(`soak${QUICK ? ' (quick)' : ''}: seed ${SEED}, temp ${TMP}, ${cpus().length} cores, load average ${loadavg().map((l) => l.toFixed(1)).join(' ')}\n`);
  // The CLI bundle, made once before any timing.
  spawnSync(process.execPath, [BIN, 'ls'], { cwd: ROOT, stdio: 'ignore' });
  process.stdout.write('| # | case | n | result | s | observed |\n|---|---|---|---|---|---|\n');
  let passed = 0;
  let failed = 0;
  const runCase = async (c) => {
    const t = performance.now();
    let r;
    try {
      r = await c.fn();
    } catch (e) {
      r = { ok: false, observed: `the case itself threw: ${e.stack ?? e}` };
    }
    const secs = ((performance.now() - t) / 1000).toFixed(1);
    const result = r.skip ? 'skip' : r.ok ? 'pass' : 'FAIL';
    if (!r.skip) r.ok ? passed++ : failed++;
    process.stdout.write(`| ${c.id} | ${c.name} | ${r.n ?? '-'} | ${result} | ${secs} | ${(r.skip ?? r.observed).replace(/\|/g, '/').replace(/\n/g, ' ')} |\n`);
  };
  const chosen = CASES.filter((c) => !ONLY || ONLY.includes(c.id));
  // Background cases start first and run beside the others (their rows come when they end).
  const background = chosen.filter((c) => c.background && !flag('--serial')).map(runCase);
  for (const c of chosen) if (!c.background || flag('--serial')) await runCase(c);
  await Promise.all(background);
  if (slurmStarted && !flag('--keep-slurm')) spawnSync('bash', [join(ROOT, 'scripts', 'slurm', 'down.sh')], { env: { ...process.env, PIPELINE_SLURM_DIR: SLURM_DIR }, stdio: 'ignore' });
  if (!flag('--keep')) rmSync(TMP, { recursive: true, force: true });
  process.stdout.write(`\nwall ${((performance.now() - t0) / 1000).toFixed(1)} s\n${passed} passed, ${failed} failed\n`);
  process.exit(failed ? 1 : 0);
}

await main();
