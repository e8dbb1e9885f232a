/**
 * Progress on stderr (stdout stays clean for --json): in a TTY an overall bar plus one bar per
 * running node (cli-progress); elsewhere (CI=true, pipes) a plain line every few seconds.
 */
import cliProgress from 'cli-progress';
import type { PlanNode } from './expand.ts';
import type { NodeResult, RunEvents } from './scheduler.ts';

export interface Counts {
  ran: number;
  cached: number;
  failed: number;
  skipped: number;
}

export interface Progress extends RunEvents {
  stop(): void;
}

const PLAIN_INTERVAL_MS = 10_000;

export function createProgress(total: number, opts: { quiet?: boolean; stream?: NodeJS.WriteStream } = {}): Progress {
  const stream = opts.stream ?? process.stderr;
  const counts: Counts = { ran: 0, cached: 0, failed: 0, skipped: 0 };
  const running = new Map<string, { note?: string; fraction: number }>();
  const started = Date.now();
  const doneCount = () => counts.ran + counts.cached + counts.failed + counts.skipped;
  const onEnd = (node: PlanNode, r: NodeResult) => {
    running.delete(node.id);
    if (r.status === 'ran' || r.status === 'cached' || r.status === 'failed' || r.status === 'skipped') counts[r.status]++;
    if (r.status === 'failed' && !opts.quiet) stream.write(`\nfailed: ${node.id}\n  ${(r.error ?? '').split('\n').slice(0, 6).join('\n  ')}\n`);
  };
  // Said once per node, in every mode but quiet: a wait must never look like a hang.
  const onWaiting = (node: PlanNode, holder: string) => {
    if (!opts.quiet) stream.write(`waiting: ${node.id}: its key is locked by ${holder}; other nodes go on meanwhile\n`);
  };
  if (opts.quiet) return { nodeEnd: onEnd, stop() {} };

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
      nodeStart: (n) => running.set(n.id, { fraction: 0 }),
      nodeProgress: (n, fraction, note) => running.set(n.id, { fraction, note }),
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
      etaBuffer: 50,
    },
    cliProgress.Presets.shades_classic,
  );
  const overall = multi.create(total, 0, { name: 'nodes'.padEnd(36), info: '' });
  const bars = new Map<string, cliProgress.SingleBar>();
  const info = () => `ran ${counts.ran} cached ${counts.cached}${counts.failed ? ` FAILED ${counts.failed}` : ''} eta {eta_formatted}`;
  return {
    nodeStart(n) {
      bars.set(n.id, multi.create(100, 0, { name: n.id.slice(0, 36).padEnd(36), info: '' }));
    },
    nodeProgress(n, fraction, note) {
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
    stop() {
      multi.stop();
    },
  };
}
