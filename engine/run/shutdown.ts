/**
 * How the CLI process ends when it is asked to.
 *
 * SIGINT (Ctrl-C) and SIGTERM end a run at once, with 130 and 143 as a shell reports a death by
 * those signals. Nothing is half-written by that: entries are committed by renaming a complete
 * staging folder, and the next run sweeps the staging folders of dead runs. Exiting through
 * process.exit rather than the default signal action lets 'exit' handlers run (lock release) and
 * gives the terminal its cursor (and line wrapping) back, which the progress bars turn off.
 *
 * Under `npx` the CLI is a grandchild of npm (npm exec -> sh -c -> node): a SIGTERM to npm ends
 * npm and the shell but not this process, which would go on building as an orphan holding its
 * locks. A CLI started by npm therefore watches its parent and ends as on SIGTERM when it is gone.
 */
import { writeSync } from 'node:fs';

/** Shows the cursor and turns line wrapping back on: the progress bars (cli-progress) turn off both. */
const RESTORE_TERMINAL = '\u001b[?25h\u001b[?7h';
const EXIT_CODES = { SIGINT: 130, SIGTERM: 143 } as const;
// getppid() is a cheap system call: ten a second keep an orphaned run short.
const PARENT_POLL_MS = 100;

type StopSignal = keyof typeof EXIT_CODES;

let installed = false;
const hooks = new Set<() => void>();

/**
 * Runs fn (synchronously) when a signal ends the process, before it exits: e.g. the slurm
 * executor cancels the jobs it submitted. Returns the way to take it back.
 */
export function atShutdown(fn: () => void): () => void {
  hooks.add(fn);
  return () => hooks.delete(fn);
}

export function installShutdown(stream: NodeJS.WriteStream = process.stderr): void {
  if (installed) return;
  installed = true;
  process.on('exit', () => {
    if (stream.isTTY) writeQuietly(stream, RESTORE_TERMINAL);
  });
  const stop = (signal: StopSignal, why: string) => {
    for (const fn of hooks) {
      try {
        fn();
      } catch {
        // on the way out: one failing hook must not keep the others from running
      }
    }
    writeQuietly(stream, `\npipeline: ${why}; finished nodes are cached, the next run resumes\n`);
    process.exit(EXIT_CODES[signal]);
  };
  process.on('SIGINT', () => stop('SIGINT', 'interrupted (SIGINT)'));
  process.on('SIGTERM', () => stop('SIGTERM', 'terminated (SIGTERM)'));
  if (startedByNpm()) watchParent(() => stop('SIGTERM', 'the npm process that started this run is gone'));
}

/** npm sets npm_lifecycle_event for `npx` ("npx") and `npm run` (the script's name). */
function startedByNpm(): boolean {
  return process.env.npm_lifecycle_event !== undefined;
}

/** Calls onGone once the parent process has exited (this process was re-parented). */
function watchParent(onGone: () => void): void {
  const parent = process.ppid;
  const timer = setInterval(() => {
    if (process.ppid !== parent) onGone();
  }, PARENT_POLL_MS);
  timer.unref();
}

/** Synchronous, so it lands before process.exit; a closed stream is no reason to fail. */
function writeQuietly(stream: NodeJS.WriteStream, text: string): void {
  try {
    writeSync((stream as unknown as { fd: number }).fd, text);
  } catch {
    // stderr closed (a pipe whose reader left): nothing to tell.
  }
}
