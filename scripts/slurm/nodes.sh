# Sourced by up.sh and down.sh (needs DIR): the slurmd nodes of a cluster, how to tell whether one
# runs, and how to stop or crash one. A cluster is described by $DIR/cluster.env, written by up.sh:
#   NODES=3            how many slurmd (1: the host's own name, as before; N > 1: n1 .. nN)
#   NAMESPACES=1       each slurmd runs in its own UTS+PID namespace (its jobs see its host name)
# One node: run/slurmd.pid. Several without namespaces: run/slurmd-<name>.pid (slurmd writes it,
# %n in SlurmdPidFile). Several in namespaces: slurmd writes its namespace pid, useless outside,
# so up.sh records run/ns-<name>.pid, the host pid of the namespace's init (a bash): SIGKILL to it
# ends everything in that namespace at once, slurmd and its jobs, as a host losing power does.

# a pid file counts only if its process still runs and is the program named (munged.pid -> munged):
# after a reboot the pid may belong to anything
alive_as() {
  local p
  [ -s "$1" ] || return 1
  p="$(cat "$1")"
  kill -0 "$p" 2>/dev/null && [ "$(cat "/proc/$p/comm" 2>/dev/null)" = "$2" ]
}
alive() { alive_as "$1" "$(basename "$1" .pid)"; }

cluster_nodes() { sed -n 's/^NODES=//p' "$DIR/cluster.env" 2>/dev/null || true; }
cluster_namespaces() { sed -n 's/^NAMESPACES=//p' "$DIR/cluster.env" 2>/dev/null || true; }
# the node names of the cluster, one per line, from its slurm.conf
node_names() { sed -n 's/^NodeName=\([^ ]*\).*/\1/p' "$DIR/slurm.conf" 2>/dev/null; }

node_pidfile() {
  if [ "$(cluster_nodes)" = 1 ] || [ -z "$(cluster_nodes)" ]; then echo "$DIR/run/slurmd.pid"
  elif [ "$(cluster_namespaces)" = 1 ]; then echo "$DIR/run/ns-$1.pid"
  else echo "$DIR/run/slurmd-$1.pid"; fi
}

# the host pid of node $1's slurmd, if it runs
node_slurmd_pid() {
  local f p
  f="$(node_pidfile "$1")"
  if [ "$(cluster_namespaces)" = 1 ] && [ "$(cluster_nodes)" != 1 ]; then
    alive_as "$f" bash || return 1
    p="$(pgrep -P "$(cat "$f")" -x slurmd 2>/dev/null | head -n1)"
    [ -n "$p" ] && echo "$p"
  else
    alive_as "$f" slurmd && cat "$f"
  fi
}

node_alive() { node_slurmd_pid "$1" >/dev/null; }

# every descendant of a pid (children first, deepest last), from /proc/<pid>/task/*/children
descendants() {
  local c
  for c in $(cat /proc/"$1"/task/*/children 2>/dev/null); do echo "$c"; descendants "$c"; done
}

# slurmstepd processes of this cluster (their environment has its SLURM_CONF); of node $1 only: those
# whose job (cmdline "slurmstepd: [<job id>.<step>]") squeue places on that node
node_stepds() {
  local p env ids="" cmd
  if [ -n "${1:-}" ]; then
    ids=" $(SLURM_CONF="$DIR/slurm.conf" squeue --noheader --nodelist="$1" --format=%A 2>/dev/null | tr '\n' ' ')"
  fi
  for p in $(pgrep -x slurmstepd 2>/dev/null); do
    env="$(tr '\0' '\n' 2>/dev/null <"/proc/$p/environ")" || continue
    grep -qx "SLURM_CONF=$DIR/slurm.conf" <<<"$env" || continue
    if [ -n "${1:-}" ]; then
      cmd="$(tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null)"
      [[ "$cmd" =~ \[([0-9]+)\. ]] && [[ "$ids" == *" ${BASH_REMATCH[1]} "* ]] || continue
    fi
    echo "$p"
  done
}

# Node $1 dies as a crashed host does: SIGKILL to its slurmd and every process of its jobs, nothing
# told to the controller (it finds out when the node stops answering: SlurmdTimeout).
node_crash() {
  local f p pids=()
  f="$(node_pidfile "$1")"
  if [ "$(cluster_namespaces)" = 1 ] && [ "$(cluster_nodes)" != 1 ]; then
    alive_as "$f" bash && kill -KILL "$(cat "$f")" 2>/dev/null
  else
    if p="$(node_slurmd_pid "$1")"; then pids+=("$p"); fi
    # before slurmd goes (squeue tells which jobs run there)
    for p in $(node_stepds "$1"); do pids+=("$p" $(descendants "$p")); done
    [ "${#pids[@]}" -gt 0 ] && kill -KILL "${pids[@]}" 2>/dev/null
  fi
  rm -f "$f"
  return 0
}
