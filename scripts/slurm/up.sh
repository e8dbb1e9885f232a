#!/usr/bin/env bash
# Start a Slurm cluster on this machine, without systemd, for tests and CI: one node (the host's
# name) by default, or N nodes n1..nN, each its own slurmd (Debian's slurm-wlm is built with
# --enable-multiple-slurmd), sharing one slurmctld and one munged.
#
#   scripts/slurm/up.sh            # then: . "${PIPELINE_SLURM_DIR:-/tmp/pipeline-slurm}/env.sh"
#   scripts/slurm/up.sh --nodes 3  # n1 n2 n3; slurmd i listens on PORT+i
#
# Run again on a cluster that is up, it restarts the slurmd that no longer run (a node a test
# crashed with `down.sh --node n2`) and waits for every node to be idle again.
#
# Idempotent: when the cluster in $PIPELINE_SLURM_DIR is already up, it only prints the environment.
# Installs slurmctld slurmd slurm-client munge from the distribution (Debian/Ubuntu apt) when one of
# them is missing (needs root). Everything else lives under the state folder:
#
#   $DIR/slurm.conf      the cluster's configuration (clients need SLURM_CONF pointing here)
#   $DIR/env.sh          `export SLURM_CONF=...` (source it)
#   $DIR/munge/          munge key, pid file and log (mode 700)
#   $DIR/munge-sock/     munged's socket (mode 755; slurm.conf names it with AuthInfo=socket=)
#   $DIR/state/ spool/   slurmctld state, slurmd spool
#   $DIR/log/            slurmctld.log slurmd.log (N > 1: slurmd-<node>.log)
#   $DIR/cluster.env     NODES=, NAMESPACES= of the cluster that runs (read by down.sh)
#
# Environment:
#   PIPELINE_SLURM_DIR        state folder (default /tmp/pipeline-slurm); every parent must be
#                             searchable by all (munged refuses otherwise)
#   PIPELINE_SLURM_PORT       slurmctld port (default 16817); slurmd i (1..N) listens on PORT+i
#   PIPELINE_SLURM_NODES      number of nodes, as --nodes (default 1)
#   PIPELINE_SLURM_NAMESPACES with N > 1: 1 runs each slurmd in its own UTS+PID namespace (`unshare`),
#                             so its jobs see their node's name as host name and a crashed node takes
#                             its jobs with it; 0 does not; default: 1 when unshare works here
#   PIPELINE_SLURM_SLURMD_TIMEOUT  seconds without an answer before slurmctld sets a node DOWN and
#                             fails its jobs NODE_FAIL (default 30)
#   PIPELINE_SLURM_PARTITION  partition name (default debug)
#   PIPELINE_SLURM_TIMEOUT    seconds to wait for the node to become idle (default 30)
#   PIPELINE_SLURM_MIN_JOB_AGE  seconds a finished job stays visible in squeue/scontrol (default 300)
#   PIPELINE_SLURM_CGROUP=1   confine jobs with task/cgroup + proctrack/cgroup (cgroup v1 or v2 must
#                             be mounted at /sys/fs/cgroup): --mem is then enforced and a job over it
#                             ends OUT_OF_MEMORY. Default 0: proctrack/linuxproc, task/none, nothing
#                             enforced (a job killed by the kernel OOM killer ends FAILED, 0:9).
#
# Tested as root on Debian 12 (Slurm 22.05, munge 0.5.15).
set -euo pipefail

