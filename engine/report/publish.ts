/**
 * Copies a target's report node outputs to reports/<target>/ and adds provenance: what built it,
 * from which config, code and environment. Written to a staging folder and swapped in whole.
 */
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { isSafeOutputName, type Cache, type NodeMeta } from '../store/cache.ts';
import type { TargetSpec } from '../config/config.ts';
import { listTargets } from '../config/config.ts';
import type { PlanNode } from '../config/expand.ts';
import type { NodeResult } from '../run/scheduler.ts';
import type { LoadedStage } from '../keys/stages.ts';

export interface PublishContext {
  cache: Cache;
  reportsDir: string;
  projectRoot: string;
  nodes: PlanNode[];
  results: Map<string, { result: NodeResult; meta?: NodeMeta }>;
  stages: Map<string, LoadedStage>;
  force?: boolean;
}

const KEY_FILE = '.report-key';

function gitCommit(root: string, reportsDir: string): string {
  try {
    const head = execFileSync('git', ['rev-parse', '--short=12', 'HEAD'], { cwd: root, stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim();
    // Published reports are outputs, not sources: their own changes do not make the build dirty.
    const exclude = `:(exclude)${relative(root, reportsDir) || '.'}`;
    const dirty = execFileSync('git', ['status', '--porcelain', '--untracked-files=no', '--', '.', exclude], { cwd: root, stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim();
    return dirty ? `${head} (with uncommitted changes)` : head;
  } catch {
    return 'unknown (not a git checkout)';
  }
}

/** A node's result with its meta (a no-op run does not read metas; publishing does). */
function withMeta(ctx: PublishContext, id: string): { result: NodeResult; meta?: NodeMeta } | undefined {
  const done = ctx.results.get(id);
  if (!done || done.meta || !done.result.key) return done;
  return { ...done, meta: ctx.cache.readMeta(done.result.key) };
}

/**
 * What built a report, as a function of the build's node keys, config and commit only: no clock,
 * no timings, no cached-or-ran counts, so republishing the same nodes gives the same bytes.
 * README.md gets a short summary; provenance.json every node's key.
 */
function provenance(t: TargetSpec, ctx: PublishContext, reached: PlanNode[]): { markdown: string; json: string } {
  const kinds = [...new Set(reached.map((n) => n.kind))].sort();
  const perStage = new Map<string, number>();
  for (const n of reached) perStage.set(n.stage, (perStage.get(n.stage) ?? 0) + 1);
  const commit = gitCommit(ctx.projectRoot, ctx.reportsDir);
  const overrides = t.overrides.length ? `, overrides \`${t.overrides.join(' ')}\`` : '';
  const stageSummary = [...perStage].map(([stage, n]) => `${stage} ${n}`).join(', ');
  const markdown = [
    '## Provenance',
    '',
    `- Config \`${t.file}\`, profile \`${t.profile}\`${overrides}; git commit ${commit}; Node ${process.version}.`,
    `- ${reached.length} nodes: ${stageSummary}. Every node's key: [provenance.json](./provenance.json); \`npx pipeline show <node id>\` shows one.`,
    '',
    '| stage kind | code fingerprint | environment |',
    '|---|---|---|',
    ...kinds.map((k) => {
      const s = ctx.stages.get(k)!;
      const env = Object.entries(s.env).map(([n, v]) => `${n} ${v}`).join(', ');
      return `| ${k} | \`${s.code.slice(0, 12)}\` | ${env || '-'} |`;
    }),
    '',
  ].join('\n');
  const json = {
    target: t.name,
    config: t.file,
    profile: t.profile,
    overrides: t.overrides,
    commit,
    node: process.version,
    stages: Object.fromEntries(kinds.map((k) => [k, { code: ctx.stages.get(k)!.code, env: ctx.stages.get(k)!.env }])),
    nodes: Object.fromEntries(reached.map((n) => [n.id, ctx.results.get(n.id)?.result.key ?? null])),
  };
  return { markdown, json: `${JSON.stringify(json, null, 1)}\n` };
}

/** Nodes a published node depends on, itself included. */
function closure(nodes: PlanNode[], id: string): PlanNode[] {
  const byId = new Map(nodes.map((n) => [n.id, n]));
  const seen = new Set<string>();
  const stack = [id];
  while (stack.length) {
    const cur = stack.pop()!;
    if (seen.has(cur)) continue;
    seen.add(cur);
    for (const inp of Object.values(byId.get(cur)!.inputs)) stack.push(...inp.ids);
  }
  return nodes.filter((n) => seen.has(n.id));
}

/** Publishes one target; returns false when its report node did not succeed. Skips an unchanged report. */
export function publishTarget(t: TargetSpec, nodeId: string, ctx: PublishContext): 'published' | 'unchanged' | 'failed' {
  const done = withMeta(ctx, nodeId);
  if (!done?.meta) return 'failed';
  const dest = join(ctx.reportsDir, t.name);
  const keyFile = join(dest, KEY_FILE);
  if (!ctx.force && existsSync(keyFile) && readFileSync(keyFile, 'utf8') === done.meta.key) return 'unchanged';
  removeLeftovers(ctx.reportsDir, t.name);
  const staging = join(ctx.reportsDir, `.staging-${t.name}-${process.pid}`);
  try {
    fillStaging(t, nodeId, done.meta, staging, ctx);
  } catch (e) {
    // A fault (a full disk, an entry gone) leaves the old report as it was and no staging folder.
    rmSync(staging, { recursive: true, force: true });
    throw e;
  }
  const old = join(ctx.reportsDir, `.old-${t.name}-${process.pid}`);
  if (existsSync(dest)) renameSync(dest, old);
  try {
    renameSync(staging, dest);
  } catch (e) {
    if (existsSync(old)) renameSync(old, dest);
    rmSync(staging, { recursive: true, force: true });
    throw e;
  }
  rmSync(old, { recursive: true, force: true });
  return 'published';
}

/**
 * Staging and old folders of this target that a process ended mid-publish left behind (killed, or
 * a version that did not clean up after a fault): removed unless their process is alive.
 */
function removeLeftovers(reportsDir: string, target: string): void {
  let names: string[];
  try {
    names = readdirSync(reportsDir);
  } catch {
    return;
  }
  for (const name of names) {
    const m = /^\.(?:staging|old)-(.+)-(\d+)$/.exec(name);
    if (!m || m[1] !== target) continue;
    const pid = Number(m[2]);
    if (pid !== process.pid && pidAlive(pid)) continue;
    rmSync(join(reportsDir, name), { recursive: true, force: true });
  }
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The report's files: the node's outputs, then its provenance. */
function fillStaging(t: TargetSpec, nodeId: string, meta: NodeMeta, staging: string, ctx: PublishContext): void {
  rmSync(staging, { recursive: true, force: true });
  mkdirSync(staging, { recursive: true });
  const done = { meta };
  const src = ctx.cache.entryDir(done.meta.key);
  for (const name of Object.keys(done.meta.outputs)) {
    // readMeta already refuses such metas; checked again where a name becomes a path outside the cache.
    if (!isSafeOutputName(name)) throw new Error(`refusing to publish output "${name}" of ${nodeId}: not a plain file name`);
    copyFileSync(join(src, name), join(staging, name));
  }
  const readme = join(staging, 'README.md');
  const prov = provenance(t, ctx, closure(ctx.nodes, nodeId));
  writeFileSync(readme, existsSync(readme) ? `${readFileSync(readme, 'utf8').trimEnd()}\n\n${prov.markdown}` : `# ${t.title}\n\n${prov.markdown}`);
  writeFileSync(join(staging, 'provenance.json'), prov.json);
  writeFileSync(join(staging, KEY_FILE), done.meta.key);
}

/**
 * What an index row shows of a built report: the figure results.json names (`figure`), else its
 * first figure by name, and the headline in results.json.
 */
function reportPreview(dir: string): { figure?: string; headline: string; profile?: string } {
  const svgs = existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith('.svg')).sort() : [];
  try {
    const r = JSON.parse(readFileSync(join(dir, 'results.json'), 'utf8')) as { headline?: unknown; profile?: unknown; figure?: unknown };
    const named = typeof r.figure === 'string' && svgs.includes(r.figure) ? r.figure : undefined;
    return { figure: named ?? svgs[0], headline: typeof r.headline === 'string' ? r.headline : '', profile: typeof r.profile === 'string' ? r.profile : undefined };
  } catch {
    return { figure: svgs[0], headline: '' };
  }
}

/** reports/README.md: every target with a small figure and its headline when its report exists. */
export function writeReportsIndex(reportsDir: string, projectRoot: string): void {
  const rows = listTargets(projectRoot).map((t) => {
    const dir = join(reportsDir, t.name);
    if (t.include.length && !existsSync(join(dir, 'README.md'))) return `| ${t.name} | ${t.title} | | builds ${t.include.join(', ')}: \`npx pipeline run ${t.name}\` |`;
    if (!existsSync(join(dir, 'README.md'))) return `| ${t.name} | ${t.title} | | not built yet: \`npx pipeline run ${t.name}\` |`;
    const p = reportPreview(dir);
    const img = p.figure ? `<img src="${t.name}/${p.figure}" width="260">` : '';
    return `| [${t.name}](${t.name}/README.md)${t.aliases.length ? ` (${t.aliases.join(', ')})` : ''} | ${t.title}${p.profile ? ` (profile ${p.profile})` : ''} | ${img} | ${p.headline} |`;
  });
  const text = ['# Reports', '', 'Generated by `npx pipeline run <target>` (or `paper` for all); do not edit by hand.', '', '| target | content | figure | finding |', '|---|---|---|---|', ...rows, ''].join('\n');
  mkdirSync(reportsDir, { recursive: true });
  const path = join(reportsDir, 'README.md');
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, text);
  renameSync(tmp, path);
}
