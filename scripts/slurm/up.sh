#!/usr/bin/env bash
# Start a one-node Slurm cluster on this machine, without systemd, for tests and CI.
#
#   scripts/slurm/up.sh            # then: . "${PIPELINE_SLURM_DIR:-/tmp/pipeline-slurm}/env.sh"
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
#   $DIR/log/            slurmctld.log slurmd.log
#
# Environment:
#   PIPELINE_SLURM_DIR        state folder (default /tmp/pipeline-slurm); every parent must be
#                             searchable by all (munged refuses otherwise)
#   PIPELINE_SLURM_PORT       slurmctld port (default 16817); slurmd listens on PORT+1
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
NODE="$(hostname -s)"
CTLD_PID="$DIR/run/slurmctld.pid"
SLURMD_PID="$DIR/run/slurmd.pid"
MUNGE_PID="$MUNGE_DIR/munged.pid"

# a pid file counts only if its process still runs and is the daemon it names (munged.pid ->
# munged): after a reboot the pid may belong to anything
alive() {
  local p
  [ -s "$1" ] || return 1
  p="$(cat "$1")"
  kill -0 "$p" 2>/dev/null && [ "$(cat "/proc/$p/comm" 2>/dev/null)" = "$(basename "$1" .pid)" ]
}

write_env() {
  cat >"$DIR/env.sh" <<EOF
# source this: the environment a Slurm client (sbatch, squeue, scancel, ...) needs
export SLURM_CONF=$CONF
EOF
  echo "export SLURM_CONF=$CONF"
}

node_state() { SLURM_CONF="$CONF" sinfo --noheader --nodes="$NODE" --format=%T 2>/dev/null | head -n1; }

if alive "$MUNGE_PID" && alive "$CTLD_PID" && alive "$SLURMD_PID" && [ -f "$CONF" ]; then
  st="$(node_state || true)"
  case "$st" in
    idle|mixed|allocated|completing)
      say "already up ($NODE $st, $CONF)"; write_env; exit 0 ;;
  esac
fi

# A port taken by someone else (another cluster) would make our clients talk to the wrong controller.
listening() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
for pair in "slurmctld:$PORT:$CTLD_PID" "slurmd:$((PORT + 1)):$SLURMD_PID"; do
  IFS=: read -r name port pidfile <<<"$pair"
  if ! alive "$pidfile" && listening "$port"; then
    die "port $port (for $name) is taken by another process: another cluster? Choose PIPELINE_SLURM_PORT (slurmctld; slurmd uses +1), or stop it."
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

cat >"$CONF.new" <<EOF
# written by scripts/slurm/up.sh; a one-node test cluster
ClusterName=pipeline
SlurmctldHost=$NODE(127.0.0.1)
SlurmctldPort=$PORT
SlurmdPort=$((PORT + 1))
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket=$SOCKET
CredType=cred/munge
StateSaveLocation=$DIR/state
SlurmdSpoolDir=$DIR/spool
SlurmctldPidFile=$CTLD_PID
SlurmdPidFile=$SLURMD_PID
SlurmctldLogFile=$DIR/log/slurmctld.log
SlurmdLogFile=$DIR/log/slurmd.log
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
SlurmdTimeout=30
MaxArraySize=1001
NodeName=$NODE NodeAddr=127.0.0.1 CPUs=$cpus $topo RealMemory=$real_mem State=UNKNOWN
PartitionName=$PARTITION Nodes=$NODE Default=YES MaxTime=INFINITE State=UP
EOF
mv "$CONF.new" "$CONF"

# --------------------------------------------------------------------------------------- daemons
export SLURM_CONF="$CONF"
if ! alive "$CTLD_PID"; then
  slurmctld -f "$CONF" -i || die "slurmctld did not start; $(tail -n 20 "$DIR/log/slurmctld.log" 2>/dev/null)"
fi
if ! alive "$SLURMD_PID"; then
  slurmd -f "$CONF" -N "$NODE" || die "slurmd did not start; $(tail -n 20 "$DIR/log/slurmd.log" 2>/dev/null)"
fi

# ------------------------------------------------------------------------------------ wait for idle
deadline=$(( $(date +%s) + TIMEOUT ))
st=""
while :; do
  st="$(node_state || true)"
  case "$st" in
    idle|mixed|allocated|completing) break ;;
    down*|drain*|drained*)
      scontrol update NodeName="$NODE" State=RESUME >/dev/null 2>&1 || true ;;
  esac
  if [ "$(date +%s)" -ge "$deadline" ]; then
    say "error: node $NODE not idle after ${TIMEOUT}s (state: '${st:-no answer}')"
    for f in "$MUNGE_DIR/munged.log" "$DIR/log/slurmctld.log" "$DIR/log/slurmd.log"; do
      echo "---- tail $f" >&2; tail -n 15 "$f" >&2 2>/dev/null || true
    done
    exit 1
  fi
  sleep 0.1
done
say "up: node $NODE $st, partition $PARTITION, $CONF"
write_env
