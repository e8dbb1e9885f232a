/**
 * The `pipeline` CLI: parses arguments, calls engine/commands.ts, prints. Exit codes: 0 success,
 * 1 a node failed, 2 bad input (config, arguments), 3 a filesystem fault (full disk, read-only or
 * forbidden folder, a file where a folder belongs), 130/143 interrupted (SIGINT/SIGTERM).
 */
import { join, resolve } from 'node:path';
import { Command, Option } from 'commander';
import {
  cleanCommand,
  execCommand,
  gcCommand,
  graphCommand,
  listCommand,
  planCommand,
  runCommand,
  showCommand,
  logsCommand,
  initCommand,
  verifyCommand,
  placement,
  type RunSummary,
  type TargetOptions,
} from './engine/commands.ts';
import { formatError, PipelineError } from './engine/errors.ts';
import { cachePlace, describeFsFault, FS_FAULT_EXIT_CODE, isFsFaultMessage, type Place } from './engine/store/fs-faults.ts';
import { findProjectRoot } from './engine/run/session.ts';
import { installShutdown } from './engine/run/shutdown.ts';
import { maxJobs, maxNodeBudget, NODE_BUDGET_REASON, wholeNumberOption } from './engine/config/limits.ts';
import { schemaCommand } from './engine/commands/schema.ts';
import { diffCommand } from './engine/commands/diff.ts';
import { diffRows, formatTable } from './engine/report/results-diff.ts';
import { formatFailure } from './engine/run/failures.ts';
import { formatGroups, groupByStage } from './engine/report/plan-format.ts';
import { readFileSync } from 'node:fs';
import { keygenCommand, pullCommand, pushCommand, type TransferSummary } from './engine/commands/remote.ts';

/** A failed node's log for --debug (it may be gone if the cache was cleaned meanwhile). */
function readLog(path: string): string {
  try {
    return readFileSync(path, 'utf8').trimEnd().replace(/^/gm, '  ');
  } catch {
    return `  (log ${path} is gone)`;
  }
}

