/**
 * Services the suite starts (a Slurm cluster, an nginx for the remote cache, ...) are stopped when
 * the suite ends, also when it fails or is interrupted. A helper that starts one calls
 * `registerService` *before* starting it, with the command that stops it (the project's own down
 * script). Under test/run.mjs the record goes to the folder named by PIPELINE_TEST_SERVICES, and
 * run.mjs runs every recorded stop command after the tests have ended, however they ended
 * (SIGINT/SIGTERM of run.mjs included: it waits for the test process, then stops the services).
 * Run without run.mjs (uvu directly), the stop commands run at this process's exit instead.
 *
 * A service that was already running before the suite asked for it is somebody else's: helpers
 * do not register it, and nothing stops it.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface ServiceRecord {
  /** What it is, for the line run.mjs prints when it stops it ("slurm /tmp/pipeline-slurm-test"). */
  name: string;
  /** The command that stops it: argv, run without a shell. */
  stop: string[];
  /** Extra environment for the stop command (e.g. the state folder the down script reads). */
  env?: Record<string, string>;
}

const registered = new Set<string>();
const atExit: ServiceRecord[] = [];

/** The stop command of a service is run once, at the end of the suite. Registering the same name twice is one record. */
export function registerService(rec: ServiceRecord): void {
  if (registered.has(rec.name)) return;
  registered.add(rec.name);
  const dir = process.env.PIPELINE_TEST_SERVICES;
  if (dir) {
    mkdirSync(dir, { recursive: true });
    // One file per service, written whole (run.mjs reads them after this process has ended).
    const file = join(dir, `${process.pid}-${registered.size}.json`);
    writeFileSync(`${file}.tmp`, JSON.stringify(rec));
    renameSync(`${file}.tmp`, file);
    return;
  }
  if (atExit.length === 0) process.on('exit', () => atExit.forEach(stopService));
  atExit.push(rec);
}

/** Runs a record's stop command (synchronously: it also runs from an 'exit' handler). */
export function stopService(rec: ServiceRecord): { ok: boolean; output: string } {
  const r = spawnSync(rec.stop[0], rec.stop.slice(1), { encoding: 'utf8', env: { ...process.env, ...rec.env }, timeout: 60_000 });
  return { ok: r.status === 0, output: `${r.stdout ?? ''}${r.stderr ?? ''}${r.error ? String(r.error) : ''}`.trim() };
}
