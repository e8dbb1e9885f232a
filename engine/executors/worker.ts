/** Worker-thread entry: runs jobs posted by WorkerPool, one at a time. */
import { parentPort } from 'node:worker_threads';
import { cachePlace, describeFsFault } from '../store/fs-faults.ts';
import { failureOf, type Job, type WorkerMessage } from './job.ts';
import { runJob } from './run-job.ts';

// Stacks of a failing stage point at its .ts sources (stage bundles carry inline source maps).
process.setSourceMapsEnabled(true);
const port = parentPort!;
let lastProgress = 0;

port.on('message', async (job: Job) => {
  const post = (m: WorkerMessage) => port.postMessage(m);
  // This thread's own copy of the environment (Node gives each worker one): the GPUs the pool
  // gave this job, for the stage and the programs it starts; the thread runs one job at a time.
  const cudaBefore = process.env.CUDA_VISIBLE_DEVICES;
  if (job.gpuDevices?.length) process.env.CUDA_VISIBLE_DEVICES = job.gpuDevices.join(',');
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
    const failure = failureOf(e);
    // A full disk or a read-only cache is said in one line (the stack only with --debug). The
    // staging folder is <cache>/staging/<owner>/<key>.<n>.
    const cache = job.outDir.split(/[\\/]staging[\\/]/)[0];
    const fault = describeFsFault(e, [cachePlace(cache)], job.outDir);
    post({ type: 'error', jobId: job.jobId, failure: fault ? { ...failure, message: fault, fsFault: true } : failure });
  } finally {
    if (cudaBefore === undefined) delete process.env.CUDA_VISIBLE_DEVICES;
    else process.env.CUDA_VISIBLE_DEVICES = cudaBefore;
  }
});
