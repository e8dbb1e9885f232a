/** Errors are values with a reason and a location; the CLI prints each once. */
export interface Location {
  file?: string;
  line?: number;
  /** 1-based column (data files). */
  column?: number;
  /** Dotted path of the offending key, e.g. "stages.data.params.std". */
  key?: string;
}

/** Exit codes: 1 = a node failed while running; 2 = the request itself is wrong (bad config, CLI use). */
export class PipelineError extends Error {
  constructor(
    message: string,
    readonly location: Location = {},
    readonly exitCode = 2,
  ) {
    super(message);
    this.name = 'PipelineError';
  }
}

export function formatLocation(loc: Location): string {
  const where = loc.file ? `${loc.file}${loc.line ? `:${loc.line}${loc.column ? `:${loc.column}` : ''}` : ''}` : '';
  return [where, loc.key].filter(Boolean).join(': ');
}

export function formatError(err: unknown): string {
  if (err instanceof PipelineError) {
    const where = formatLocation(err.location);
    return where ? `${where}: ${err.message}` : err.message;
  }
  return err instanceof Error ? (err.stack ?? err.message) : String(err);
}

export function describeValue(v: unknown): string {
  // Errors are one line: a 200 KB string in a config is shown by its start and its length.
  if (typeof v === 'string') return v.length > 60 ? `${JSON.stringify(v.slice(0, 60))}... (${v.length} characters)` : JSON.stringify(v);
  if (Array.isArray(v)) return `a list (${JSON.stringify(v).slice(0, 60)})`;
  if (v === null) return 'null';
  if (typeof v === 'object') return 'a mapping';
  return String(v);
}
