/**
 * Progress on stderr (stdout stays clean for --json): in a TTY an overall bar with an ETA plus one
 * bar per running node (cli-progress); elsewhere (CI=true, pipes) a plain line every few seconds.
 * Failed nodes are not printed here: the CLI's closing summary lists them (also with --quiet).
 */
import cliProgress from 'cli-progress';
import type { PlanNode } from '../config/expand.ts';
import type { NodeResult, RunEvents } from './scheduler.ts';
import { estimateRemaining, formatDuration, recordTime, type RunTimes } from './eta.ts';

export interface Counts {
  ran: number;
  cached: number;
  failed: number;
  skipped: number;
}

export interface Progress extends RunEvents {
  stop(): void;
}

export interface ProgressOptions {
  quiet?: boolean;
  stream?: NodeJS.WriteStream;
  /** Nodes run at once: the ETA divides the remaining work by it. */
  jobs?: number;
  /** A node's run time when it last ran (its previous cache entry's meta), if known. */
  previousSeconds?: (node: PlanNode) => number | undefined;
}

const PLAIN_INTERVAL_MS = 10_000;
const TTY_REFRESH_MS = 1_000;
const SHOW_CURSOR = '\u001b[?25h';

export function createProgress(nodes: PlanNode[], opts: ProgressOptions = {}): Progress {
  const total = nodes.length;
  const stream = opts.stream ?? process.stderr;
  const counts: Counts = { ran: 0, cached: 0, failed: 0, skipped: 0 };
  const running = new Map<string, { node: PlanNode; note?: string; fraction: number; started: number }>();
  const times: RunTimes = { byStage: new Map(), all: { n: 0, seconds: 0 } };
  const ended = new Set<string>();
  const started = Date.now();
  const doneCount = () => counts.ran + counts.cached + counts.failed + counts.skipped;
  const onEnd = (node: PlanNode, r: NodeResult) => {
    running.delete(node.id);
    ended.add(node.id);
    if (r.status === 'ran' || r.status === 'cached' || r.status === 'failed' || r.status === 'skipped') counts[r.status]++;
    if (r.status === 'ran' && r.seconds !== undefined) {
      recordTime(times, node, r.seconds);
    }
  };
  // Said once per node, in every mode but quiet: a wait must never look like a hang.
  // (also with --quiet and --json: it is not progress but the reason a run may take longer).
  const onWaiting = (node: PlanNode, holder: string) => {
    stream.write(`waiting: ${node.id}: its key is locked by ${holder}; other nodes go on meanwhile\n`);
  };
  if (opts.quiet) return { nodeWaiting: onWaiting, nodeEnd: onEnd, stop() {} };

  const tty = stream.isTTY && process.env.CI !== 'true' && process.env.CI !== '1';
  if (!tty) {
    const line = () => {
      const secs = ((Date.now() - started) / 1000).toFixed(0);
      const now = [...running.entries()].slice(0, 3).map(([id, r]) => `${id}${r.note ? ` (${r.note})` : ''}`);
      stream.write(`[${secs}s] ${doneCount()}/${total} nodes: ran ${counts.ran}, cached ${counts.cached}, failed ${counts.failed}${now.length ? `; running ${now.join(', ')}` : ''}\n`);
    };
    const timer = setInterval(line, PLAIN_INTERVAL_MS);
    timer.unref();
    return {
      nodeStart: (n) => running.set(n.id, { node: n, fraction: 0, started: Date.now() }),
      nodeProgress: (n, fraction, note) => {
        const r = running.get(n.id);
        if (r) Object.assign(r, { fraction, note });
      },
      nodeWaiting: onWaiting,
      nodeEnd: onEnd,
      stop: () => clearInterval(timer),
    };
  }

  const multi = new cliProgress.MultiBar(
    {
      stream,
      clearOnComplete: true,
      hideCursor: true,
      format: '{name} |{bar}| {value}/{total} {info}',
      barsize: 30,
    },
    cliProgress.Presets.shades_classic,
  );
  const overall = multi.create(total, 0, { name: 'nodes'.padEnd(36), info: '' });
  const bars = new Map<string, cliProgress.SingleBar>();
  const previous = new Map<string, number | undefined>();
  const previousOf = (n: PlanNode) => {
    if (!previous.has(n.id)) previous.set(n.id, opts.previousSeconds?.(n));
    return previous.get(n.id);
  };
  const eta = () => {
    const now = Date.now();
    const secs = estimateRemaining({
      pending: nodes.filter((n) => !ended.has(n.id) && !running.has(n.id)),
      running: [...running.values()].map((r) => ({ node: r.node, elapsed: (now - r.started) / 1000, fraction: r.fraction, previous: previousOf(r.node) })),
      times,
      jobs: opts.jobs ?? 1,
      previous: previousOf,
    });
    return secs === undefined ? 'eta --' : `eta ${formatDuration(secs)}`;
  };
  // The ETA scans the pending nodes: once a second, not at every node's end.
  let etaText = 'eta --';
  const info = () => `ran ${counts.ran} cached ${counts.cached}${counts.failed ? ` FAILED ${counts.failed}` : ''} ${etaText}`;
  const refresh = setInterval(() => {
    etaText = eta();
    overall.update(doneCount(), { info: info() });
  }, TTY_REFRESH_MS);
  refresh.unref();
  // cli-progress hides the cursor; Ctrl-C would leave the terminal without one.
  // After restoring it, the signal takes its default course (exit) unless someone else handles it.
  const onSignal = (signal: NodeJS.Signals) => {
    stop();
    if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
  };
  const stop = () => {
    clearInterval(refresh);
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    multi.stop();
    stream.write(SHOW_CURSOR);
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  return {
    nodeStart(n) {
      running.set(n.id, { node: n, fraction: 0, started: Date.now() });
      bars.set(n.id, multi.create(100, 0, { name: n.id.slice(0, 36).padEnd(36), info: '' }));
    },
    nodeProgress(n, fraction, note) {
      const r = running.get(n.id);
      if (r) Object.assign(r, { fraction, note });
      bars.get(n.id)?.update(Math.round(fraction * 100), { info: note ?? '' });
    },
    nodeWaiting(n, holder) {
      bars.get(n.id)?.update(0, { info: `waiting: locked by ${holder}` });
    },
    nodeEnd(n, r) {
      onEnd(n, r);
      const b = bars.get(n.id);
      if (b) {
        multi.remove(b);
        bars.delete(n.id);
      }
      overall.update(doneCount(), { info: info() });
    },
    stop,
  };
}
