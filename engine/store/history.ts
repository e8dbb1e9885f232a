/**
 * Run history of a cache: per target, the node keys of its last runs (explanations, `gc
 * --keep-last`, `diff`), and a small summary of the last run (node id -> key and digest), the only
 * thing a no-op run reads.
 *
 *   refs/<target>.json        the last MAX_RUNS_KEPT runs, newest first
 *   refs/<target>.last.json   the last run: id -> [key, digest]
 */
import { existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from './files.ts';

export interface RunRef {
  time: string;
  profile: string;
  nodes: Record<string, string>;
}

const MAX_RUNS_KEPT = 20;

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

  /** The last run of a target: node id -> [key, output digest] (small: a no-op run reads only this). */
  readLastRun(target: string): Map<string, { key: string; digest: string }> {
    try {
      const doc = JSON.parse(readFileSync(join(this.dir, `${target}.last.json`), 'utf8')) as Record<string, [string, string]>;
      return new Map(Object.entries(doc).map(([id, [key, digest]]) => [id, { key, digest }]));
    } catch {
      return new Map();
    }
  }

  /** Records a run: the history and the last-run summary. */
  addRun(target: string, run: RunRef, digests: Record<string, string>): void {
    mkdirSync(this.dir, { recursive: true });
    const last = Object.fromEntries(Object.entries(run.nodes).map(([id, key]) => [id, [key, digests[id]]]));
    writeFileAtomic(join(this.dir, `${target}.last.json`), JSON.stringify(last));
    const runs = [run, ...this.readRefs(target)].slice(0, MAX_RUNS_KEPT);
    writeFileAtomic(join(this.dir, `${target}.json`), JSON.stringify(runs));
  }
}
