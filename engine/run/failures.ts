/**
 * One line per failed node for the terminal: id, stage, message, and where the user can fix it
 * — the data file (and line) when the node reads a file the message points into, else the config
 * line of the param the message names, else the config line of the stage — and its log's path.
 */
import { relative } from 'node:path';
import { formatLocation, type Location } from '../errors.ts';
import type { Expansion, PlanNode } from '../config/expand.ts';
import type { NodeResult } from './scheduler.ts';

export interface Failure {
  id: string;
  stage: string;
  kind: string;
  message: string;
  /** file:line the failure points at (a data file, or the config's stage or param). */
  where?: string;
  /** The node's log (message, stack, params), relative to the working folder when inside it. */
  log?: string;
}

const isFileParam = (v: unknown): v is { path: string; sha256: string } => typeof v === 'object' && v !== null && typeof (v as { path?: unknown }).path === 'string' && typeof (v as { sha256?: unknown }).sha256 === 'string';

function locate(exp: Expansion, node: PlanNode, message: string): Location | undefined {
  const files = Object.values(node.params).filter(isFileParam);
  const line = /^(?:line|row) (\d+)\b/.exec(message)?.[1];
  const named = files.find((f) => message.includes(f.path));
  if (named || (files.length === 1 && line)) return { file: (named ?? files[0]).path, line: line ? Number(line) : undefined };
  const target = exp.targets.find((t) => t.name === node.target) ?? exp.targets[0];
  if (!target) return undefined;
  // A message that starts with a param's name ("std: must be ...") or quotes it points at that param.
  const param = Object.keys(node.params).find((k) => message.startsWith(`${k}:`) || message.startsWith(`${k} `) || message.includes(`"${k}"`) || message.includes(`params.${k}`));
  return target.locate(param ? ['stages', node.stage, 'params', param] : ['stages', node.stage]);
}

export function describeFailures(exp: Expansion, results: NodeResult[], cwd: string): Failure[] {
  const byId = new Map(exp.nodes.map((n) => [n.id, n]));
  return results
    .filter((r) => r.status === 'failed')
    .map((r) => {
      const node = byId.get(r.id)!;
      const message = (r.error ?? 'failed').split('\n')[0];
      const loc = locate(exp, node, message);
      const log = r.logPath && (relative(cwd, r.logPath).startsWith('..') ? r.logPath : relative(cwd, r.logPath));
      return { id: r.id, stage: r.stage, kind: node.kind, message, ...(loc ? { where: formatLocation(loc) } : {}), ...(log ? { log } : {}) };
    });
}

/** "failed fcn[N=128,d0=1] (train, configs/fig1.yml:30): message" and "  log: cache/logs/….log". */
export function formatFailure(f: Failure): string {
  return `failed ${f.id} (${f.kind}${f.where ? `, ${f.where}` : ''}): ${f.message}${f.log ? `\n  log: ${f.log}` : ''}`;
}