interface Context {
  packageRoot: string;
  buildDir: string;
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

const jobsOption = wholeNumberOption('--jobs', 1, maxJobs(), 'local jobs are worker threads: 4 per core on this machine');

function printSummary(s: RunSummary, verb: string, explain: boolean, debug = false, verbose = false): void {
  const err = process.stderr;
  if (explain && verbose) {
    for (const n of s.nodes) if (!n.shared && (n.status === 'ran' || n.status === 'would-run')) err.write(`  ${n.status === 'ran' ? 'ran' : 'will run'} ${n.id}: ${(n.changed ?? []).join('; ')}\n`);
  } else if (explain) {
    for (const line of formatGroups(groupByStage(s.nodes, (st) => s.kinds?.[st] ?? '?'), verb === 'plan' ? 'to run' : 'ran')) err.write(`  ${line}\n`);
  }
  const parts = verb === 'plan'
    ? [`${s.nodes.filter((n) => n.status === 'would-run').length} to run`, `${s.cached} cached`]
    : [`${s.ran} ran`, `${s.cached} cached`, `${s.failed} failed`, ...(s.skipped ? [`${s.skipped} skipped`] : [])];
  err.write(`${s.target} (${s.profile}): ${parts.join(', ')} in ${s.seconds.toFixed(2)} s\n`);
  const placed = placement(s.nodes);
  if (placed) err.write(`${placed}\n`);
  if (s.remote) err.write(`remote ${s.remote.where}: ${s.remote.pulled} pulled${s.remote.pushed !== undefined ? `, ${s.remote.pushed} pushed` : ''}\n`);
  for (const p of s.published) err.write(`report: ${p}/README.md\n`);
  // A full or read-only cache fails every node in flight the same way: said once.
  const fsFaults = s.failures.filter((f) => isFsFaultMessage(f.message));
  for (const f of s.failures) {
    if (fsFaults.length > 1 && f !== fsFaults[0] && fsFaults.includes(f)) continue;
    err.write(`${formatFailure(f)}\n`);
    if (debug && f.log) err.write(`${readLog(f.log)}\n`);
  }
  if (fsFaults.length > 1) err.write(`${fsFaults.length - 1} other ${fsFaults.length === 2 ? 'node' : 'nodes'} in flight failed on the filesystem the same way\n`);
  if (fsFaults.length) err.write(`the run stopped at the filesystem fault: the cache is intact, and the next run resumes once there is room\n`);
  if (s.skipped) err.write(`${s.skipped} ${s.skipped === 1 ? 'node' : 'nodes'} skipped: ${fsFaults.length ? 'not started after the fault' : 'an upstream node failed'}\n`);
}

/** The folders a filesystem fault is most likely in, named in its message with what to do there. */
function faultPlaces(argv: string[], ctx: Context): Place[] {
  const at = argv.indexOf('--cache-dir');
  const option = at >= 0 ? argv[at + 1] : argv.find((a) => a.startsWith('--cache-dir='))?.slice('--cache-dir='.length);
  const root = findProjectRoot(process.cwd(), ctx.packageRoot);
  return [
    cachePlace(resolve(option ?? process.env.PIPELINE_CACHE_DIR ?? join(root, 'cache'))),
    { dir: join(root, 'reports'), name: 'the reports folder' },
    { dir: ctx.buildDir, name: "pipeline's build folder" },
  ];
}

/** One line (two with --debug: the stack) for an error no command handled. */
function reportError(e: unknown, argv: string[], ctx: Context, debug: boolean): number {
  const err = process.stderr;
  const stack = debug && e instanceof Error && e.stack ? `\n${e.stack}` : '';
  const fault = describeFsFault(e, faultPlaces(argv, ctx));
  if (fault) {
    err.write(`error: ${fault}${stack}\n`);
    return FS_FAULT_EXIT_CODE;
  }
  if (e instanceof PipelineError) {
    err.write(`error: ${formatError(e)}${stack}\n`);
    return e.exitCode;
  }
  const message = e instanceof Error ? e.message : String(e);
  err.write(`error: ${message}${stack || ' (--debug shows where)'}\n`);
  return 1;
}

export async function main(argv: string[], ctx: Context): Promise<number> {
  installShutdown();
  // Before anything runs: worker threads copy the environment when they start.
  const debug = argv.includes('--debug') || process.env.PIPELINE_DEBUG === '1';
  if (debug) process.env.PIPELINE_DEBUG = '1';
  // An error no promise chain catches (a worker thread that cannot even load its module when
  // files run out: EMFILE) is said like any other, and ends the run.
  process.on('uncaughtException', (e) => process.exit(reportError(e, argv, ctx, debug)));
  let exit = 0;
  const program = new Command('pipeline')
    .description('Declarative, cached DAG builds of ML experiments (neural collapse: kernels vs networks).')
    .option('--debug', 'print the stack of an error (also $PIPELINE_DEBUG=1)')
    .showHelpAfterError()
    .exitOverride();
  const targetOptions = (cmd: Command) =>
    cmd
      .option('-p, --profile <name>', 'profile of the target config (quick, full)')
      .option('-s, --set <key=value>', 'override a variable or dotted config path (repeatable)', collect, [])
      .option('-j, --jobs <n>', `nodes run at once (default: number of cores; at most ${maxJobs()})`, jobsOption)
      .option('--max-nodes <n>', 'refuse a target that expands to more nodes (default: $PIPELINE_MAX_NODES or 50000)', wholeNumberOption('--max-nodes', 1, maxNodeBudget(), NODE_BUDGET_REASON))
      .option('--cache-dir <dir>', 'cache folder (default: $PIPELINE_CACHE_DIR or ./cache)');
  const base = (o: Record<string, unknown>): TargetOptions => ({
    packageRoot: ctx.packageRoot,
    buildDir: ctx.buildDir,
    profile: o.profile as string | undefined,
    set: o.set as string[] | undefined,
    jobs: o.jobs as number | undefined,
    cacheDir: o.cacheDir as string | undefined,
    force: o.force as boolean | undefined,
    maxNodes: o.maxNodes as number | undefined,
  });

  targetOptions(program.command('run <target>').description('build a target (configs/<target>.yml or a .yml path) and publish its report'))
    .option('-f, --force', 'rerun every node even if cached')
    .option('-e, --executor <name>', 'where nodes run: local (worker threads) or slurm (job arrays); default: the config\'s executor:, $PIPELINE_EXECUTOR, local')
    .option('--slurm-partition <name>', 'sbatch --partition')
    .option('--slurm-gpu-partition <name>', 'sbatch --partition of the job arrays whose stages ask for GPUs (resources: { gpus })')
    .option('--slurm-account <name>', 'sbatch --account')
    .option('--slurm-time <limit>', 'sbatch --time of each job (e.g. 30, 1:00:00)')
    .option('--slurm-cpus-per-task <n>', 'sbatch --cpus-per-task (nodes of a task run on that many threads)')
    .option('--slurm-mem <size>', 'sbatch --mem (e.g. 8G)')
    .option('--slurm-arg <arg>', 'any other sbatch argument (repeatable)', collect, [])
    .option('--slurm-nodes-per-job <n>', 'nodes per array task (default: sized from recorded run times)')
    .option('--remote <url>', 'remote cache read on a local miss (default: $PIPELINE_REMOTE, else the config\'s remote: url; "off": none)')
    .option('--remote-write', 'push the target\'s entries to the remote cache after the run (needs PIPELINE_REMOTE_KEY)')
    .option('--no-verify-inputs', 'do not hash inputs against their recorded digests before a stage reads them')
    .option('--json', 'print the run summary as JSON on stdout')
    .option('--explain', 'say per stage how many nodes ran and which part of their keys changed')
    .option('-v, --verbose', 'with --explain: one line per node')
    .option('-q, --quiet', 'no progress output (the summary and failures are still printed)')
    .action(async (target: string, o) => {
      const slurm = {
        partition: o.slurmPartition,
        gpuPartition: o.slurmGpuPartition,
        account: o.slurmAccount,
        time: o.slurmTime,
        cpusPerTask: o.slurmCpusPerTask,
        mem: o.slurmMem,
        args: o.slurmArg,
        nodesPerJob: o.slurmNodesPerJob,
      };
      const s = await runCommand(target, { ...base(o), quiet: o.quiet || o.json, executor: o.executor, slurm, verifyInputs: o.verifyInputs, remote: o.remote, remoteWrite: o.remoteWrite });
      if (o.json) process.stdout.write(`${JSON.stringify(s, null, 1)}\n`);
      if (!o.json || s.failed) printSummary(s, 'run', o.explain ?? false, debug, o.verbose ?? false);
      if (s.failed || s.skipped) exit = 1;
      // A node that could not write its outputs failed for the disk's sake, not its own.
      if (s.nodes.some((n) => n.status === 'failed' && n.error && isFsFaultMessage(n.error))) exit = FS_FAULT_EXIT_CODE;
    });

  targetOptions(program.command('plan <target>').description('dry run: what would run and why (which key part changed), one line per stage'))
    .option('-f, --force', 'plan as if every node were forced')
    .option('--json', 'print the plan as JSON on stdout (every node, and the per-stage groups)')
    .option('-v, --verbose', 'one line per node instead of one per stage')
    .action(async (target: string, o) => {
      const s = await planCommand(target, base(o));
      if (o.json) process.stdout.write(`${JSON.stringify({ ...s, stages: groupByStage(s.nodes, (st) => s.kinds?.[st] ?? '?') }, null, 1)}\n`);
      else printSummary(s, 'plan', true, false, o.verbose ?? false);
    });

  const transferLine = (verb: string, r: TransferSummary) =>
    `${verb} ${r.target} (${r.profile}) ${verb === 'pull' ? 'from' : 'to'} ${r.remote}: ${r.moved} entries ${verb === 'pull' ? 'pulled' : 'pushed'} (${r.files} files, ${(r.bytes / 1e6).toFixed(1)} MB), ${r.present} already ${verb === 'pull' ? 'local' : 'there'}, ${r.unavailable} ${verb === 'pull' ? 'not on the server' : 'not built locally'} in ${r.seconds.toFixed(2)} s\n`;
  // pull and push take the same options and print the same summary.
  const transfers = [
    ['pull', pullCommand, "fetch a target's entries from the remote cache into the local one (runs nothing; then `run` publishes)"],
    ['push', pushCommand, "write a target's local entries to the remote cache: files first, signed manifest last (needs PIPELINE_REMOTE_KEY)"],
  ] as const;
  for (const [verb, command, description] of transfers) {
    targetOptions(program.command(`${verb} <target>`).description(description))
      .option('--remote <url>', "remote cache (default: $PIPELINE_REMOTE, else the config's remote: url)")
      .option('--json', 'the summary as JSON on stdout')
      .option('-q, --quiet', 'no progress lines')
      .action(async (target: string, o) => {
        const r = await command(target, { ...base(o), remote: o.remote, quiet: o.quiet || o.json });
        if (o.json) process.stdout.write(`${JSON.stringify(r, null, 1)}\n`);
        else process.stderr.write(transferLine(verb, r));
        if (r.unavailable) exit = 1;
      });
  }

  program
    .command('remote')
    .description('remote cache keys')
    .command('keygen')
    .description('make an ed25519 key pair for signing pushed entries: <prefix>.key (PIPELINE_REMOTE_KEY) and <prefix>.pub (for readers\' PIPELINE_REMOTE_TRUST)')
    .requiredOption('-o, --out <prefix>', 'file name prefix')
    .action((o) => {
      const k = keygenCommand(o.out);
      process.stdout.write(`private key: ${k.privateFile} (keep it secret: PIPELINE_REMOTE_KEY)\npublic key:  ${k.publicFile} (readers add it to their PIPELINE_REMOTE_TRUST file)\nsigner:      ${k.signer}\n`);
    });

  program
    .command('exec <job-file>')
    .description('run one task of a job file written by the slurm executor (what a Slurm job runs on a compute node)')
    .option('--task <i>', 'task index (default: $SLURM_ARRAY_TASK_ID, else 0)', (v: string) => Number(v))
    .action(async (file: string, o) => {
      const r = await execCommand(file, { task: o.task });
      if (Object.values(r.nodes).some((n) => n.status === 'failed')) exit = 1;
    });

  program
    .command('ls')
    .description('list targets and stage kinds')
    .option('--json', 'as JSON')
    .action(async (o) => {
      const l = await listCommand(ctx);
      if (o.json) return void process.stdout.write(`${JSON.stringify(l, null, 1)}\n`);
      process.stdout.write('targets:\n');
      for (const t of l.targets) process.stdout.write(`  ${t.name.padEnd(10)} ${t.aliases.join(',').padEnd(14)} ${t.title}\n`);
      process.stdout.write('stages:\n');
      for (const s of l.stages) process.stdout.write(`  ${s.kind.padEnd(14)} ${s.description}\n`);
    });

  targetOptions(program.command('show <target-or-node>').description('a target (stages, sweep, node count) or a built node (params, key, outputs)'))
    .option('--json', 'as JSON')
    .action(async (what: string, o) => {
      const info = await showCommand(what, base(o));
      process.stdout.write(`${JSON.stringify(info, null, o.json ? 1 : 2)}\n`);
    });

  program
    .command('init')
    .description('a new project in this folder: a Python command stage, a TypeScript stage, a report')
    .action(() => {
      const files = initCommand(process.cwd());
      process.stdout.write(`wrote ${files.join(', ')}\nnext: npx pipeline run experiment\n`);
    });

  program
    .command('logs <node>')
    .description("a node's captured stdout and stderr (a command stage's), or its failure log")
    .option('-t, --target <name>', 'look only in this target\'s last run')
    .option('--cache-dir <dir>', 'cache folder (default: $PIPELINE_CACHE_DIR or ./cache)')
    .action((node: string, o) => {
      const r = logsCommand(node, { ...base(o), target: o.target });
      for (const f of r.files) process.stdout.write(`==> ${r.node} ${f.name} (${r.state}, ${f.path})\n${f.text}${f.text.endsWith('\n') || !f.text ? '' : '\n'}`);
      if (!r.files.length) process.stdout.write(`${r.node}: ${r.state}, no output was captured\n`);
    });

  targetOptions(program.command('graph <target>').description('the target graph as a Mermaid flowchart (GitHub renders it)'))
    .option('--nodes', 'one box per node instead of per stage')
    .action(async (target: string, o) => {
      process.stdout.write(`${await graphCommand(target, { ...base(o), nodes: o.nodes })}\n`);
    });

  targetOptions(program.command('diff <target>').description('two builds side by side: the last two runs, or the target against a variant (--set k=v); per cell the change of each result field'))
    .option('--field <name>', 'result field to show (repeatable; default: the *_mean fields)', collect, [])
    .option('--json', 'the whole comparison as JSON on stdout')
    .action(async (target: string, o) => {
      const r = await diffCommand(target, { ...base(o), fields: o.field });
      if (o.json) return void process.stdout.write(`${JSON.stringify(r, null, 1)}\n`);
      const out = process.stdout;
      out.write(`A: ${r.a.label}\nB: ${r.b.label}\n`);
      for (const [k, [x, y]] of Object.entries(r.diff.changed)) out.write(`changed as a whole: ${k} ${x} -> ${y}\n`);
      const fixed = Object.entries(r.diff.fixed).map(([k, v]) => `${k} ${v}`);
      if (fixed.length) out.write(`same in every cell: ${fixed.join(', ')}\n`);
      const { header, rows } = diffRows(r.diff, r.shown);
      out.write(`\n${formatTable(header, rows).join('\n')}\n\n`);
      for (const l of r.summary) out.write(`${l}\n`);
      if (r.diff.onlyA || r.diff.onlyB) out.write(`${r.diff.onlyA} cells only in A, ${r.diff.onlyB} only in B (not compared)\n`);
      out.write(`written: ${r.written} (with overlay.svg, diff.json)\n`);
    });

  program
    .command('schema')
    .description("JSON Schema of the config language from the stage kinds' params (for editors: configs name it in their first line)")
    .option('-o, --out <file>', 'write it to this file (e.g. configs/pipeline.schema.json) instead of stdout')
    .action(async (o) => {
      const r = await schemaCommand({ ...ctx, out: o.out });
      if (r.written) process.stderr.write(`wrote ${r.written}\n`);
      else process.stdout.write(r.text);
    });

  program
    .command('gc')
    .description("remove cache entries no target's recent runs use")
    .option('--dry-run', 'only say what would go')
    .option('--keep-last <n>', 'keep what the last n runs of each target used', wholeNumberOption('--keep-last', 1), 1)
    .option('--cache-dir <dir>', 'cache folder')
    .action((o) => {
      const r = gcCommand({ ...ctx, cacheDir: o.cacheDir, dryRun: o.dryRun, keepLast: o.keepLast });
      process.stdout.write(`${r.dryRun ? 'would remove' : 'removed'} ${r.removed} entries (${(r.bytes / 1e6).toFixed(1)} MB), kept ${r.kept}\n`);
    });

  program
    .command('clean')
    .description('delete the whole cache')
    .option('--cache-dir <dir>', 'cache folder')
    .action((o) => {
      process.stdout.write(`removed ${cleanCommand({ ...ctx, cacheDir: o.cacheDir }).removed}\n`);
    });

  program
    .command('verify [target]')
    .description('re-hash stored outputs (a damaged entry is removed and recomputed by the next run); re-execute a sample and compare')
    .option('--sample <p>', 're-execute this fraction of the entries (0..1) and compare output digests', (v: string) => {
      const n = Number(v);
      if (!(v.trim() !== '' && n >= 0 && n <= 1)) throw new PipelineError(`expects a fraction between 0 and 1, got "${v.slice(0, 40)}"`, { key: '--sample' });
      return n;
    }, 0)
    .option('-j, --jobs <n>', `nodes re-executed at once (at most ${maxJobs()})`, jobsOption)
    .option('--cache-dir <dir>', 'cache folder')
    .action(async (target: string | undefined, o) => {
      const r = await verifyCommand({ ...ctx, cacheDir: o.cacheDir, target, sample: o.sample, jobs: o.jobs });
      for (const c of r.corrupt) process.stdout.write(`corrupt: ${c.id} (${c.key.slice(0, 12)}): ${c.files.join(', ')}; removed, the next run recomputes it\n`);
      for (const d of r.differing) process.stdout.write(`not reproducible: ${d.id} (${d.key.slice(0, 12)}): ${d.outputs.join(', ')} differ when re-executed\n`);
      for (const k of r.skipped) process.stdout.write(`skipped: ${k.id}: ${k.reason}\n`);
      process.stdout.write(`verified ${r.checked} entries: ${r.corrupt.length} corrupt; re-executed ${r.reexecuted}: ${r.differing.length} differ\n`);
      if (r.corrupt.length || r.differing.length) exit = 1;
    });

  try {
    await program.parseAsync(argv, { from: 'user' });
  } catch (e) {
    const code = (e as { code?: string }).code;
    if (code === 'commander.helpDisplayed' || code === 'commander.version' || code === 'commander.help') return 0;
    if (code?.startsWith('commander.')) return 2;
    return reportError(e, argv, ctx, debug);
  }
  return exit;
}
