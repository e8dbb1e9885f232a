/**
 * A real remote cache server for tests: nginx with WebDAV PUT on 127.0.0.1, started by the
 * project's script (scripts/remote/up.sh, which installs nginx from Debian when missing and run as
 * root). Where nginx cannot be had (not root, no apt), the remote tests say so and skip; CI runs
 * as root, so there they always run. Test files stop their server at the end (also on failure).
 */
import { spawnSync } from 'node:child_process';
import { registerService } from './services.ts';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PACKAGE_ROOT } from './project.ts';

const SCRIPTS = join(PACKAGE_ROOT, 'scripts', 'remote');

export interface RemoteServer {
  url: string;
  /** The server's folder: root/ac, root/cas hold what it stores. */
  dir: string;
  port: string;
  /** Graceful stop (QUIT), and its folder removed. */
  stop(): void;
  /** SIGKILL of master and workers: a server dying mid-transfer. */
  kill(): void;
  /** Starts it again on the same folder and port. */
  start(): void;
}

/** A started server, or null (with a visible line) where nginx cannot be installed. */
export function startRemote(env: Record<string, string> = {}): RemoteServer | null {
  const dir = mkdtempSync(join(tmpdir(), 'pipeline-remote-'));
  // Registered before it starts: the suite stops it however the tests end (test/helpers/services.ts).
  registerService({ name: `nginx ${dir}`, stop: ['bash', join(SCRIPTS, 'down.sh'), dir, '--purge'] });
  const up = (port = '0') => spawnSync('bash', [join(SCRIPTS, 'up.sh'), dir, port], { encoding: 'utf8', env: { ...process.env, ...env } });
  const r = up();
  if (r.status !== 0) {
    if (process.getuid?.() === 0) throw new Error(`scripts/remote/up.sh failed:\n${r.stderr}`);
    console.log(`  (remote cache tests skipped: ${r.stderr.trim().split('\n').pop()})`);
    return null;
  }
  const url = r.stdout.trim();
  const port = new URL(url).port;
  const down = (...args: string[]) => void spawnSync('bash', [join(SCRIPTS, 'down.sh'), dir, ...args], { encoding: 'utf8' });
  return {
    url,
    dir,
    port,
    stop: () => down('--purge'),
    kill: () => down('--kill'),
    start: () => {
      const again = up(port);
      if (again.status !== 0) throw new Error(`scripts/remote/up.sh (restart) failed:\n${again.stderr}`);
    },
  };
}
