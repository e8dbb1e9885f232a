/**
 * `pipeline diff <target>`: two builds of a target side by side — its last two recorded runs, or
 * the target as configured against a variant (`--set activation=relu`, built first if needed,
 * without publishing it). Compares the results.json of the report node of each build
 * (engine/report/results-diff.ts) and writes reports/diffs/<target>/: README.md with the table and an
 * overlay figure, diff.json.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { RunRef } from '../store/cache.ts';
import { ensureBundle } from '../keys/compile.mjs';
import { runCommand, type TargetOptions } from '../commands.ts';
import { PipelineError } from '../errors.ts';
import { defaultFields, diffResults, diffRows, fieldSummary, type ResultsDiff } from '../report/results-diff.ts';
import { openSession, prepareTarget, type Session } from '../run/session.ts';

export interface DiffOptions extends TargetOptions {
  /** Result fields to show (default: the *_mean fields, else the first few). */
  fields?: string[];
}

export interface DiffReport {
  target: string;
  a: { label: string; key: string };
  b: { label: string; key: string };
  shown: string[];
  summary: string[];
  diff: ResultsDiff;
  /** reports/diffs/<target>/README.md, relative to the working folder. */
  written: string;
}

type VegaLib = typeof import('../../stages/lib/vega.ts');

/**
 * The figure helpers as a separate bundle with vega left external, as stages load it: inlined into
 * the CLI's bundle, vega would be parsed by every command (a no-op run must stay fast).
 */
async function loadVega(s: Session): Promise<VegaLib> {
  const b = await ensureBundle(join(s.roots.packageRoot, 'stages', 'lib', 'vega.ts'), { buildDir: s.roots.buildDir, root: s.roots.packageRoot });
  return (await import(pathToFileURL(b.file).href)) as VegaLib;
}

interface Side {
  label: string;
  key: string;
  results: Record<string, unknown>;
}

function readResults(s: Session, key: string, label: string): Record<string, unknown> {
  try {
    return JSON.parse(readFileSync(join(s.cache.entryDir(key), 'results.json'), 'utf8')) as Record<string, unknown>;
  } catch {
    throw new PipelineError(`the report of ${label} (${key.slice(0, 12)}) is no longer in the cache or has no results.json; run it again`);
  }
}

/** The last two recorded runs of the target whose report nodes differ. */
function lastTwoRuns(s: Session, target: string, reportId: string): [Side, Side] {
  const runs = s.cache.readRefs(target).filter((r: RunRef) => r.nodes[reportId]);
  const newest = runs[0];
  const older = runs.find((r) => r.nodes[reportId] !== newest?.nodes[reportId]);
  if (!newest || !older) {
    throw new PipelineError(
      `${target} has ${runs.length ? 'one recorded build of its report' : 'no recorded build'} in this cache (${s.cache.dir}); diff needs two: run it again after a change, or compare a variant: pipeline diff ${target} --set <key>=<value>`,
    );
  }
  const side = (r: RunRef, which: string): Side => {
    const label = `${which} (${r.time.slice(0, 19).replace('T', ' ')}, ${r.profile})`;
    return { label, key: r.nodes[reportId], results: readResults(s, r.nodes[reportId], label) };
  };
  return [side(older, 'previous run'), side(newest, 'last run')];
}

/** Builds (or finds cached) the target with the given overrides, without publishing; its report node's key. */
async function buildSide(name: string, opts: DiffOptions, set: string[], label: string, s: Session): Promise<Side> {
  const run = await runCommand(name, { ...opts, set, publish: false, force: false });
  const { exp, target } = await prepareTarget(s, name, opts.profile, set);
  const id = exp.publish[target.name];
  const node = run.nodes.find((n) => n.id === id);
  if (!node?.key || (node.status !== 'ran' && node.status !== 'cached')) {
    throw new PipelineError(`could not build ${label}: ${run.failures.map((f) => `${f.id}: ${f.message}`).join('; ') || `its report node ${id} ${node?.status ?? 'is missing'}`}`, {}, 1);
  }
  return { label, key: node.key, results: readResults(s, node.key, label) };
}

export async function diffCommand(name: string, opts: DiffOptions): Promise<DiffReport> {
  const s = openSession(opts);
  const { target, exp } = await prepareTarget(s, name, opts.profile, opts.set);
  const reportId = exp.publish[target.name];
  if (!reportId) throw new PipelineError(`${target.name} publishes no report (no \`publish:\`), so there is nothing to compare`, { file: target.file });
  const variant = opts.set ?? [];
  const [a, b] = variant.length
    ? [await buildSide(name, opts, [], `${target.name} as configured`, s), await buildSide(name, opts, variant, variant.join(' '), s)]
    : lastTwoRuns(s, target.name, reportId);
  const diff = diffResults(a.results, b.results);
  const unknown = (opts.fields ?? []).filter((f) => !diff.fields.includes(f));
  if (unknown.length) throw new PipelineError(`--field ${unknown.join(', ')}: not a result field of ${target.name} (fields: ${diff.fields.join(', ')})`);
  const shown = opts.fields?.length ? opts.fields : defaultFields(diff);
  const dir = join(s.reportsDir, 'diffs', target.name);
  mkdirSync(dir, { recursive: true });
  const overlay = await overlaySvg(diff, shown[0], a.label, b.label, () => loadVega(s));
  if (overlay) writeFileSync(join(dir, 'overlay.svg'), overlay);
  const summary = fieldSummary(diff, shown);
  writeFileSync(join(dir, 'README.md'), markdown(target.name, target.title, a, b, diff, shown, summary, !!overlay));
  writeFileSync(join(dir, 'diff.json'), `${JSON.stringify({ target: target.name, a: { label: a.label, key: a.key }, b: { label: b.label, key: b.key }, ...diff }, null, 1)}\n`);
  const written = relative(opts.cwd ?? process.cwd(), join(dir, 'README.md'));
  return { target: target.name, a: { label: a.label, key: a.key }, b: { label: b.label, key: b.key }, shown, summary, diff, written };
}

