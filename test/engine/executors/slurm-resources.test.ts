/**
 * The Slurm executor packs nodes with different `resources` into different job arrays, each with
 * the sbatch options its nodes ask for (engine/executors/slurm.ts, slurm-options.ts).
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { NodeJob } from '../../../engine/executors/job.ts';
import { byResourceClass } from '../../../engine/executors/slurm.ts';
import { resolveSlurmOptions, sbatchResourceArgs, SLURM_DEFAULTS } from '../../../engine/executors/slurm-options.ts';
import type { Resources } from '../../../engine/config/resources.ts';

const job = (nodeId: string, resources?: Resources) => ({ job: { nodeId, ...(resources ? { resources } : {}) } as NodeJob });

test('nodes are grouped by what they ask, in the order each class first appears', () => {
  const batch = [job('train[0]', { gpus: 1, threads: 4 }), job('nc1[0]'), job('train[1]', { gpus: 1, threads: 4 }), job('nc1[1]'), job('big', { mem: '16G' })];
  const classes = byResourceClass(batch);
  assert.equal(
    classes.map((c) => [c.resources ?? null, c.waiters.map((w) => w.job.nodeId)]),
    [
      [{ gpus: 1, threads: 4 }, ['train[0]', 'train[1]']],
      [null, ['nc1[0]', 'nc1[1]']],
      [{ mem: '16G' }, ['big']],
    ],
  );
});

test('an array without resources gets the options as they are', () => {
  const o = { ...SLURM_DEFAULTS, partition: 'cpu', time: '10', mem: '2G', cpusPerTask: 2 };
  assert.equal(sbatchResourceArgs(o), ['--partition=cpu', '--time=10', '--cpus-per-task=2', '--mem=2G']);
});

test("a GPU class: its partition, --gres, its cores and memory; the task's time is the node time times its nodes", () => {
  const o = resolveSlurmOptions({ partition: 'cpu', gpu_partition: 'gpu', cpus_per_task: 1, args: ['--qos=normal'] }, {}, {});
  assert.equal(sbatchResourceArgs(o, { threads: 4, mem: '4G', time: '30m', gpus: 2 }, 3), [
    '--partition=gpu',
    '--time=90',
    '--cpus-per-task=4',
    '--mem=4096M',
    '--gres=gpu:2',
    '--qos=normal',
  ]);
  // A CPU class of the same config stays on the CPU partition.
  assert.equal(sbatchResourceArgs(o, { threads: 2, time: '1:00:00' }, 1), ['--partition=cpu', '--time=60', '--cpus-per-task=2', '--qos=normal']);
});

test('without gpu_partition a GPU class stays on the partition and still asks --gres', () => {
  const o = resolveSlurmOptions({ partition: 'all' }, {}, {});
  assert.equal(sbatchResourceArgs(o, { gpus: 1 }), ['--partition=all', '--cpus-per-task=1', '--gres=gpu:1']);
});

test('gpu_partition is an option like the others: config, environment, flag', () => {
  assert.is(resolveSlurmOptions({ gpu_partition: 'a' }, {}, {}).gpuPartition, 'a');
  assert.is(resolveSlurmOptions({ gpu_partition: 'a' }, {}, { PIPELINE_SLURM_GPU_PARTITION: 'b' }).gpuPartition, 'b');
  assert.throws(() => resolveSlurmOptions({ gpu_partitions: 'a' }, {}, {}), /unknown slurm option; expected one of .*gpu_partition/);
});

test.run();