DIR="${PIPELINE_SLURM_DIR:-/tmp/pipeline-slurm}"
PORT="${PIPELINE_SLURM_PORT:-16817}"
PARTITION="${PIPELINE_SLURM_PARTITION:-debug}"
TIMEOUT="${PIPELINE_SLURM_TIMEOUT:-30}"
MIN_JOB_AGE="${PIPELINE_SLURM_MIN_JOB_AGE:-300}"
CGROUP="${PIPELINE_SLURM_CGROUP:-0}"
NODES="${PIPELINE_SLURM_NODES:-1}"
NAMESPACES="${PIPELINE_SLURM_NAMESPACES:-}"
SLURMD_TIMEOUT="${PIPELINE_SLURM_SLURMD_TIMEOUT:-30}"
while [ $# -gt 0 ]; do
  case "$1" in
    --nodes) NODES="${2:-}"; shift 2 ;;
    --nodes=*) NODES="${1#--nodes=}"; shift ;;
    *) echo "slurm-up: error: unknown argument '$1' (expected --nodes N)" >&2; exit 2 ;;
  esac
done
[[ "$NODES" =~ ^[1-9][0-9]?$ ]] || { echo "slurm-up: error: --nodes expects a number from 1 to 99, got '$NODES'" >&2; exit 2; }

say() { echo "slurm-up: $*" >&2; }
die() { say "error: $*"; exit 1; }

# ---------------------------------------------------------------------------------------- install
need_install=()
for bin in slurmctld slurmd sbatch munged; do
  if ! command -v "$bin" >/dev/null 2>&1 && [ ! -x "/usr/sbin/$bin" ]; then need_install+=("$bin"); fi
done
if [ "${#need_install[@]}" -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    die "missing ${need_install[*]}; install them as root: apt-get update && apt-get install -y slurmctld slurmd slurm-client munge (or run this script with sudo)"
  fi
  command -v apt-get >/dev/null 2>&1 || die "missing ${need_install[*]} and no apt-get here; install slurmctld slurmd slurm-client munge by hand"
  say "installing slurmctld slurmd slurm-client munge (missing: ${need_install[*]})"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends slurmctld slurmd slurm-client munge >&2
fi
export PATH="$PATH:/usr/sbin:/sbin"
if [ "$(id -u)" -ne 0 ]; then
  # a user may call this to get the environment of a cluster root has started (CI: `sudo up.sh` once)
  conf="$DIR/slurm.conf"
  if [ -f "$conf" ] && [ "$(SLURM_CONF="$conf" sinfo --noheader --format=%T 2>/dev/null | head -n1)" = idle ]; then
    say "already up ($conf)"; echo "export SLURM_CONF=$conf"; exit 0
  fi
  die "slurmd must run as root to start jobs; run this script as root (or with sudo)"
fi

# ------------------------------------------------------------------------------------------ paths
mkdir -p "$DIR"
DIR="$(cd "$DIR" && pwd -P)"
CONF="$DIR/slurm.conf"
MUNGE_DIR="$DIR/munge"
SOCK_DIR="$DIR/munge-sock"
SOCKET="$SOCK_DIR/munge.socket"
CTLD_PID="$DIR/run/slurmctld.pid"
MUNGE_PID="$MUNGE_DIR/munged.pid"
# shellcheck source=nodes.sh
. "$(dirname "${BASH_SOURCE[0]}")/nodes.sh"

# The nodes: one keeps the host's name (and today's file names); several are n1..nN.
if [ "$NODES" = 1 ]; then NAMES=("$(hostname -s)"); else NAMES=(); for i in $(seq "$NODES"); do NAMES+=("n$i"); done; fi
running="$(cluster_nodes)"
# a cluster started before cluster.env existed has one node
if [ -z "$running" ] && alive "$CTLD_PID"; then running=1; fi
if [ -n "$running" ] && [ "$running" != "$NODES" ] && alive "$CTLD_PID"; then
  die "the cluster in $DIR runs $running node(s), not $NODES; stop it first (scripts/slurm/down.sh) or use another PIPELINE_SLURM_DIR"
fi
if [ "$NODES" -gt 1 ]; then
  if [ -z "$NAMESPACES" ]; then
    if [ -n "$running" ] && alive "$CTLD_PID"; then NAMESPACES="$(cluster_namespaces)"
    elif unshare --uts --pid --fork --mount-proc true 2>/dev/null; then NAMESPACES=1; else NAMESPACES=0; fi
  elif [ "$NAMESPACES" = 1 ] && ! unshare --uts --pid --fork --mount-proc true 2>/dev/null; then
    die "PIPELINE_SLURM_NAMESPACES=1 but 'unshare --uts --pid --fork --mount-proc' does not work here (needs root and util-linux)"
  fi
else
  NAMESPACES=0
fi

write_env() {
  cat >"$DIR/env.sh" <<EOF
# source this: the environment a Slurm client (sbatch, squeue, scancel, ...) needs
export SLURM_CONF=$CONF
EOF
  echo "export SLURM_CONF=$CONF"
}

# "name state" per node, as sinfo has them
node_states() { SLURM_CONF="$CONF" sinfo --noheader --Node --format='%N %T' 2>/dev/null | sort -u; }
# every node of NAMES in a state that takes jobs
all_ready() {
  local states n st
  states="$(node_states)" || return 1
  for n in "${NAMES[@]}"; do
    st="$(awk -v n="$n" '$1 == n {print $2}' <<<"$states")"
    case "$st" in idle|mixed|allocated|completing) ;; *) return 1 ;; esac
  done
}

