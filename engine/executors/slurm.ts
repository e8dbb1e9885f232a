/**
 * The `slurm` executor. Ready nodes handed over within a short window are packed into the tasks
 * of one job array (slurm-pack.ts) and submitted with one `sbatch`; each task runs
 * `pipeline exec <job file>` on a compute node, which reads its inputs from the shared cache,
 * runs its nodes and commits them (commands/exec.ts). Nothing is re-planned inside a job.
 *
 * Status comes from `squeue` (one call per poll for all of this cache's jobs, at most once per
 * pollSeconds) and `scontrol` for a job squeue no longer lists; `sacct` is never needed. The
 * cache entry is the final truth: a task that ended without committing a node makes that node
 * failed, with the Slurm state and the task's log. Jobs are named after the cache, and carry
 * their job file in --comment: a restarted run finds the queued and running tasks that hold its
 * nodes and waits for them instead of submitting them again.
 */
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Cache, ExecutorRecord } from '../store/cache.ts';
import { sha256 } from '../keys/hash.ts';
import type { Session } from '../run/session.ts';
import { writeFileAtomic } from '../store/files.ts';
import { ownerTag, self } from '../store/owner.ts';
import type { ExecOutcome, Executor, NodeJob } from './job.ts';
import { scancelSync, sbatch, scontrolState, squeueByName, TERMINAL_STATES } from './slurm-cli.ts';
import { describeResources, type Resources } from '../config/resources.ts';
import { packTasks } from './slurm-pack.ts';
import { sbatchResourceArgs, type SlurmOptions } from './slurm-options.ts';

/** What a job file holds: a task per array index, each a list of ready nodes. */
export interface SlurmJobFile {
  version: 1;
  cacheDir: string;
  projectRoot: string;
  packageRoot: string;
  buildDir: string;
  tasks: NodeJob[][];
}

/** What `pipeline exec` reports per node, beside the job file (<file>.<task>.result.json). */
export interface TaskResults {
  host: string;
  /** The Slurm node the task ran on (SLURMD_NODENAME). */
  node?: string;
  nodes: Record<string, { status: 'ran' | 'cached' | 'failed' | 'locked'; error?: string; holder?: string; seconds?: number }>;
}

export function resultFile(jobFile: string, task: number): string {
  return `${jobFile.replace(/\.json$/, '')}.${task}.result.json`;
}

export function logFile(jobFile: string, task: number): string {
  return `${jobFile.replace(/\.json$/, '')}_${task}.log`;
}

interface Waiter {
  job: NodeJob;
  onProgress: (fraction: number, note?: string) => void;
  resolve: (o: ExecOutcome) => void;
}

interface Task {
  id: string;
  jobFile: string;
  index: number;
  waiters: Waiter[];
  state: string;
  /** The Slurm node squeue placed it on (known once it started). */
  node?: string;
  seen: boolean;
  since: number;
}

const FLUSH_QUIET_MS = 300;
/** Results files are read this often (local file reads); squeue at most once per pollSeconds. */
const RESULTS_POLL_MS = 200;
const FLUSH_MAX_MS = 2000;
/** squeue failing this long is said once; failing PIPELINE_SLURM_UNREACHABLE_SECONDS (600) ends the wait. */
const UNREACHABLE_WARN_SECONDS = 60;
function unreachableLimitSeconds(): number {
  const v = Number(process.env.PIPELINE_SLURM_UNREACHABLE_SECONDS ?? 600);
  return Number.isFinite(v) && v > 0 ? v : 600;
}
/** A task squeue has never listed is looked up with scontrol after this long. */
const UNSEEN_GRACE_MS = 30_000;

export class SlurmExecutor implements Executor {
  readonly name = 'slurm';
  /** The scheduler hands over every ready node; Slurm does the queueing. */
  readonly slots = 1_000_000;
  private pending: Waiter[] = [];
  private flushTimer: NodeJS.Timeout | undefined;
  private firstPending = 0;
  private readonly tasks = new Map<string, Task>();
  /** Node key -> a live task of an earlier run of this cache that holds it. */
  private readonly adopted = new Map<string, { id: string; jobFile: string; index: number }>();
  private readonly submitted: string[] = [];
  private pollTimer: NodeJS.Timeout | undefined;
  private polling = false;
  private lastSqueue = 0;
  private unreachableSince: number | undefined;
  private warnedUnreachable = false;
  private arrays = 0;
  private closed = false;
  readonly jobName: string;
  readonly runDir: string;
  /** sbatch calls made by this run (for the summary and tests). */
  sbatchCalls = 0;

