/**
 * Reads a Vega SVG and says which encodings a reader cannot decode: a data mark whose colour,
 * dash or point shape varies while no legend names that channel, a symbol legend with fewer
 * entries than the values drawn, an untitled legend, or text cut off with "…".
 *
 * Vega writes every data mark as `<g class="mark-<type> role-mark <name>">` holding only leaf
 * elements (no nested groups), and every legend as `<g class="mark-group role-legend"
 * aria-label="Symbol legend titled '…' for fill color, stroke color and shape with 2 values: …">`.
 */

type Channel = 'colour' | 'dash' | 'shape';

const MARK_GROUP = /<g class="mark-(line|symbol|rect|area|rule|trail) role-mark ([^"]*)"[^>]*>(.*?)<\/g>/gs;
const ELEMENT = /<(path|rect|line)\b([^>]*)\/?>/g;
const LEGEND = /<g class="mark-group role-legend"[^>]*aria-label="([^"]*)"/g;
const LEGEND_TEXT = (role: string) => new RegExp(`<g class="mark-text role-${role}"[^>]*>(.*?)</g>`, 'gs');
const TEXT = /<text\b[^>]*>([^<]*)<\/text>/g;

const attr = (attrs: string, name: string) => new RegExp(`\\s${name}="([^"]*)"`).exec(attrs)?.[1];

/** Per data mark (by its name, across facets): the distinct values of each visual channel. */
function channelValues(svg: string): Map<string, Record<Channel, Set<string>>> {
  const marks = new Map<string, Record<Channel, Set<string>>>();
  for (const [, type, name, body] of svg.matchAll(MARK_GROUP)) {
    const m = marks.get(name) ?? { colour: new Set<string>(), dash: new Set<string>(), shape: new Set<string>() };
    marks.set(name, m);
    for (const [, , attrs] of body.matchAll(ELEMENT)) {
      const colour = type === 'line' || type === 'rule' || type === 'trail' ? attr(attrs, 'stroke') : attr(attrs, 'fill') ?? attr(attrs, 'stroke');
      if (colour && colour !== 'none' && colour !== 'transparent') m.colour.add(colour);
      if (type === 'line' || type === 'rule') m.dash.add(attr(attrs, 'stroke-dasharray') ?? 'solid');
      // A symbol's path is drawn around the origin and moved by its transform: same shape, same d.
      if (type === 'symbol') m.shape.add(attr(attrs, 'd') ?? '');
    }
  }
  return marks;
}

const texts = (fragment: string) => [...fragment.matchAll(TEXT)].map((t) => t[1]);

export function legendProblems(svg: string): string[] {
  const problems: string[] = [];
  const legends = [...svg.matchAll(LEGEND)].map((l) => l[1].replace(/&#39;|&apos;/g, "'"));
  const covers = (channel: Channel) =>
    legends.some((l) => {
      const channels = /\bfor (.*?)(?: with |$)/.exec(l)?.[1] ?? '';
      return channel === 'colour' ? /color/.test(channels) : channel === 'dash' ? /stroke ?dash/i.test(channels) : /shape/.test(channels);
    });
  for (const [name, values] of channelValues(svg)) {
    for (const channel of ['colour', 'dash', 'shape'] as const) {
      const n = values[channel].size;
      if (n > 1 && !covers(channel)) problems.push(`mark "${name}" draws ${n} different ${channel === 'colour' ? 'colours' : channel === 'dash' ? 'dash patterns' : 'point shapes'} and no legend explains its ${channel}`);
    }
    const entries = legends.map((l) => Number(/with (\d+) values?/.exec(l)?.[1] ?? Infinity));
    const most = Math.max(0, ...entries);
    if (legends.length && values.colour.size > most && !legends.some((l) => l.startsWith('Gradient'))) problems.push(`mark "${name}" draws ${values.colour.size} colours but the legend lists ${most}`);
  }
  for (const l of legends) if (!/titled '[^']+'/.test(l)) problems.push(`a legend has no title (${l.slice(0, 60)}…)`);
  const labels = [...svg.matchAll(LEGEND_TEXT('legend-label'))].flatMap((m) => texts(m[1]));
  for (const t of [...labels, ...texts(svg)]) if (t.includes('…')) problems.push(`text cut off: "${t}"`);
  return [...new Set(problems)];
}
