#!/usr/bin/env bash
# Stop the cluster that scripts/slurm/up.sh started: cancel every job, then stop every slurmd (all N
# nodes), slurmctld and munged (by their pid files), and wait until none of them runs.
#   scripts/slurm/down.sh              # keeps $PIPELINE_SLURM_DIR (config, key, logs)
#   scripts/slurm/down.sh --purge      # and removes it
#   scripts/slurm/down.sh --node n2    # crash one node only: SIGKILL its slurmd and every process of
#                                      # its jobs (in a namespace: the whole namespace), nothing said to
#                                      # slurmctld, which sets the node DOWN after SlurmdTimeout and
#                                      # fails its jobs NODE_FAIL. `up.sh` again restarts it.
set -uo pipefail

DIR="${PIPELINE_SLURM_DIR:-/tmp/pipeline-slurm}"
[ -d "$DIR" ] || { echo "slurm-down: nothing at $DIR" >&2; exit 0; }
DIR="$(cd "$DIR" && pwd -P)"
CONF="$DIR/slurm.conf"
export PATH="$PATH:/usr/sbin:/sbin"
# shellcheck source=nodes.sh
. "$(dirname "${BASH_SOURCE[0]}")/nodes.sh"

if [ "${1:-}" = "--node" ]; then
  node="${2:-}"
  node_names | grep -qx "$node" || { echo "slurm-down: error: --node expects one of: $(node_names | tr '\n' ' ')(got '$node')" >&2; exit 2; }
  node_alive "$node" || { echo "slurm-down: node $node is not running" >&2; exit 0; }
  node_crash "$node"
  for _ in $(seq 100); do node_alive "$node" || break; sleep 0.05; done
  echo "slurm-down: node $node killed ($DIR)" >&2
  exit 0
fi

pid_of() { [ -s "$1" ] && cat "$1"; }

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

# 2. stop the daemons: SIGTERM to all at once (each takes 2-4 s to exit, in parallel), then SIGKILL
#    what still runs after 10 s. A node in a namespace: its slurmd (host pid), then the namespace.
pids=()
ns_inits=()
for n in $(node_names); do
  if p="$(node_slurmd_pid "$n")"; then pids+=("$p"); kill -TERM "$p" 2>/dev/null; fi
  f="$(node_pidfile "$n")"
  [ "$(basename "$f")" = "ns-$n.pid" ] && alive_as "$f" bash && ns_inits+=("$(cat "$f")")
done
for f in "$DIR/run/slurmctld.pid" "$DIR/munge/munged.pid"; do
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
# a namespace's pid 1 (bash) ends when slurmd does; SIGKILL ends whatever else still runs in it
for p in "${ns_inits[@]}"; do kill -KILL "$p" 2>/dev/null; done
# job steps (slurmstepd) of this cluster that outlived slurmd
for p in $(node_stepds); do kill -KILL "$p" 2>/dev/null; done
# daemons of this cluster no pid file names (an up.sh interrupted between starting one and
# recording it): any slurmd, slurmctld or namespace wrapper started with this slurm.conf
for p in $(pgrep -x 'slurmd|slurmctld|unshare|bash' 2>/dev/null); do
  args="$( { tr '\0' '\n' <"/proc/$p/cmdline"; } 2>/dev/null)" || continue
  # the daemons have the conf as an argument of its own; the wrappers, in up.sh's command string
  if grep -qxF -e "$CONF" <<<"$args" || grep -qF -e "slurmd -D -f '$CONF' -N " <<<"$args"; then
    echo "slurm-down: $(cat "/proc/$p/comm" 2>/dev/null) ($p) of this cluster had no pid file; SIGKILL" >&2
    kill -KILL "$p" 2>/dev/null
  fi
done
for n in $(node_names); do rm -f "$(node_pidfile "$n")" "$DIR/run/slurmd-$n.nspid"; done
rm -f "$DIR/run/slurmd.pid" "$DIR/run/slurmctld.pid" "$DIR/munge/munged.pid" "$DIR/cluster.env"

# cgroup mode (PIPELINE_SLURM_CGROUP=1) leaves /sys/fs/cgroup/{memory,freezer}/slurm_<node>: remove
# what is empty (rmdir fails on a cgroup that still has processes or children, which is what we want)
if [ -f "$DIR/cgroup.conf" ]; then
  for node in $(node_names); do
    for d in /sys/fs/cgroup/*/"slurm_$node"; do
      [ -d "$d" ] && find "$d" -depth -type d -exec rmdir {} \; 2>/dev/null
    done
  done
fi

if [ "${1:-}" = "--purge" ]; then rm -rf "$DIR"; fi
echo "slurm-down: stopped ($DIR)" >&2
