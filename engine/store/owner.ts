/**
 * Who a process is, in a form other processes can check: host name, boot id, pid and the
 * process's start time. A pid alone is not enough: pids are reused (pid 1 in every container),
 * and a pid from another host means nothing here. Two records name the same live process only if
 * all four agree; liveness can be decided locally only for the same host and boot, elsewhere a
 * holder proves it is alive by refreshing its lease (see leases.ts).
 */
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';

export interface Owner {
  host: string;
  /** Kernel boot id (Linux), so that a reboot is not mistaken for the same machine still up. */
  boot: string;
  pid: number;
  /** Process start time: clock ticks since boot (Linux /proc/<pid>/stat field 22), or a stand-in. */
  start: string;
}

function readText(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

/** Field 22 of /proc/<pid>/stat; the command name (field 2) may hold spaces and parentheses. */
export function processStartTime(pid: number): string | undefined {
  const stat = readText(`/proc/${pid}/stat`);
  if (!stat) return undefined;
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return fields[19]; // field 22 counted from 1, with the first two fields cut off
}

const hasProc = readText('/proc/self/stat') !== undefined;

/** Host names go into file names: keep them to a safe alphabet. */
function safe(s: string): string {
  return s.replace(/[^A-Za-z0-9.-]/g, '_').slice(0, 64) || 'host';
}

let me: Owner | undefined;

export function self(): Owner {
  if (!me) {
    const boot = (readText('/proc/sys/kernel/random/boot_id') ?? '').trim().replace(/-/g, '').slice(0, 12);
    me = {
      host: safe(hostname()),
      boot: boot || 'noboot',
      pid: process.pid,
      start: (hasProc && processStartTime(process.pid)) || String(Math.round(performance.timeOrigin)),
    };
  }
  return me;
}

/** The owner as one file-name-safe token: host~boot~pid~start. */
export function ownerTag(o: Owner): string {
  return `${o.host}~${o.boot}~${o.pid}~${o.start}`;
}

export function parseOwnerTag(tag: string): Owner | undefined {
  const parts = tag.split('~');
  if (parts.length !== 4) return undefined;
  const pid = Number(parts[2]);
  if (!Number.isInteger(pid) || pid <= 0) return undefined;
  return { host: parts[0], boot: parts[1], pid, start: parts[3] };
}

export function sameMachine(o: Owner): boolean {
  const m = self();
  return o.host === m.host && o.boot === m.boot;
}

export function describeOwner(o: Owner): string {
  return `pid ${o.pid} on ${o.host}`;
}

/**
 * 'alive' or 'dead' for a process of this machine (this boot); 'remote' for any other, whose
 * liveness only its lease can tell.
 */
export function localLiveness(o: Owner): 'alive' | 'dead' | 'remote' {
  if (!sameMachine(o)) return 'remote';
  const m = self();
  if (o.pid === m.pid) return o.start === m.start ? 'alive' : 'dead';
  if (hasProc) {
    const start = processStartTime(o.pid);
    // No such pid, or the pid now belongs to a process that started at another time: reused.
    return start !== undefined && start === o.start ? 'alive' : 'dead';
  }
  try {
    process.kill(o.pid, 0);
    return 'alive';
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM' ? 'alive' : 'dead';
  }
}
