/** Worker-thread entry: runs jobs posted by LocalExecutor, one at a time. */
import { parentPort } from 'node:worker_threads';
import type { Job, WorkerMessage } from './job.ts';
import { runJob } from './run-job.ts';

const port = parentPort!;
let lastProgress = 0;

port.on('message', async (job: Job) => {
  const post = (m: WorkerMessage) => port.postMessage(m);
  try {
    const result = await runJob(job, (fraction, note) => {
      // Throttled: a tight training loop may report every epoch.
      const now = Date.now();
      if (now - lastProgress < 100 && fraction < 1) return;
      lastProgress = now;
      post({ type: 'progress', jobId: job.jobId, fraction, note });
    });
    post({ type: 'done', jobId: job.jobId, result });
  } catch (e) {
    // The message is what the user reads; the stack goes to the node's log file.
    const err = e as Error;
    post({ type: 'error', jobId: job.jobId, message: err instanceof Error ? err.message : String(e), stack: err instanceof Error ? err.stack : undefined });
  }
});
