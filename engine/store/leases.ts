/**
 * Leases: files that say "this process is doing X" (holding a node's lock, running a build,
 * collecting garbage), safe on a filesystem shared by many hosts.
 *
 * - A lease file holds its owner (owner.ts: host, boot id, pid, start time) and is created whole
 *   (written to a private temp name, then hard-linked into place: link fails if the name exists,
 *   atomically, on local filesystems and on NFS alike).
 * - Its holder refreshes the file's mtime every HEARTBEAT seconds (one timer per process).
 * - A lease is stale when its owner is a process of this machine that has ended (decided at
 *   once), or when its mtime is older than LEASE seconds (any host: a holder that stopped
 *   heartbeating is dead or hung). Hosts' clocks must agree to well within LEASE (NTP).
 * - A stale lease is taken over by renaming it away (only one renamer wins), checking that what
 *   was renamed is what was judged stale, then creating a new one.
 */
import { linkSync, readFileSync, renameSync, rmSync, statSync, unlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { describeOwner, localLiveness, ownerTag, self, type Owner } from './owner.ts';

export type LeaseRole = 'lock' | 'run' | 'gc' | 'clean' | 'exec' | 'verify';

export interface LeaseRecord extends Owner {
  role: LeaseRole;
  since: string;
  /** What the holder is doing, for messages (a node id, a target). */
  what?: string;
}

/** Seconds without a heartbeat after which any lease is stale. */
export function leaseSeconds(): number {
  const v = Number(process.env.PIPELINE_LEASE_SECONDS ?? 60);
  return Number.isFinite(v) && v > 0 ? v : 60;
}

function heartbeatMs(): number {
  return Math.max(200, Math.min(10_000, (leaseSeconds() * 1000) / 4));
}

export type LeaseState =
  | { state: 'free' }
  | { state: 'live'; holder?: LeaseRecord; ageSeconds: number; text: string }
  | { state: 'stale'; holder?: LeaseRecord; reason: string; text: string };

function parse(text: string): LeaseRecord | undefined {
  try {
    const r = JSON.parse(text) as LeaseRecord;
    if (typeof r.host === 'string' && typeof r.boot === 'string' && Number.isInteger(r.pid) && typeof r.start === 'string') return r;
  } catch {
    // a lock of an older version (a bare pid), or damage: judged by its age alone
  }
  return undefined;
}

export function inspectLease(path: string, now = Date.now()): LeaseState {
  let text: string;
  let mtime: number;
  try {
    text = readFileSync(path, 'utf8');
    mtime = statSync(path).mtimeMs;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { state: 'free' };
    throw e;
  }
  const holder = parse(text);
  const ageSeconds = Math.max(0, (now - mtime) / 1000);
  if (holder && localLiveness(holder) === 'dead') return { state: 'stale', holder, reason: `${describeOwner(holder)} has ended`, text };
  if (ageSeconds > leaseSeconds()) {
    return { state: 'stale', holder, reason: `${holder ? describeOwner(holder) : 'an unrecognised holder'} has not refreshed it for ${ageSeconds.toFixed(0)} s (lease ${leaseSeconds()} s)`, text };
  }
  return { state: 'live', holder, ageSeconds, text };
}

export function describeHolder(s: LeaseState): string {
  if (s.state === 'free') return 'nobody';
  const h = s.holder;
  if (!h) return `a lock file of an unknown format (an older version's?), taken over once it has gone ${leaseSeconds()} s without a refresh`;
  return `${h.role === 'lock' ? '' : `${h.role} `}${describeOwner(h)}${h.what ? ` (${h.what})` : ''} since ${h.since}`;
}

/** One timer per process refreshes the mtime of every lease it holds. */
class Heartbeat {
  private readonly paths = new Set<string>();
  private timer: NodeJS.Timeout | undefined;
  /** Leases found gone on a beat: taken over by another process that judged us dead. */
  readonly lost = new Set<string>();

  add(path: string): void {
    this.paths.add(path);
    if (!this.timer) {
      this.timer = setInterval(() => this.beat(), heartbeatMs());
      this.timer.unref();
    }
  }

  remove(path: string): void {
    this.paths.delete(path);
    if (!this.paths.size && this.timer) {
      clearInterval(this.timer);
      this.timer = undefined;
    }
  }

  held(): string[] {
    return [...this.paths];
  }

  beat(): void {
    const now = new Date();
    for (const p of this.paths) {
      try {
        utimesSync(p, now, now);
      } catch {
        this.lost.add(p);
        this.paths.delete(p);
      }
    }
  }
}

export const heartbeat = new Heartbeat();

let tmpCount = 0;

/** Creates a lease file whole; false when the name exists. */
export function createLease(path: string, role: LeaseRole, what?: string): boolean {
  const rec: LeaseRecord = { ...self(), role, since: new Date().toISOString(), ...(what ? { what } : {}) };
  const tmp = `${path}.${ownerTag(self())}.${tmpCount++}.tmp`;
  writeFileSync(tmp, JSON.stringify(rec));
  try {
    linkSync(tmp, path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw e;
  } finally {
    rmSync(tmp, { force: true });
  }
  heartbeat.add(path);
  return true;
}

/**
 * Removes a stale lease judged from `seen`; false when another process changed it first (took
 * it over, or its holder refreshed it by rewriting).
 */
export function removeStale(path: string, seen: Extract<LeaseState, { state: 'stale' }>): boolean {
  const aside = `${path}.stale.${ownerTag(self())}.${tmpCount++}`;
  try {
    renameSync(path, aside);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw e;
  }
  let text = '';
  try {
    text = readFileSync(aside, 'utf8');
  } catch {
    // gone: someone else's aside? cannot happen with our unique name
  }
  if (text !== seen.text) {
    // We renamed a lease that another process created after our look: give it back.
    try {
      linkSync(aside, path);
    } catch {
      // a third process created one meanwhile; the one we moved is lost, its holder will notice
    }
    rmSync(aside, { force: true });
    return false;
  }
  rmSync(aside, { force: true });
  return true;
}

/** Ends a lease this process holds (only if the file is still ours). */
export function releaseLease(path: string): void {
  heartbeat.remove(path);
  try {
    const rec = parse(readFileSync(path, 'utf8'));
    const me = self();
    if (rec && rec.pid === me.pid && rec.start === me.start && rec.host === me.host) unlinkSync(path);
  } catch {
    // already gone
  }
}

/**
 * Takes a lease: creates it, or takes over a stale one. Returns undefined when taken, or the
 * live holder's state.
 */
export function acquireLease(path: string, role: LeaseRole, what?: string): Extract<LeaseState, { state: 'live' }> | undefined {
  for (let attempt = 0; attempt < 3; attempt++) {
    if (createLease(path, role, what)) return undefined;
    const s = inspectLease(path);
    if (s.state === 'live') return s;
    if (s.state === 'stale') removeStale(path, s);
  }
  const s = inspectLease(path);
  return s.state === 'live' ? s : { state: 'live', ageSeconds: 0, text: '' };
}
