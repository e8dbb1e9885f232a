/**
 * The `pipeline` CLI: parses arguments, calls engine/commands.ts, prints. Exit codes: 0 success,
 * 1 a node failed, 2 bad input (config, arguments).
 */
import { Command, Option } from 'commander';
import {
  cleanCommand,
  gcCommand,
  graphCommand,
  listCommand,
  planCommand,
  runCommand,
  showCommand,
  verifyCommand,
  type RunSummary,
  type TargetOptions,
} from './engine/commands.ts';
import { formatError, PipelineError } from './engine/errors.ts';
import { schemaCommand } from './engine/commands/schema.ts';
import { diffCommand } from './engine/commands/diff.ts';
import { diffRows, formatTable } from './engine/results-diff.ts';
import { formatFailure } from './engine/failures.ts';
import { formatGroups, groupByStage } from './engine/plan-format.ts';
import { readFileSync } from 'node:fs';

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

function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new PipelineError(`--jobs expects a whole number >= 1, got "${value}"`);
  return n;
}

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
  for (const p of s.published) err.write(`report: ${p}/README.md\n`);
  for (const f of s.failures) {
    err.write(`${formatFailure(f)}\n`);
    if (debug && f.log) err.write(`${readLog(f.log)}\n`);
  }
  if (s.skipped) err.write(`${s.skipped} ${s.skipped === 1 ? 'node' : 'nodes'} skipped: an upstream node failed\n`);
}

export async function main(argv: string[], ctx: Context): Promise<number> {
  let exit = 0;
  const program = new Command('pipeline')
    .description('Declarative, cached DAG builds of ML experiments (neural collapse: kernels vs networks).')
    .showHelpAfterError()
    .exitOverride();
  const targetOptions = (cmd: Command) =>
    cmd
      .option('-p, --profile <name>', 'profile of the target config (quick, full)')
      .option('-s, --set <key=value>', 'override a variable or dotted config path (repeatable)', collect, [])
      .option('-j, --jobs <n>', 'nodes run at once (default: number of cores)', positiveInt)
      .option('--cache-dir <dir>', 'cache folder (default: $PIPELINE_CACHE_DIR or ./cache)');
  const base = (o: Record<string, unknown>): TargetOptions => ({
    packageRoot: ctx.packageRoot,
    buildDir: ctx.buildDir,
    profile: o.profile as string | undefined,
    set: o.set as string[] | undefined,
    jobs: o.jobs as number | undefined,
    cacheDir: o.cacheDir as string | undefined,
    force: o.force as boolean | undefined,
  });

  targetOptions(program.command('run <target>').description('build a target (configs/<target>.yml or a .yml path) and publish its report'))
    .option('-f, --force', 'rerun every node even if cached')
    .option('--json', 'print the run summary as JSON on stdout')
    .option('--explain', 'say per stage how many nodes ran and which part of their keys changed')
    .option('-v, --verbose', 'with --explain: one line per node')
    .option('-q, --quiet', 'no progress output (the summary and failures are still printed)')
    .option('--debug', "print a failed node's stack (its log file) after its one-line reason")
    .action(async (target: string, o) => {
      const s = await runCommand(target, { ...base(o), quiet: o.quiet || o.json });
      if (o.json) process.stdout.write(`${JSON.stringify(s, null, 1)}\n`);
      if (!o.json || s.failed) printSummary(s, 'run', o.explain ?? false, o.debug ?? false, o.verbose ?? false);
      if (s.failed || s.skipped) exit = 1;
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
    .option('--keep-last <n>', 'keep what the last n runs of each target used', positiveInt, 1)
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
      if (!(n >= 0 && n <= 1)) throw new PipelineError(`--sample expects a fraction between 0 and 1, got "${v}"`);
      return n;
    }, 0)
    .option('-j, --jobs <n>', 'nodes re-executed at once', positiveInt)
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
    process.stderr.write(`error: ${formatError(e)}\n`);
    return e instanceof PipelineError ? e.exitCode : 1;
  }
  return exit;
}
