#!/usr/bin/env bash
# Stop the nginx that scripts/remote/up.sh started in DIR (by its pid file) and wait until it is gone.
#   scripts/remote/down.sh DIR            # keeps DIR (objects, logs)
#   scripts/remote/down.sh DIR --purge    # and removes it
#   scripts/remote/down.sh DIR --kill     # SIGKILL master and workers at once (a server dying mid-transfer)
set -uo pipefail
DIR="${1:-${PIPELINE_REMOTE_DIR:-}}"
[ -n "$DIR" ] && [ -d "$DIR" ] || { echo "remote-down: nothing at '${DIR}'" >&2; exit 0; }
if [ -s "$DIR/nginx.pid" ]; then
  pid="$(cat "$DIR/nginx.pid")"
  if kill -0 "$pid" 2>/dev/null && [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = nginx ]; then
    if [ "${2:-}" = "--kill" ]; then
      workers="$(pgrep -P "$pid" 2>/dev/null || true)"
      kill -KILL "$pid" $workers 2>/dev/null
    else
      kill -QUIT "$pid" 2>/dev/null
    fi
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null
  fi
  rm -f "$DIR/nginx.pid"
fi
rm -f "$DIR/url"
[ "${2:-}" = "--purge" ] && rm -rf "$DIR"
exit 0