all_alive() {
  local n
  alive "$MUNGE_PID" && alive "$CTLD_PID" || return 1
  for n in "${NAMES[@]}"; do node_alive "$n" || return 1; done
}
if [ -f "$CONF" ] && all_alive && all_ready; then
  say "already up (${NAMES[*]}, $CONF)"; write_env; exit 0
fi

# A port taken by someone else (another cluster) would make our clients talk to the wrong controller.
listening() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
if ! alive "$CTLD_PID" && listening "$PORT"; then
  die "port $PORT (for slurmctld) is taken by another process: another cluster? Choose PIPELINE_SLURM_PORT (slurmctld; slurmd i uses +i), or stop it."
fi
for i in "${!NAMES[@]}"; do
  if ! node_alive "${NAMES[$i]}" && listening "$((PORT + i + 1))"; then
    die "port $((PORT + i + 1)) (for slurmd ${NAMES[$i]}) is taken by another process: another cluster? Choose PIPELINE_SLURM_PORT (slurmctld; slurmd i uses +i), or stop it."
  fi
done

# --------------------------------------------------------------------------------------- munge
# munged insists: key readable by its owner only, socket folder not writable by others, every parent
# folder searchable. The key folder is 700, the socket folder 755 (clients must reach the socket).
install -d -m 700 "$MUNGE_DIR"
install -d -m 755 "$SOCK_DIR" "$DIR/run" "$DIR/log" "$DIR/state" "$DIR/spool"
chmod 755 "$DIR"
if [ ! -s "$MUNGE_DIR/munge.key" ]; then
  if command -v mungekey >/dev/null 2>&1 || [ -x /usr/sbin/mungekey ]; then
    mungekey --create --keyfile="$MUNGE_DIR/munge.key" --force
  else
    dd if=/dev/urandom of="$MUNGE_DIR/munge.key" bs=1024 count=1 status=none
  fi
  chmod 600 "$MUNGE_DIR/munge.key"
fi
if ! alive "$MUNGE_PID"; then
  rm -f "$SOCKET" "$SOCKET.lock"
  munged --socket="$SOCKET" --key-file="$MUNGE_DIR/munge.key" --pid-file="$MUNGE_PID" \
         --log-file="$MUNGE_DIR/munged.log" --seed-file="$MUNGE_DIR/munged.seed" \
    || die "munged did not start; $(tail -n 20 "$MUNGE_DIR/munged.log" 2>/dev/null)"
fi

