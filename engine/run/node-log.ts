/**
 * A failed node's log: what the terminal shows in one line (id, stage, message), here in full with
 * the stack and the stage's own log lines. One file per key under <cache>/logs/, replaced when the
 * node fails again; a node that later succeeds keeps its log in meta.json instead.
 */
import { existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { canonicalJson } from '../keys/hash.ts';

/** An error from a job, with the worker's stack kept apart from the one-line message. */
export class JobError extends Error {
  constructor(
    message: string,
    readonly workerStack?: string,
    readonly log: string[] = [],
  ) {
    super(message);
    this.name = 'JobError';
  }
}

export interface FailureRecord {
  id: string;
  stage: string;
  kind: string;
  key: string;
  params: Record<string, unknown>;
  error: unknown;
}

export function logsDir(cacheDir: string): string {
  return join(cacheDir, 'logs');
}

/** Writes the failure's log; returns its path (never throws: a log is a courtesy, not the result). */
export function writeFailureLog(cacheDir: string, f: FailureRecord): string | undefined {
  const e = f.error;
  const stack = e instanceof JobError ? e.workerStack : e instanceof Error ? e.stack : undefined;
  const message = e instanceof Error ? e.message : String(e);
  const text = [
    `node:   ${f.id}`,
    `stage:  ${f.stage} (${f.kind})`,
    `key:    ${f.key}`,
    `params: ${canonicalJson(f.params)}`,
    '',
    `error:  ${message}`,
    '',
    stack ?? '(no stack)',
    ...(e instanceof JobError && e.log.length ? ['', 'stage log:', ...e.log] : []),
    '',
  ].join('\n');
  try {
    mkdirSync(logsDir(cacheDir), { recursive: true });
    const path = join(logsDir(cacheDir), `${f.key}.log`);
    writeFileSync(path, text);
    return path;
  } catch {
    return undefined;
  }
}

/** gc: failure logs go with the entries no run keeps (a failed key never has an entry). */
export function removeFailureLogs(cacheDir: string, keep: Set<string>): void {
  const dir = logsDir(cacheDir);
  if (!existsSync(dir)) return;
  for (const f of readdirSync(dir)) if (f.endsWith('.log') && !keep.has(f.slice(0, -4))) rmSync(join(dir, f), { force: true });
}
