/** `pipeline ls`: targets and stage kinds. */
import { listTargets } from '../config/config.ts';
import { openSession, type SessionOptions } from '../run/session.ts';

export async function listCommand(opts: SessionOptions): Promise<{ targets: ReturnType<typeof listTargets>; stages: { kind: string; description: string }[] }> {
  const s = openSession(opts);
  const stages = [];
  for (const kind of s.resolver.kinds()) {
    try {
      stages.push({ kind, description: (await s.resolver.load(kind)).def.description });
    } catch (e) {
      stages.push({ kind, description: `(does not load: ${(e as Error).message.split('\n')[0]})` });
    }
  }
  return { targets: listTargets(s.roots.projectRoot), stages };
}