# ---------------------------------------------------------------------------------------- config
# CPUs/sockets/cores/threads as slurmd itself sees them (a node declared bigger than it is drains).
hw="$(slurmd -C 2>/dev/null | head -n1 || true)"
cpus="$(sed -n 's/.*CPUs=\([0-9]*\).*/\1/p' <<<"$hw")"; cpus="${cpus:-$(nproc)}"
boards="$(sed -n 's/.*Boards=\([0-9]*\).*/\1/p' <<<"$hw")"
sockets="$(sed -n 's/.*SocketsPerBoard=\([0-9]*\).*/\1/p' <<<"$hw")"
cores="$(sed -n 's/.*CoresPerSocket=\([0-9]*\).*/\1/p' <<<"$hw")"
threads="$(sed -n 's/.*ThreadsPerCore=\([0-9]*\).*/\1/p' <<<"$hw")"
topo=""
if [ -n "$boards" ] && [ -n "$sockets" ] && [ -n "$cores" ] && [ -n "$threads" ]; then
  topo="Boards=$boards SocketsPerBoard=$sockets CoresPerSocket=$cores ThreadsPerCore=$threads"
fi
mem_mb=$(( $(awk '/^MemTotal:/ {print $2}' /proc/meminfo) / 1024 ))
real_mem=$(( mem_mb * 9 / 10 ))   # leave room so the node never drains for "Low RealMemory"
# Without a default, a job that does not ask --mem gets the node's whole memory under CR_Core_Memory,
# and jobs run one at a time.
def_mem=$(( real_mem / cpus ))

if [ "$CGROUP" = 1 ]; then
  proctrack=proctrack/cgroup; task=task/cgroup
  cat >"$DIR/cgroup.conf" <<EOF
CgroupMountpoint=/sys/fs/cgroup
ConstrainCores=no
ConstrainRAMSpace=yes
ConstrainSwapSpace=yes
AllowedSwapSpace=0
EOF
else
  proctrack=proctrack/linuxproc; task=task/none
  rm -f "$DIR/cgroup.conf"
fi

# One node keeps today's file names; several put their node name (%n) in them.
if [ "$NODES" = 1 ]; then
  spool="$DIR/spool"; slurmd_pid="$DIR/run/slurmd.pid"; slurmd_log="$DIR/log/slurmd.log"
else
  spool="$DIR/spool/%n"; slurmd_log="$DIR/log/slurmd-%n.log"
  # in a namespace slurmd writes its namespace pid (1, 2, ...): kept apart from the host pids
  if [ "$NAMESPACES" = 1 ]; then slurmd_pid="$DIR/run/slurmd-%n.nspid"; else slurmd_pid="$DIR/run/slurmd-%n.pid"; fi
fi
node_lines=""
for i in "${!NAMES[@]}"; do
  # every node sees the whole machine (all CPUs, 90 % of its memory): they share it
  node_lines+="NodeName=${NAMES[$i]} NodeHostname=$(hostname -s) NodeAddr=127.0.0.1 Port=$((PORT + i + 1)) CPUs=$cpus $topo RealMemory=$real_mem State=UNKNOWN"$'\n'
done
node_list="$(IFS=,; echo "${NAMES[*]}")"