  private constructor(
    private readonly cache: Cache,
    private readonly session: Session,
    private readonly options: SlurmOptions,
    /** Runs light nodes (aggregates, plots, reports) here, as a job's queueing would cost more. */
    private readonly local: Executor,
  ) {
    this.jobName = `pipeline-${sha256(cache.dir).slice(0, 10)}`;
    this.runDir = join(cache.dir, 'jobs', ownerTag(self()));
  }

  static async create(s: Session, options: SlurmOptions, local: Executor): Promise<SlurmExecutor> {
    const ex = new SlurmExecutor(s.cache, s, options, local);
    await ex.adoptLiveTasks();
    return ex;
  }

  /** Tasks of earlier runs still queued or running, by the job file each carries in --comment. */
  private async adoptLiveTasks(): Promise<void> {
    const rows = await squeueByName(this.jobName, 'PENDING,RUNNING,CONFIGURING,COMPLETING,SUSPENDED,REQUEUED,RESIZING');
    const files = new Map<string, SlurmJobFile | undefined>();
    for (const row of rows) {
      const m = /^(\d+)_(\d+)$/.exec(row.id);
      if (!m || !row.comment.startsWith(this.cache.dir)) continue;
      if (!files.has(row.comment)) {
        try {
          files.set(row.comment, JSON.parse(readFileSync(row.comment, 'utf8')) as SlurmJobFile);
        } catch {
          files.set(row.comment, undefined);
        }
      }
      const jf = files.get(row.comment);
      const index = Number(m[2]);
      for (const node of jf?.tasks[index] ?? []) this.adopted.set(node.key, { id: row.id, jobFile: row.comment, index });
    }
  }

  execute(job: NodeJob, onProgress: (fraction: number, note?: string) => void): Promise<ExecOutcome> {
    if (job.light && this.options.localLight) return this.local.execute(job, onProgress);
    if (!job.force) {
      const meta = this.cache.checkedMeta(job.key);
      if (meta) return Promise.resolve({ status: 'cached', meta });
    }
    return new Promise<ExecOutcome>((resolve) => {
      const waiter: Waiter = { job, onProgress, resolve };
      const adopted = this.adopted.get(job.key);
      if (adopted) {
        this.adopted.delete(job.key);
        let task = this.tasks.get(adopted.id);
        if (!task) {
          task = { id: adopted.id, jobFile: adopted.jobFile, index: adopted.index, waiters: [], state: 'PENDING', seen: true, since: Date.now() };
          this.tasks.set(task.id, task);
        }
        task.waiters.push(waiter);
        onProgress(0, `slurm ${task.id} (submitted by an earlier run)`);
        this.ensurePolling();
        return;
      }
      const lock = this.cache.lockState(job.key);
      if (lock.state === 'live') return resolve({ status: 'locked', holder: this.cache.describeLock(lock) });
      if (!this.pending.length) this.firstPending = Date.now();
      this.pending.push(waiter);
      this.scheduleFlush();
    });
  }

  private scheduleFlush(): void {
    if (this.flushTimer) clearTimeout(this.flushTimer);
    const wait = Math.max(0, Math.min(FLUSH_QUIET_MS, this.firstPending + FLUSH_MAX_MS - Date.now()));
    this.flushTimer = setTimeout(() => void this.flush(), wait);
  }

  private async flush(): Promise<void> {
    this.flushTimer = undefined;
    const batch = this.pending.splice(0);
    if (!batch.length || this.closed) return;
    // One array per resource class: its sbatch options (cores, memory, time, GPUs, partition)
    // are those its nodes ask for (Snakemake's per-rule resources).
    for (const { resources, waiters } of byResourceClass(batch)) {
      const packed = packTasks(
        waiters.map((w) => ({ w, seconds: w.job.estimateSeconds ?? this.options.unknownNodeSeconds })),
        { nodesPerJob: this.options.nodesPerJob, taskSeconds: this.options.taskSeconds, minTasks: this.options.minTasks },
      ).map((t) => t.map((x) => x.w));
      for (let i = 0; i < packed.length; i += this.options.maxArraySize) await this.submitArray(packed.slice(i, i + this.options.maxArraySize), resources);
    }
    this.ensurePolling();
  }

