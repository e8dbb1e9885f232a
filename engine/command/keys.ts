/**
 * The scheduler's view of command nodes: each config stage's identity computed once per run, the
 * deps part of a node's key (deps log, else the static guess; fingerprints read now), and the job
 * a command node is handed to an executor with.
 */
import { join } from 'node:path';
import type { PlanNode } from '../config/expand.ts';
import { commandIdentity, Fingerprints, readDepsLog, type CommandIdentity } from './identity.ts';
import type { CommandJob } from './run.ts';
import type { CommandSpec } from './spec.ts';

export class CommandKeys {
  private readonly fps: Fingerprints;
  private readonly identities = new Map<CommandSpec, CommandIdentity>();

  constructor(root: string, cacheDir: string, mayExecute: boolean) {
    this.fps = new Fingerprints(root, cacheDir, mayExecute);
  }

  identity(spec: CommandSpec): CommandIdentity {
    let id = this.identities.get(spec);
    if (!id) this.identities.set(spec, (id = commandIdentity(spec, this.fps, {})));
    return id;
  }

  /** The discovered-deps part of a key: which files from the hint, their fingerprints from now. */
  deps(staticKey: string, id: CommandIdentity): Record<string, string> | undefined {
    const list = (readDepsLog(this.fps.cacheDir, staticKey) ?? id.guess).filter((f) => !(f in id.sources));
    if (!list.length) return undefined;
    return this.fps.files(list, id.program.python ? { exe: id.program.exe, identity: id.interpreter } : undefined);
  }
}

/** Threads a command gets: the node's resources.threads when the plan has it, else `threads:`, else 1. */
function threadsOf(node: PlanNode): number {
  const res = (node as PlanNode & { resources?: { threads?: number } }).resources;
  return res?.threads ?? node.command?.threads ?? 1;
}

export function commandJob(node: PlanNode, id: CommandIdentity, cacheDir: string, key: string): CommandJob {
  return { spec: node.command!, program: id.program, interpreter: id.interpreter, cacheDir, threads: threadsOf(node), failureLogBase: join(cacheDir, 'logs', key) };
}
