/** `pipeline schema`: the config language's JSON Schema for this project's stage kinds (built-in and own). */
import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { configSchema } from '../config/schema.ts';
import { openSession, type SessionOptions } from '../run/session.ts';
import type { StageDefinition } from '../stage-api.ts';

export async function schemaCommand(opts: SessionOptions & { out?: string }): Promise<{ text: string; written?: string }> {
  const s = openSession(opts);
  const defs = new Map<string, StageDefinition>();
  for (const kind of s.resolver.kinds()) defs.set(kind, (await s.resolver.load(kind)).def as StageDefinition);
  const text = `${JSON.stringify(configSchema(defs), null, 2)}\n`;
  if (!opts.out) return { text };
  const path = resolve(opts.cwd ?? process.cwd(), opts.out);
  writeFileSync(path, text);
  return { text, written: path };
}
