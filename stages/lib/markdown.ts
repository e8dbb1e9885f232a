/** Small Markdown helpers for reports. */
export function table(header: string[], rows: (string | number)[][]): string {
  return [`| ${header.join(' | ')} |`, `|${header.map(() => '---').join('|')}|`, ...rows.map((r) => `| ${r.join(' | ')} |`)].join('\n');
}

export function fmt(v: number | null | undefined, digits = 3): string {
  return v === null || v === undefined || !Number.isFinite(v) ? 'n/a' : v.toFixed(digits);
}

export function meanStd(mean: number | null, std: number | null): string {
  return mean === null ? '**failed**' : `${fmt(mean)} ± ${fmt(std)}`;
}

/**
 * A report's description split for its layout: the first paragraph leads (what the figure
 * reproduces), the rest goes below the numbers ("About this figure"), so the first screen holds
 * the findings, the figures and the table.
 */
export function splitDescription(description: string): { lead: string; rest: string } {
  const [lead = '', ...rest] = description.trim().split(/\n\s*\n/);
  return { lead: lead.trim(), rest: rest.join('\n\n').trim() };
}

/** "## About this figure" and the rest of the description, or nothing. */
export function aboutSection(rest: string): string[] {
  return rest ? ['## About this figure', '', rest, ''] : [];
}
