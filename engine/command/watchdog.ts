/**
 * Ends command process groups when the driver dies without a chance to (kill -9, OOM killer).
 * One `sh` per driver process, started on the first command and detached from the terminal's
 * group: the driver writes `+<pgid>` / `-<pgid>` lines on its stdin; when that pipe closes (the
 * driver exited, however it died) the watchdog sends SIGTERM, then SIGKILL after a grace, to every
 * group still listed. An exit through process.exit (Ctrl-C, SIGTERM) also sends SIGTERM itself at once.
 */
import { spawn, type ChildProcess } from 'node:child_process';

// dash's kill takes no `--`: `kill -TERM -<pgid>` names the group.
const SCRIPT = `trap '' INT HUP TERM
g=""
while IFS= read -r l; do
  case "$l" in
    +*) g="$g \${l#+}" ;;
    -*) n=""; for x in $g; do [ "$x" = "\${l#-}" ] || n="$n $x"; done; g="$n" ;;
  esac
done
[ -z "$g" ] && exit 0
for x in $g; do kill -TERM -"$x" 2>/dev/null; done
sleep 2
for x in $g; do kill -KILL -"$x" 2>/dev/null; done
`;

let dog: ChildProcess | undefined;
const live = new Set<number>();
let exitHook = false;

function watchdog(): ChildProcess | undefined {
  if (dog && dog.exitCode === null) return dog;
  try {
    dog = spawn('/bin/sh', ['-c', SCRIPT], { detached: true, stdio: ['pipe', 'ignore', 'ignore'] });
    dog.on('error', () => undefined);
    dog.stdin!.on('error', () => undefined);
    dog.unref();
    (dog.stdin as unknown as { unref?: () => void }).unref?.();
  } catch {
    dog = undefined;
  }
  return dog;
}

export function trackGroup(pgid: number): void {
  live.add(pgid);
  if (!exitHook) {
    exitHook = true;
    // Ctrl-C, SIGTERM (shutdown.ts exits through process.exit): SIGTERM to every group now; the
    // watchdog, whose pipe closes with this process, sends SIGKILL after its grace.
    process.on('exit', () => {
      for (const g of live) {
        try {
          process.kill(-g, 'SIGTERM');
        } catch {
          // gone
        }
      }
    });
  }
  watchdog()?.stdin!.write(`+${pgid}\n`);
}

export function untrackGroup(pgid: number): void {
  live.delete(pgid);
  if (dog && dog.exitCode === null) dog.stdin!.write(`-${pgid}\n`);
}