cat >"$CONF.new" <<EOF
# written by scripts/slurm/up.sh; a test cluster of $NODES node(s) on one host
ClusterName=pipeline
SlurmctldHost=$(hostname -s)(127.0.0.1)
SlurmctldPort=$PORT
SlurmdPort=$((PORT + 1))
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket=$SOCKET
CredType=cred/munge
StateSaveLocation=$DIR/state
SlurmdSpoolDir=$spool
SlurmctldPidFile=$CTLD_PID
SlurmdPidFile=$slurmd_pid
SlurmctldLogFile=$DIR/log/slurmctld.log
SlurmdLogFile=$slurmd_log
SlurmctldDebug=info
SlurmdDebug=info
MailProg=/bin/true
MpiDefault=none
ReturnToService=2
ProctrackType=$proctrack
TaskPlugin=$task
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
DefMemPerCPU=$def_mem
SchedulerType=sched/backfill
SchedulerParameters=sched_min_interval=0,batch_sched_delay=0
SlurmdParameters=config_overrides
# finished jobs stay visible in squeue/scontrol for MinJobAge seconds
MinJobAge=$MIN_JOB_AGE
# a job past its --time is signalled at once (OverTimeLimit=0) and SIGKILLed KillWait seconds later
OverTimeLimit=0
KillWait=2
InactiveLimit=0
SlurmctldTimeout=30
SlurmdTimeout=$SLURMD_TIMEOUT
MaxArraySize=1001
${node_lines}PartitionName=$PARTITION Nodes=$node_list Default=YES MaxTime=INFINITE State=UP
EOF
mv "$CONF.new" "$CONF"
printf 'NODES=%s\nNAMESPACES=%s\n' "$NODES" "$NAMESPACES" >"$DIR/cluster.env"

# --------------------------------------------------------------------------------------- daemons
export SLURM_CONF="$CONF"
if ! alive "$CTLD_PID"; then
  slurmctld -f "$CONF" -i || die "slurmctld did not start; $(tail -n 20 "$DIR/log/slurmctld.log" 2>/dev/null)"
fi
for n in "${NAMES[@]}"; do
  node_alive "$n" && continue
  log="${slurmd_log//%n/$n}"
  [ "$NODES" = 1 ] || install -d -m 755 "$DIR/spool/$n"
  if [ "$NAMESPACES" = 1 ]; then
    # bash stays the namespace's pid 1 (a command follows slurmd), so SIGKILL to it ends the whole
    # namespace; setsid: no signal of our caller's terminal reaches it
    PIPELINE_SLURM_NODE="$n" setsid unshare --uts --pid --fork --mount-proc \
      bash -c "hostname $n; slurmd -D -f '$CONF' -N $n; true" </dev/null >>"$log" 2>&1 &
    us=$!
    init=""
    for _ in $(seq 100); do init="$(pgrep -P "$us" -x bash | head -n1 || true)"; [ -n "$init" ] && break; sleep 0.02; done
    [ -n "$init" ] || die "unshare for node $n did not start; $(tail -n 20 "$log" 2>/dev/null)"
    echo "$init" >"$DIR/run/ns-$n.pid"
    for _ in $(seq 100); do node_alive "$n" && break; sleep 0.05; done
    node_alive "$n" || die "slurmd $n did not start; $(tail -n 20 "$log" 2>/dev/null)"
  else
    PIPELINE_SLURM_NODE="$n" slurmd -f "$CONF" -N "$n" || die "slurmd $n did not start; $(tail -n 20 "$log" 2>/dev/null)"
  fi
done

# ------------------------------------------------------------------------------------ wait for idle
deadline=$(( $(date +%s) + TIMEOUT ))
while ! all_ready; do
  # a node down since a crash comes back by itself when its slurmd registers (ReturnToService=2);
  # down or drained ones (e.g. "Low RealMemory" from an earlier config) are resumed
  for n in $(node_states | awk '$2 ~ /^(down|drain)/ {print $1}'); do
    scontrol update NodeName="$n" State=RESUME >/dev/null 2>&1 || true
  done
  if [ "$(date +%s)" -ge "$deadline" ]; then
    say "error: nodes not idle after ${TIMEOUT}s: $(node_states | tr '\n' ' ')"
    for f in "$MUNGE_DIR/munged.log" "$DIR/log/slurmctld.log" "${slurmd_log//%n/${NAMES[0]}}"; do
      echo "---- tail $f" >&2; tail -n 15 "$f" >&2 2>/dev/null || true
    done
    exit 1
  fi
  sleep 0.1
done
say "up: $(node_states | tr '\n' ' ')(namespaces: $NAMESPACES), partition $PARTITION, $CONF"
write_env