  private async submitArray(tasks: Waiter[][], resources: Resources | undefined): Promise<void> {
    mkdirSync(this.runDir, { recursive: true });
    const jobFile = join(this.runDir, `${this.arrays++}.json`);
    const doc: SlurmJobFile = {
      version: 1,
      cacheDir: this.cache.dir,
      projectRoot: this.session.roots.projectRoot,
      packageRoot: this.session.roots.packageRoot,
      buildDir: this.session.roots.buildDir,
      tasks: tasks.map((t) => t.map((w) => w.job)),
    };
    // Written before sbatch: a task never starts without its file.
    writeFileAtomic(jobFile, JSON.stringify(doc));
    const node = process.env.PIPELINE_SLURM_NODE ?? process.execPath;
    const bin = join(this.session.roots.packageRoot, 'bin', 'pipeline.mjs');
    const args = [
      `--job-name=${this.jobName}`,
      `--comment=${jobFile}`,
      `--array=0-${tasks.length - 1}`,
      `--output=${join(this.runDir, `${this.arrays - 1}_%a.log`)}`,
      `--chdir=${this.session.roots.projectRoot}`,
      // A task on a failed node would otherwise be queued again ~2 min later and overwrite its
      // log; the driver reports it (NODE_FAIL) and the next run resubmits what is missing.
      '--no-requeue',
      ...sbatchResourceArgs(this.options, resources, Math.max(...tasks.map((t) => t.length))),
      `--wrap=exec ${shellQuote(node)} ${shellQuote(bin)} exec ${shellQuote(jobFile)}`,
    ];
    let id: string;
    try {
      this.sbatchCalls++;
      id = await sbatch(args);
    } catch (e) {
      for (const t of tasks) for (const w of t) w.resolve({ status: 'failed', failure: { message: `sbatch failed: ${(e as Error).message}` }, executor: { name: 'slurm' } });
      return;
    }
    this.submitted.push(id);
    tasks.forEach((waiters, index) => {
      const taskId = `${id}_${index}`;
      this.tasks.set(taskId, { id: taskId, jobFile, index, waiters, state: 'PENDING', seen: false, since: Date.now() });
      for (const w of waiters) w.onProgress(0, `slurm ${taskId} PENDING`);
    });
  }

  private ensurePolling(): void {
    if (this.pollTimer || this.closed) return;
    this.pollTimer = setInterval(() => void this.poll(), RESULTS_POLL_MS);
  }

  /**
   * Nodes a running task has finished, from its results file (a file read, no Slurm call): the
   * next wave need not wait for the whole task, nor for squeue to say it ended.
   */
  private settleFinishedNodes(task: Task): void {
    const results = readResults(task);
    if (!results) return;
    task.waiters = task.waiters.filter((w) => {
      const r = results.nodes[w.job.key];
      if (!r || r.status === 'locked') return true;
      this.resolveWaiter(w, task, results, 'RUNNING');
      return false;
    });
  }

  private async poll(): Promise<void> {
    if (this.polling) return;
    this.polling = true;
    try {
      if (!this.tasks.size) {
        if (!this.pending.length && this.pollTimer) {
          clearInterval(this.pollTimer);
          this.pollTimer = undefined;
        }
        return;
      }
      for (const task of this.tasks.values()) this.settleFinishedNodes(task);
      // Slurm itself is asked at a bounded rate, whatever the number of jobs.
      if (Date.now() - this.lastSqueue < this.options.pollSeconds * 1000) return;
      this.lastSqueue = Date.now();
      let rows;
      try {
        rows = new Map((await squeueByName(this.jobName)).map((r) => [r.id, r]));
        this.unreachableSince = undefined;
      } catch (e) {
        // Slurm busy or unreachable for a moment: ask again at the next poll, but not forever.
        this.unreachableSince ??= Date.now();
        const seconds = (Date.now() - this.unreachableSince) / 1000;
        if (seconds > UNREACHABLE_WARN_SECONDS && !this.warnedUnreachable) {
          process.stderr.write(`slurm: squeue has failed for ${seconds.toFixed(0)} s (${(e as Error).message.split('\n')[0]}); still waiting for ${this.tasks.size} tasks\n`);
          this.warnedUnreachable = true;
        }
        if (seconds > unreachableLimitSeconds()) {
          // Nodes their tasks committed meanwhile still count (the cache is the final truth).
          for (const task of [...this.tasks.values()]) this.settle(task, `UNKNOWN (Slurm unreachable for ${seconds.toFixed(0)} s)`);
        }
        return;
      }
      for (const task of [...this.tasks.values()]) {
        const row = rows.get(task.id);
        let state = row?.state;
        if (!row) {
          if (!task.seen && Date.now() - task.since < UNSEEN_GRACE_MS) continue;
          const known = await scontrolState(task.id).catch(() => undefined);
          if (known?.nodes) task.node = known.nodes;
          state = known?.state ?? 'ENDED (no longer known to Slurm)';
          if (!TERMINAL_STATES.has(state) && !state.startsWith('ENDED')) continue;
        }
        task.seen = true;
        if (row?.nodes) task.node = row.nodes;
        if (state && !TERMINAL_STATES.has(state) && !state.startsWith('ENDED')) {
          if (state !== task.state) for (const w of task.waiters) w.onProgress(0, `slurm ${task.id} ${state}${task.node ? ` on ${task.node}` : ''}`);
          task.state = state;
          continue;
        }
        this.settle(task, state ?? 'UNKNOWN');
      }
    } finally {
      this.polling = false;
    }
  }