function markdown(name: string, title: string, a: Side, b: Side, d: ResultsDiff, shown: string[], summary: string[], figure: boolean): string {
  const { header, rows } = diffRows(d, shown);
  const changed = Object.entries(d.changed).map(([k, [x, y]]) => `\`${k}\` ${x} → ${y}`);
  const fixed = Object.entries(d.fixed).map(([k, v]) => `${k} ${v}`);
  return [
    `# diff of ${name}: ${a.label} vs ${b.label}`,
    '',
    `${title}. A = ${a.label} (report \`${a.key.slice(0, 12)}\`), B = ${b.label} (report \`${b.key.slice(0, 12)}\`).${changed.length ? ` Changed as a whole: ${changed.join(', ')}.` : ''}${fixed.length ? ` Same in every cell: ${fixed.join(', ')}.` : ''}`,
    '',
    ...summary.map((l) => `- ${l}`),
    ...(d.onlyA || d.onlyB ? [`- ${d.onlyA} cells only in A, ${d.onlyB} only in B (not compared).`] : []),
    '',
    ...(figure ? [`![${shown[0]}: A solid, B dashed](./overlay.svg)`, ''] : []),
    `| ${header.join(' | ')} |`,
    `|${header.map(() => '---').join('|')}|`,
    ...rows.map((r) => `| ${r.join(' | ')} |`),
    '',
    'Every field of every cell: [diff.json](./diff.json). Generated by `npx pipeline diff`.',
    '',
  ].join('\n');
}

const X_CANDIDATES = ['d0', 'step', 'epoch', 'index', 'N'];

/** Both builds in one figure: x the first varying coordinate, a panel per model, colour per other coordinates, A solid and B dashed. */
async function overlaySvg(d: ResultsDiff, field: string | undefined, labelA: string, labelB: string, loadVega: () => Promise<VegaLib>): Promise<string | undefined> {
  if (!field) return undefined;
  const varies = (k: string) => new Set(d.cells.map((c) => c.coords[k])).size > 1;
  const x = X_CANDIDATES.find((k) => d.coordinates.includes(k) && varies(k) && d.cells.every((c) => typeof c.coords[k] === 'number'));
  if (!x) return undefined;
  const facet = d.coordinates.includes('model') && x !== 'model' ? 'model' : undefined;
  const rest = d.coordinates.filter((k) => k !== x && k !== facet && varies(k));
  const seriesOf = (c: (typeof d.cells)[number]) => rest.map((k) => (typeof c.coords[k] === 'number' ? `${k} = ${c.coords[k]}` : String(c.coords[k]))).join(', ') || 'all';
  const values = d.cells.flatMap((c) =>
    (['a', 'b'] as const)
      .filter((side) => c.fields[field]?.[side] !== null && c.fields[field]?.[side] !== undefined)
      .map((side) => ({ x: c.coords[x], y: c.fields[field][side], panel: facet ? c.coords[facet] : '', series: seriesOf(c), build: side === 'a' ? `A: ${labelA}` : `B: ${labelB}` })),
  );
  const { renderSvg, SERIES_COLOURS, LEGEND } = await loadVega();
  const logX = x === 'd0' || x === 'N';
  const series = [...new Set(values.map((v) => v.series))];
  const builds = [`A: ${labelA}`, `B: ${labelB}`];
  const layer = {
    width: 220,
    height: 180,
    mark: { type: 'line', point: { filled: true, size: 40 }, strokeWidth: 1.8 },
    encoding: {
      x: { field: 'x', type: 'quantitative', title: x, scale: logX ? { type: 'log', base: 2 } : { zero: false }, axis: logX ? { values: [...new Set(values.map((v) => v.x))] } : {} },
      y: { field: 'y', type: 'quantitative', title: field, scale: { zero: false } },
      color: { field: 'series', type: 'nominal', title: rest.join(', ') || 'series', sort: series, scale: { domain: series, range: SERIES_COLOURS }, legend: { ...LEGEND } },
      strokeDash: { field: 'build', type: 'nominal', title: 'build', sort: builds, scale: { domain: builds, range: [[1, 0], [6, 3]] }, legend: { ...LEGEND } },
      shape: { field: 'build', type: 'nominal', title: 'build', sort: builds, scale: { domain: builds, range: ['circle', 'triangle-up'] }, legend: { ...LEGEND } },
      detail: { field: 'build' },
    },
  };
  const spec = {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    title: `${field}: A solid, B dashed`,
    data: { values },
    ...(facet ? { facet: { column: { field: 'panel', type: 'nominal', title: null, header: { labelFontSize: 12, labelFontWeight: 'bold' } } }, spec: layer } : layer),
    config: { font: 'sans-serif', view: { stroke: '#ddd' }, legend: { titleFontSize: 12, labelFontSize: 11 } },
  };
  return renderSvg(spec);
}
