/** Renders a Vega-Lite spec to SVG headless (vega's 'none' renderer needs no canvas). */
export async function renderSvg(spec: Record<string, unknown>): Promise<string> {
  // Imported lazily: vega costs ~0.3 s to load, and only plotting nodes need it.
  const [vega, vl] = await Promise.all([import('vega'), import('vega-lite')]);
  // Clip-path and gradient ids come from process-wide counters: without a reset, an SVG would
  // depend on how many figures its worker drew before (caught by `verify --sample`).
  vega.resetSVGDefIds();
  const view = new vega.View(vega.parse(vl.compile(spec as never).spec), { renderer: 'none' });
  const svg = await view.toSVG();
  view.finalize();
  return svg;
}

/**
 * Colours that stay apart on screen and for colour-blind readers (Okabe & Ito), each paired by
 * position with a dash pattern and a point shape, so lines can also be told apart in grayscale.
 */
export const SERIES_COLOURS = ['#0072B2', '#D55E00', '#009E73', '#CC79A7', '#E69F00', '#56B4E9', '#000000', '#F0E442'];
export const SERIES_DASHES = [[1, 0], [6, 3], [2, 2], [8, 3, 2, 3], [12, 4], [4, 4, 1, 4], [1, 3], [10, 2, 2, 2]];
export const SERIES_SHAPES = ['circle', 'square', 'triangle-up', 'diamond', 'cross', 'triangle-down', 'triangle-right', 'triangle-left'];

/** The legend every series plot uses: titled, nothing cut off. */
export const LEGEND = { labelLimit: 0, titleLimit: 0, symbolStrokeWidth: 1, symbolSize: 120, symbolOpacity: 1, orient: 'right' } as const;

/**
 * Encodings of one series field as colour, dash and shape together: Vega-Lite merges the three
 * into one legend because they share the field, the title and the domain.
 */
export function seriesEncoding(field: string, title: string, domain: unknown[], labelExpr?: string): Record<string, unknown> {
  const legend = { ...LEGEND, title, ...(labelExpr ? { labelExpr } : {}) };
  const n = domain.length;
  const channel = (range: unknown[]) => ({ field, type: 'nominal', title, sort: domain, scale: { domain, range: range.slice(0, Math.max(n, 1)) }, legend });
  return {
    color: channel(SERIES_COLOURS),
    strokeDash: channel(SERIES_DASHES),
    shape: channel(SERIES_SHAPES),
  };
}
