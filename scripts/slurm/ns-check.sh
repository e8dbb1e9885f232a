#!/usr/bin/env bash
# Check the cross-host stand-in (issue 12): two Node processes in separate PID+UTS namespaces see
# different host names, the same pid, the same boot id, only their own /proc. Needs root.
# Prints one JSON line per "host" and the host-side view; exits 1 if the host names are not distinct.
set -euo pipefail
probe="$(mktemp /tmp/ns-probe.XXXXXX.js)"
trap 'rm -f "$probe"' EXIT
cat >"$probe" <<'JS'
const fs = require('fs'), os = require('os');
const s = fs.readFileSync(`/proc/${process.pid}/stat`, 'utf8');
const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
console.log(JSON.stringify({
  host: os.hostname(), pid: process.pid, start: f[22 - 3],
  boot: fs.readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim(),
  procPids: fs.readdirSync('/proc').filter((n) => /^\d+$/.test(n)).map(Number).sort((a, b) => a - b),
}));
setTimeout(() => {}, 1500);
JS
out="$(mktemp)"; trap 'rm -f "$probe" "$out"' EXIT
for h in hostA hostB; do
  unshare --pid --uts --fork --mount-proc bash -c "hostname $h; node $probe; true" >>"$out" &
done
sleep 0.8
echo "host side:"
for p in $(pgrep -f "^node $probe" || true); do
  echo "  $(grep NSpid "/proc/$p/status" | tr -s '\t' ' ') start=$(awk '{print $22}' "/proc/$p/stat")"
done
wait
cat "$out"
[ "$(grep -c '"host":"hostA"' "$out")" = 1 ] && [ "$(grep -c '"host":"hostB"' "$out")" = 1 ]
