#!/usr/bin/env bash
# Smoke test of the one-node cluster: up, a 3-task array that writes files, wait by polling squeue,
# check the files, down. Exit 0 when all is well, 1 otherwise.
#   scripts/slurm/smoke.sh              # uses $PIPELINE_SLURM_DIR (default /tmp/pipeline-slurm)
#   KEEP_UP=1 scripts/slurm/smoke.sh    # leave the cluster running afterwards
set -uo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
DIR="${PIPELINE_SLURM_DIR:-/tmp/pipeline-slurm}"
OUT="$(mktemp -d /tmp/pipeline-slurm-smoke.XXXXXX)"
chmod 755 "$OUT"
fail() { echo "smoke: FAIL: $*" >&2; [ -z "${KEEP_UP:-}" ] && "$HERE/down.sh"; exit 1; }

t0=$(date +%s.%N)
"$HERE/up.sh" >/dev/null || fail "up.sh failed"
t_up=$(date +%s.%N)
# shellcheck disable=SC1091
. "$DIR/env.sh"

job=$(sbatch --parsable --array=0-2 --job-name=pipeline-smoke --comment="smoke $OUT" \
  --output="$OUT/%A_%a.log" --chdir="$OUT" \
  --wrap='echo "task=$SLURM_ARRAY_TASK_ID job=$SLURM_ARRAY_JOB_ID host=$(hostname)" > "out-$SLURM_ARRAY_TASK_ID.txt"') \
  || fail "sbatch failed"
[[ "$job" =~ ^[0-9]+$ ]] || fail "sbatch --parsable printed '$job', expected a job id"

deadline=$(( $(date +%s) + 60 ))
while :; do
  left=$(squeue --noheader --jobs="$job" --states=PENDING,RUNNING,CONFIGURING,COMPLETING,SUSPENDED --format=%i) \
    || fail "squeue failed"
  [ -z "$left" ] && break
  [ "$(date +%s)" -ge "$deadline" ] && fail "array $job not done after 60 s: $left"
  sleep 0.2
done
t_done=$(date +%s.%N)

states=$(squeue --noheader --states=all --jobs="$job" --format='%i %T' | sort)
echo "$states"
ok=1
for i in 0 1 2; do
  f="$OUT/out-$i.txt"
  if ! grep -q "^task=$i job=$job " "$f" 2>/dev/null; then echo "smoke: missing or wrong $f" >&2; ok=0; fi
  grep -q "^${job}_$i COMPLETED$" <<<"$states" || { echo "smoke: task ${job}_$i not COMPLETED" >&2; ok=0; }
done
[ "$ok" = 1 ] || fail "see above; logs in $OUT"

awk -v a="$t0" -v b="$t_up" -v c="$t_done" -v j="$job" \
  'BEGIN { printf "smoke: OK  up %.2f s, 3-task array %.2f s (job %s)\n", b - a, c - b, j }'
rm -rf "$OUT"
[ -z "${KEEP_UP:-}" ] && { "$HERE/down.sh" || exit 1; }
exit 0
