/**
 * Finds places in JSON text: the offset of the value at a path (X[3][1]), or of the first syntax
 * error. JSON.parse keeps no positions and its messages quote the text; data errors must give a
 * line and column and never echo the file. Only used on the error path, so it favours being
 * small over being fast; iterative, so deep nesting cannot overflow the stack.
 */

export type JsonPath = readonly (string | number)[];

interface Frame {
  kind: 'array' | 'object';
  index: number;
  key: string;
}

const NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;

/** { found } offset of the value at `want`, or { error } offset of the first syntax error, or {}. */
export function scanJson(text: string, want?: JsonPath): { found?: number; error?: number } {
  const n = text.length;
  let i = 0;
  const stack: Frame[] = [];
  const skipSpace = () => {
    while (i < n && (text[i] === ' ' || text[i] === '\t' || text[i] === '\n' || text[i] === '\r')) i++;
  };
  const atWant = () =>
    want !== undefined && stack.length === want.length && stack.every((f, d) => (f.kind === 'array' ? f.index : f.key) === want[d]);
  /** Reads a string starting at i; its decoded text, or undefined when it is not a valid string. */
  const readString = (): string | undefined => {
    if (text[i] !== '"') return undefined;
    let j = i + 1;
    let escaped = false;
    while (j < n) {
      const c = text[j];
      if (c === '"') {
        const raw = text.slice(i + 1, j);
        i = j + 1;
        if (!escaped) return raw;
        try {
          return JSON.parse(`"${raw}"`) as string;
        } catch {
          return undefined;
        }
      }
      if (c < ' ') return undefined;
      if (c === '\\') {
        escaped = true;
        j += 2;
      } else j++;
    }
    return undefined;
  };
  /** Reads `"key" :` at i into the top frame; false on a syntax error. */
  const readKey = (frame: Frame): boolean => {
    skipSpace();
    const key = readString();
    if (key === undefined) return false;
    skipSpace();
    if (text[i] !== ':') return false;
    i++;
    frame.key = key;
    return true;
  };
  let expectValue = true;
  for (;;) {
    skipSpace();
    if (expectValue) {
      if (atWant()) return { found: i };
      const c = text[i];
      if (c === '{' || c === '[') {
        const kind = c === '{' ? 'object' : 'array';
        i++;
        skipSpace();
        if (text[i] === (kind === 'object' ? '}' : ']')) {
          i++;
          expectValue = false;
          continue;
        }
        const frame: Frame = { kind, index: 0, key: '' };
        if (kind === 'object' && !readKey(frame)) return { error: i };
        stack.push(frame);
        continue;
      }
      if (c === '"') {
        if (readString() === undefined) return { error: i };
      } else if (text.startsWith('true', i)) i += 4;
      else if (text.startsWith('false', i)) i += 5;
      else if (text.startsWith('null', i)) i += 4;
      else {
        NUMBER.lastIndex = i;
        if (!NUMBER.test(text)) return { error: i };
        i = NUMBER.lastIndex;
      }
      expectValue = false;
      continue;
    }
    const top = stack[stack.length - 1];
    if (!top) return i < n ? { error: i } : {};
    const c = text[i];
    if (c === ',') {
      i++;
      top.index++;
      if (top.kind === 'object' && !readKey(top)) return { error: i };
      expectValue = true;
    } else if ((c === ']' && top.kind === 'array') || (c === '}' && top.kind === 'object')) {
      i++;
      stack.pop();
    } else return { error: i };
  }
}

/** 1-based line and column of an offset. */
export function lineColumn(text: string, offset: number): { line: number; column: number } {
  let line = 1;
  let start = 0;
  for (let k = 0; k < offset && k < text.length; k++) {
    if (text.charCodeAt(k) === 10) {
      line++;
      start = k + 1;
    }
  }
  return { line, column: offset - start + 1 };
}
