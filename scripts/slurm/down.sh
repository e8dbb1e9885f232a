#!/usr/bin/env bash
# Stop the one-node cluster that scripts/slurm/up.sh started: cancel every job, then stop slurmd,
# slurmctld and munged (by their pid files), and wait until none of them runs.
#   scripts/slurm/down.sh            # keeps $PIPELINE_SLURM_DIR (config, key, logs)
#   scripts/slurm/down.sh --purge    # and removes it
set -uo pipefail

DIR="${PIPELINE_SLURM_DIR:-/tmp/pipeline-slurm}"
[ -d "$DIR" ] || { echo "slurm-down: nothing at $DIR" >&2; exit 0; }
DIR="$(cd "$DIR" && pwd -P)"
CONF="$DIR/slurm.conf"
export PATH="$PATH:/usr/sbin:/sbin"

pid_of() { [ -s "$1" ] && cat "$1"; }
# a pid file counts only if its process still runs and is the daemon it names (munged.pid ->
# munged): after a reboot the pid may belong to anything
alive() {
  local p
  [ -s "$1" ] || return 1
  p="$(cat "$1")"
  kill -0 "$p" 2>/dev/null && [ "$(cat "/proc/$p/comm" 2>/dev/null)" = "$(basename "$1" .pid)" ]
}

# 1. cancel every job, and give the jobs' processes a moment to go (slurmd kills them)
if [ -f "$CONF" ] && alive "$DIR/run/slurmctld.pid"; then
  export SLURM_CONF="$CONF"
  if [ -n "$(squeue --noheader --format=%i 2>/dev/null | head -n1)" ]; then
    for u in $(squeue --noheader --format=%u 2>/dev/null | sort -u); do scancel --quiet --user="$u" || true; done
    for _ in $(seq 50); do
      [ -z "$(squeue --noheader --states=PENDING,RUNNING,CONFIGURING,COMPLETING,SUSPENDED --format=%i 2>/dev/null | head -n1)" ] && break
      sleep 0.1
    done
  fi
fi

# 2. stop the daemons: SIGTERM to all three at once (each takes 2-4 s to exit, in parallel), then
#    SIGKILL what still runs after 10 s
pids=()
for f in "$DIR/run/slurmd.pid" "$DIR/run/slurmctld.pid" "$DIR/munge/munged.pid"; do
  if alive "$f"; then p="$(pid_of "$f")"; pids+=("$p"); kill -TERM "$p" 2>/dev/null; fi
done
for _ in $(seq 200); do
  left=0; for p in "${pids[@]}"; do kill -0 "$p" 2>/dev/null && left=1; done
  [ "$left" = 0 ] && break
  sleep 0.05
done
for p in "${pids[@]}"; do
  if kill -0 "$p" 2>/dev/null; then
    echo "slurm-down: $(cat "/proc/$p/comm" 2>/dev/null) ($p) ignored SIGTERM for 10 s; SIGKILL" >&2
    kill -KILL "$p" 2>/dev/null
  fi
done
# job steps (slurmstepd) of this cluster that outlived slurmd
for p in $(pgrep -x slurmstepd 2>/dev/null); do
  if tr '\0' '\n' 2>/dev/null <"/proc/$p/environ" | grep -qx "SLURM_CONF=$CONF"; then kill -KILL "$p" 2>/dev/null; fi
done
rm -f "$DIR/run/slurmd.pid" "$DIR/run/slurmctld.pid" "$DIR/munge/munged.pid"

# cgroup mode (PIPELINE_SLURM_CGROUP=1) leaves /sys/fs/cgroup/{memory,freezer}/slurm_<node>: remove
# what is empty (rmdir fails on a cgroup that still has processes or children, which is what we want)
if [ -f "$DIR/cgroup.conf" ]; then
  node="$(sed -n 's/^NodeName=\([^ ]*\).*/\1/p' "$CONF" 2>/dev/null | head -n1)"
  if [ -n "$node" ]; then
    for d in /sys/fs/cgroup/*/"slurm_$node"; do
      [ -d "$d" ] && find "$d" -depth -type d -exec rmdir {} \; 2>/dev/null
    done
  fi
fi

if [ "${1:-}" = "--purge" ]; then rm -rf "$DIR"; fi
echo "slurm-down: stopped ($DIR)" >&2
