/**
 * Finds the line of a key path in YAML text, so errors can say file:line.
 *
 * js-yaml returns plain objects without positions; configs are small and mostly block style, so
 * an indentation-aware scan is enough: it walks down the path, each key searched inside the
 * block of its parent (or later on the parent's line, for flow mappings).
 */
function keyPattern(key: string): RegExp {
  const k = key.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return new RegExp(`(^|[\\s{,-])["']?${k}["']?\\s*:(\\s|$)`);
}

function indentOf(line: string): number {
  return line.length - line.trimStart().length;
}

function stripComment(line: string): string {
  const i = line.search(/(^|\s)#/);
  return i < 0 ? line : line.slice(0, i);
}

/** 1-based line of the deepest key of `path` found in `text`, or undefined. */
export function locateKey(text: string, path: readonly (string | number)[]): number | undefined {
  const lines = text.split('\n').map(stripComment);
  let found: number | undefined;
  let from = 0;
  let parentIndent = -1;
  for (const seg of path) {
    if (typeof seg === 'number') continue;
    const pattern = keyPattern(seg);
    let hit: number | undefined;
    // A flow mapping keeps the child on the parent's own line.
    if (found !== undefined && pattern.test(lines[found].slice(lines[found].indexOf(':') + 1))) hit = found;
    for (let i = from; hit === undefined && i < lines.length; i++) {
      const line = lines[i];
      if (line.trim() === '') continue;
      if (found !== undefined && i > found && indentOf(line) <= parentIndent) break;
      if (pattern.test(line)) hit = i;
    }
    if (hit === undefined) return found === undefined ? undefined : found + 1;
    found = hit;
    parentIndent = indentOf(lines[hit]);
    from = hit + 1;
  }
  return found === undefined ? undefined : found + 1;
}