  /** A task ended: each of its nodes is what the cache and the task's results file say. */
  private settle(task: Task, state: string): void {
    this.tasks.delete(task.id);
    const results = readResults(task);
    for (const w of task.waiters) this.resolveWaiter(w, task, results, state);
  }

  /** A node's outcome: the cache entry first, then what the task said, then the Slurm state. */
  private resolveWaiter(w: Waiter, task: Task, results: TaskResults | undefined, state: string): void {
    const log = logFile(task.jobFile, task.index);
    // The node as the task said it (SLURMD_NODENAME), else as squeue last placed it: a node that
    // crashed before its task wrote anything is still named.
    const node = results?.node ?? task.node;
    const record: ExecutorRecord = { name: 'slurm', job: task.id, ...(results?.host ? { host: results.host } : {}), ...(node ? { node } : {}), log };
    const where = `slurm job ${task.id}${node ? ` on node ${node}` : ''}`;
    const r = results?.nodes[w.job.key];
    const meta = this.cache.checkedMeta(w.job.key);
    if (meta && (!w.job.force || r?.status === 'ran')) {
      w.resolve({ status: r?.status === 'ran' || meta.executor?.job === task.id ? 'ran' : 'cached', meta });
    } else if (r?.status === 'locked') {
      w.resolve({ status: 'locked', holder: r.holder ?? 'another process' });
    } else if (r?.status === 'failed') {
      w.resolve({ status: 'failed', failure: { message: `${r.error ?? 'failed'} (${where}; log: ${log})` }, executor: record });
    } else {
      const tail = existsSync(log) ? `; log: ${log}` : '';
      w.resolve({ status: 'failed', failure: { message: `${where} ended in state ${state} without committing this node${tail}` }, executor: { ...record, state } });
    }
  }

  async cancel(): Promise<void> {
    this.closed = true;
    scancelSync(this.submitted);
  }

  async close(): Promise<void> {
    await this.local.close();
    this.closed = true;
    if (this.flushTimer) clearTimeout(this.flushTimer);
    if (this.pollTimer) clearInterval(this.pollTimer);
    this.pollTimer = undefined;
  }
}

/** What a task's `pipeline exec` wrote so far, or undefined before its first node ended. */
function readResults(task: Task): TaskResults | undefined {
  try {
    return JSON.parse(readFileSync(resultFile(task.jobFile, task.index), 'utf8')) as TaskResults;
  } catch {
    return undefined;
  }
}

/** Nodes grouped by what they ask (`resources`), in the order each class first appears. */
export function byResourceClass<W extends { job: NodeJob }>(batch: W[]): { resources: Resources | undefined; waiters: W[] }[] {
  const classes = new Map<string, { resources: Resources | undefined; waiters: W[] }>();
  for (const w of batch) {
    const name = describeResources(w.job.resources);
    let c = classes.get(name);
    if (!c) classes.set(name, (c = { resources: w.job.resources, waiters: [] }));
    c.waiters.push(w);
  }
  return [...classes.values()];
}

function shellQuote(s: string): string {
  return /^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}
