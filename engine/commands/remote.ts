/**
 * `pipeline push [target]`, `pipeline pull <target>`, `pipeline remote keygen`: the remote cache
 * (engine/store/remote-*.ts). push and pull take run's target options; both walk the target as
 * `plan` does (keys from upstream digests), so they move exactly the entries `run` would use.
 */
import { chmodSync, existsSync, writeFileSync } from 'node:fs';
import { PipelineError } from '../errors.ts';
import { schedule } from '../run/scheduler.ts';
import { openSession, prepareTarget, previousKeys, type Session } from '../run/session.ts';
import { LayeredStore } from '../store/layered.ts';
import type { RemoteCache } from '../store/remote-cache.ts';
import { openRemote } from '../store/remote-config.ts';
import { RemoteDown } from '../store/remote-http.ts';
import { newKeyPair } from '../store/signing.ts';
import type { TargetOptions } from './shared.ts';

export interface RemoteOptions extends TargetOptions {
  /** --remote URL (else PIPELINE_REMOTE, else the config's remote: block). */
  remote?: string;
}

export interface TransferSummary {
  target: string;
  profile: string;
  remote: string;
  /** Entries moved, already there, and not available (not built locally / not on the server). */
  moved: number;
  present: number;
  unavailable: number;
  files: number;
  bytes: number;
  seconds: number;
  /** Warnings said (each kind once). */
  warnings: number;
}

/** A line on stderr every 2 s while a transfer runs (progress); nothing with --quiet. */
function ticker(verb: string, r: RemoteCache, quiet?: boolean): () => void {
  if (quiet) return () => {};
  const t0 = performance.now();
  const timer = setInterval(() => {
    const s = verb === 'pull' ? r.pulled : r.pushed;
    process.stderr.write(`${verb}: ${s.entries} entries, ${(r.bytesMoved / 1e6).toFixed(1)} MB in ${((performance.now() - t0) / 1000).toFixed(0)} s\n`);
  }, 2000);
  timer.unref();
  return () => clearInterval(timer);
}

function requireRemote(s: Session, opts: RemoteOptions, config: Record<string, unknown> | undefined, locate: (p: string[]) => import('../errors.ts').Location, write: boolean): RemoteCache {
  const remote = openRemote(s.cache, { flag: opts.remote, config, locate, write });
  if (!remote) throw new PipelineError('no remote cache: give --remote URL, set PIPELINE_REMOTE, or add remote: { url: ... } to the target config', { key: '--remote' });
  return remote;
}

/** What pull and push say: the entries' counts, the files and bytes moved, the time since t0. */
function transferSummary(
  target: { name: string; profile: string },
  remote: { http: { where: string }; warnings: { count(): number } },
  counts: Pick<TransferSummary, 'moved' | 'present' | 'unavailable'>,
  moved: { files: number; bytes: number },
  t0: number,
): TransferSummary {
  return { target: target.name, profile: target.profile, remote: remote.http.where, ...counts, files: moved.files, bytes: moved.bytes, seconds: (performance.now() - t0) / 1000, warnings: remote.warnings.count() };
}

/** Fetches a target's entries from the remote cache into the local one, running nothing. */
export async function pullCommand(name: string, opts: RemoteOptions): Promise<TransferSummary> {
  const t0 = performance.now();
  const s = openSession(opts);
  const { target, exp, stages } = await prepareTarget(s, name, opts.profile, opts.set);
  const remote = requireRemote(s, opts, target.remote, target.locate, false);
  const closeLease = s.cache.openLease('run', `pull ${target.name}`);
  const stop = ticker('pull', remote, opts.quiet);
  try {
    const done = await schedule(exp, { cache: s.cache, stages, projectRoot: s.roots.projectRoot, previous: previousKeys(s.cache, target.name), store: new LayeredStore(s.cache, remote) });
    const results = [...done.values()].map((d) => d.result);
    const counts = { moved: results.filter((r) => r.pulled).length, present: results.filter((r) => r.status === 'cached' && !r.pulled).length, unavailable: results.filter((r) => r.status !== 'cached').length };
    return transferSummary(target, remote, counts, remote.pulled, t0);
  } finally {
    stop();
    remote.http.close();
    closeLease();
  }
}

/**
 * Pushes the entries of a target (as configured with these options) that the local cache has:
 * files first, signed manifest last, skipping what the server has.
 */
export async function pushCommand(name: string, opts: RemoteOptions): Promise<TransferSummary> {
  const t0 = performance.now();
  const s = openSession(opts);
  const { target, exp, stages } = await prepareTarget(s, name, opts.profile, opts.set);
  const remote = requireRemote(s, opts, target.remote, target.locate, true);
  const stop = ticker('push', remote, opts.quiet);
  try {
    // The keys of the target's nodes as the local cache has them (plan's walk; nothing runs).
    s.cache.readOnly = true;
    const done = await schedule(exp, { cache: s.cache, stages, projectRoot: s.roots.projectRoot, previous: previousKeys(s.cache, target.name), known: s.cache.readLastRun(target.name) });
    const keys = [...new Set([...done.values()].filter((d) => d.result.status === 'cached').map((d) => d.result.key!))];
    const unavailable = done.size - [...done.values()].filter((d) => d.result.status === 'cached').length;
    const outcomes = await pushKeys(remote, keys);
    return transferSummary(target, remote, { moved: outcomes.pushed, present: outcomes.present, unavailable: unavailable + outcomes.absent }, remote.pushed, t0);
  } finally {
    stop();
    remote.http.close();
  }
}

/** Pushes entries concurrently (the HTTP client bounds the transfers); a server gone ends it with an error. */
export async function pushKeys(remote: RemoteCache, keys: string[]): Promise<{ pushed: number; present: number; absent: number }> {
  const n = { pushed: 0, present: 0, absent: 0 };
  const results = await Promise.allSettled(keys.map((k) => remote.push(k).then((r) => void n[r]++)));
  const failed = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed.length) {
    const first = failed[0].reason as Error;
    const why = first instanceof RemoteDown ? first.message : first.message.split('\n')[0];
    throw new PipelineError(`push to ${remote.http.where} incomplete: ${failed.length} of ${keys.length} entries not written (${why}); ${n.pushed} written. Run push again: what the server has whole is skipped`, {}, 1);
  }
  return n;
}

/** Writes a new ed25519 key pair: <prefix>.key (private, mode 600) and <prefix>.pub. */
export function keygenCommand(prefix: string): { privateFile: string; publicFile: string; signer: string } {
  const privateFile = `${prefix}.key`;
  const publicFile = `${prefix}.pub`;
  for (const f of [privateFile, publicFile]) if (existsSync(f)) throw new PipelineError(`${f} exists: refusing to overwrite a key`);
  const k = newKeyPair();
  writeFileSync(privateFile, k.privatePem, { mode: 0o600 });
  chmodSync(privateFile, 0o600);
  writeFileSync(publicFile, k.publicPem);
  return { privateFile, publicFile, signer: k.signer };
}
