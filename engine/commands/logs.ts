/**
 * `pipeline logs <node>`: a node's captured output. A built node (found in the targets' last runs)
 * shows the stdout/stderr kept with its entry; a failed one its failure log and the stdout/stderr
 * of the failed attempt (<cache>/logs/<key>.*), newest first.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { PipelineError } from '../errors.ts';
import { logsDir } from '../run/node-log.ts';
import { openSession } from '../run/session.ts';
import type { TargetOptions } from './shared.ts';

export interface NodeLogs {
  node: string;
  key: string;
  state: 'built' | 'failed';
  files: { name: string; path: string; text: string }[];
}

function readIf(path: string): string | undefined {
  return existsSync(path) ? readFileSync(path).toString('utf8') : undefined;
}

export function logsCommand(node: string, opts: TargetOptions & { target?: string }): NodeLogs {
  const s = openSession(opts);
  const files = (pairs: [string, string][]) => pairs.flatMap(([name, path]) => (existsSync(path) ? [{ name, path, text: readIf(path)! }] : []));
  // A failed attempt after the last good build is the more recent story: look at failures first.
  const dir = logsDir(s.cache.dir);
  if (existsSync(dir)) {
    const failures = readdirSync(dir)
      .filter((f) => /^[0-9a-f]{64}\.log$/.test(f))
      .map((f) => ({ f, t: statSync(join(dir, f)).mtimeMs }))
      .sort((a, b) => b.t - a.t);
    for (const { f } of failures) {
      const text = readFileSync(join(dir, f), 'utf8');
      if (!text.startsWith(`node:   ${node}\n`)) continue;
      const key = f.slice(0, -4);
      const refs = s.cache.allRefs();
      const builtLater = Object.entries(refs).some(([t, runs]) => (!opts.target || t === opts.target) && runs[0]?.nodes[node] && s.cache.hasEntry(runs[0].nodes[node]) && statSync(s.cache.entryDir(runs[0].nodes[node])).mtimeMs > statSync(join(dir, f)).mtimeMs);
      if (builtLater) break;
      return { node, key, state: 'failed', files: files([['failure', join(dir, f)], ['stdout', join(dir, `${key}.stdout.log`)], ['stderr', join(dir, `${key}.stderr.log`)]]) };
    }
  }
  for (const [target, runs] of Object.entries(s.cache.allRefs())) {
    if (opts.target && target !== opts.target) continue;
    const key = runs[0]?.nodes[node];
    if (!key || !s.cache.hasEntry(key)) continue;
    const entry = s.cache.entryDir(key);
    const meta = s.cache.readMeta(key);
    const kept = files([['stdout', join(entry, '.stdout.log')], ['stderr', join(entry, '.stderr.log')]]);
    if (!kept.length && meta?.log?.length) kept.push({ name: 'stage log', path: join(entry, 'meta.json'), text: `${meta.log.join('\n')}\n` });
    return { node, key, state: 'built', files: kept };
  }
  throw new PipelineError(`no logs for "${node}": it is not a node of a target's last run and has no failure log (node ids as \`pipeline plan <target>\` prints them)`);
}
