/**
 * Run history of a cache: per target, the node keys of its last runs (explanations, `gc
 * --keep-last`, `diff`), and a small summary of the last run (node id -> key and digest), the only
 * thing a no-op run reads.
 *
 *   refs/<target>.json        the last MAX_RUNS_KEPT runs, newest first
 *   refs/<target>.last.json   the last run: id -> [key, digest, stamp]
 *
 * The last-run file is a hint, never truth: the scheduler trusts a recorded digest only when the
 * entry's meta.json still has the stamp recorded beside it (metaStamp: size, mtime in ns, inode,
 * and a short hash binding them to the key and digest). A stale, damaged or edited hint then
 * costs a read of meta.json, never a wrong key downstream (issue 18: zeroed digests in this file
 * once collapsed the repeats of fig3 onto one key).
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { sha256 } from '../keys/hash.ts';
import { join } from 'node:path';
import { writeFileAtomic } from './files.ts';

export interface RunRef {
  time: string;
  profile: string;
  nodes: Record<string, string>;
}

const MAX_RUNS_KEPT = 20;

/** What the last run recorded of a node: its key, its output digest, and the stamp of its meta. */
export interface LastRunEntry {
  key: string;
  digest: string;
  stamp?: string;
}

/**
 * A cheap fingerprint of an entry's meta.json (one stat), bound to the key and digest a hint
 * claims for it: any change of the file, or of the claimed key or digest, changes the stamp.
 * Undefined when the file is absent.
 */
export function metaStamp(metaPath: string, key: string, digest: string): string | undefined {
  let st;
  try {
    st = statSync(metaPath, { bigint: true });
  } catch {
    return undefined;
  }
  const id = `${st.size}.${st.mtimeNs}.${st.ino}`;
  return `${id}.${sha256(`${key}\0${digest}\0${id}`).slice(0, 16)}`;
}

export class RunHistory {
  constructor(private readonly dir: string) {}

  readRefs(target: string): RunRef[] {
    try {
      return JSON.parse(readFileSync(join(this.dir, `${target}.json`), 'utf8')) as RunRef[];
    } catch {
      return [];
    }
  }

  allRefs(): Record<string, RunRef[]> {
    if (!existsSync(this.dir)) return {};
    return Object.fromEntries(
      readdirSync(this.dir)
        .filter((f) => f.endsWith('.json') && !f.endsWith('.last.json'))
        .map((f) => [f.slice(0, -5), this.readRefs(f.slice(0, -5))]),
    );
  }

  /**
   * The last run of a target: node id -> key, output digest, meta stamp (small: a no-op run reads
   * only this). Rows that are not three strings are left out (their nodes read meta.json).
   */
  readLastRun(target: string): Map<string, LastRunEntry> {
    try {
      const doc = JSON.parse(readFileSync(join(this.dir, `${target}.last.json`), 'utf8')) as Record<string, unknown>;
      const out = new Map<string, LastRunEntry>();
      for (const [id, row] of Object.entries(doc)) {
        if (!Array.isArray(row) || typeof row[0] !== 'string' || typeof row[1] !== 'string') continue;
        out.set(id, { key: row[0], digest: row[1], ...(typeof row[2] === 'string' ? { stamp: row[2] } : {}) });
      }
      return out;
    } catch {
      return new Map();
    }
  }

  /** Records a run: the history and the last-run summary (stamp: see metaStamp). */
  addRun(target: string, run: RunRef, digests: Record<string, string>, stamp: (key: string, digest: string) => string | undefined): void {
    mkdirSync(this.dir, { recursive: true });
    const last = Object.fromEntries(Object.entries(run.nodes).map(([id, key]) => [id, [key, digests[id], stamp(key, digests[id]) ?? '']]));
    writeFileAtomic(join(this.dir, `${target}.last.json`), JSON.stringify(last));
    const runs = [run, ...this.readRefs(target)].slice(0, MAX_RUNS_KEPT);
    writeFileAtomic(join(this.dir, `${target}.json`), JSON.stringify(runs));
  }
}
