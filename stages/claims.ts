/**
 * The `paper` report: each claim of the abstract checked cell by cell on the figures' own
 * results (their report nodes' results.json), so the verdicts are computed, cached and rebuilt
 * with the figures, never typed in. Each check names the figure and the profile it was built at.
 */
import { defineStage, single } from '../engine/stage-api.ts';
import { checkClaims, type ClaimCell, type ClaimCheck, type FigureResults } from './lib/claims.ts';
import { aboutSection, splitDescription, table } from './lib/markdown.ts';
import { REPORT_PARAMS } from './lib/report-params.ts';

interface Params {
  title: string;
  description: string;
  target: string;
  profile: string;
  trend_tol: number;
}

const coord = (c: Record<string, string | number>, skip: string[] = []) =>
  Object.entries(c)
    .filter(([k]) => !skip.includes(k))
    .map(([k, v]) => `${k === 'class_sizes' ? 'class sizes' : k} = ${v}`)
    .join(', ');

/** Cells compactly: "N = 128: d0 1, 2, 8; N = 256: d0 1" (grouped by everything but d0). */
function compact(cells: ClaimCell[]): string {
  if (!cells.length) return 'none';
  const groups = new Map<string, string[]>();
  for (const c of cells) {
    const g = coord(c.cell, ['d0']);
    groups.set(g, [...(groups.get(g) ?? []), String(c.cell.d0)]);
  }
  return [...groups].map(([g, d0s]) => `${g ? `${g}: ` : ''}d0 ${d0s.join(', ')}`).join('; ');
}

function verdict(c: ClaimCheck): string {
  const n = c.supports.length + c.against.length;
  if (!n) return 'no cell could be compared';
  if (!c.against.length) return `holds in all ${n} cells`;
  if (!c.supports.length) return `holds in none of ${n} cells`;
  return `holds in ${c.supports.length} of ${n} cells`;
}

function checkSection(c: ClaimCheck): string[] {
  const lines = [
    `- **${c.name}** (${c.target}, profile \`${c.profile}\`): ${verdict(c)}. Test: ${c.test}.`,
    `  - Supporting cells (${c.supports.length}): ${compact(c.supports)}.`,
    `  - Cells against (${c.against.length}): ${compact(c.against)}.`,
    ...(c.undecided.length ? [`  - Cells that cannot tell (a side failed or is missing) (${c.undecided.length}): ${c.undecided.map((u) => `${coord(u.cell)} (${u.detail})`).join('; ')}.`] : []),
  ];
  if (c.against.length) lines.push('', `  Cells against, ${c.name}:`, '', table(['cell', 'values'], c.against.map((x) => [coord(x.cell), x.detail])).replace(/^/gm, '  '), '');
  return lines;
}

export default defineStage<Params>({
  description: "The abstract's claims checked cell by cell on the figures' results: Markdown report and results.json",
  light: true,
  params: {
    ...REPORT_PARAMS,
    trend_tol: { type: 'number', default: 0.01, min: 0, doc: 'claim (c): a change of mean log10 NC1 within this many dex between consecutive d0 counts as flat' },
  },
  inputs: {
    ntk: { doc: 'report node of the NTK-vs-NNGP figure (fig3): models nngp, ntk, ntk_compat', needs: ['results.json'] },
    activation: { doc: 'report node of the erf-vs-relu figure (fig4)', needs: ['results.json'] },
    adaptive: { doc: 'report node of the adaptive-kernel figure (fig5): nngp, fcn, adaptive', needs: ['results.json'] },
    imbalanced: { doc: 'report node of the imbalanced-classes figure (fig6)', optional: true, needs: ['results.json'] },
  },
  run({ params: p, inputs }) {
    const fig = (port: string) => single(inputs[port]!, port).json<FigureResults>('results.json');
    const figures = { ntk: fig('ntk'), activation: fig('activation'), adaptive: fig('adaptive'), imbalanced: inputs.imbalanced ? fig('imbalanced') : undefined };
    const claims = checkClaims({ ...figures, trendTol: p.trend_tol });
    const built = Object.values(figures).filter((f): f is FigureResults => !!f);
    const profiles = [...new Set(built.map((f) => f.profile))];
    const { lead, rest } = splitDescription(p.description);
    const count = (c: ClaimCheck) => `${c.supports.length}/${c.supports.length + c.against.length}`;
    const headline = claims.map((c) => `(${c.id}) ${c.checks.map(count).join(', ')}`).join('; ') + ' cells support the claims';
    const md = [
      `# ${p.title}`,
      '',
      ...(lead ? [lead, ''] : []),
      '## Claims',
      '',
      `Each claim of the abstract, checked cell by cell (a cell: one N, d0 and class sizes; the mean of log10 NC1 over its repeats) on the figures' own results, at the profile each figure was built at: ${built.map((f) => `${f.target} \`${f.profile}\``).join(', ')}${profiles.length === 1 ? ` (this build: profile \`${p.profile}\`)` : ''}. A cell supports a claim when the inequality holds for the means; differences within the repeats' spread are not tested here (see each figure's table for the standard deviations).`,
      '',
      `**Trend** (claim c): for one N (and class sizes) and two consecutive d0 of the sweep, the sign of the change of mean log10 NC1 from the smaller d0 to the larger — up, down, or flat when it is within ${p.trend_tol} dex (\`trend_tol\`). A pair of consecutive d0 where the adaptive kernel's trend differs from the trained network's supports "may not follow the trends"; a pair where they agree does not. The claim says *may not*: one supporting pair shows it, and the count says how often.`,
      '',
      ...claims.flatMap((c) => [`### (${c.id}) ${c.statement}`, '', ...(c.checks.length ? c.checks.flatMap(checkSection) : ['- No figure of this build has the models this claim needs.']), '']),
      'Machine-readable: [results.json](./results.json) (every cell of every check).',
      '',
      ...aboutSection(rest),
    ].join('\n');
    return {
      'README.md': md,
      'results.json': { target: p.target, profile: p.profile, headline, trend_tol: p.trend_tol, figures: Object.fromEntries(built.map((f) => [f.target, { profile: f.profile }])), claims },
    };
  },
});
