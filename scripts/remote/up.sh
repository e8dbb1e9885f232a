#!/usr/bin/env bash
# Start a remote cache server for tests and CI: nginx with WebDAV PUT, as a plain process (no
# systemd) on 127.0.0.1, serving Bazel's remote-cache layout (/ac/<key>, /cas/<sha256>).
#
#   scripts/remote/up.sh [DIR] [PORT]     # prints the server's URL on stdout: http://127.0.0.1:PORT/
#   scripts/remote/down.sh [DIR]
#
# DIR (default $PIPELINE_REMOTE_DIR, else a new temp folder) holds everything:
#   $DIR/nginx.conf   the configuration        $DIR/root/      the stored objects
#   $DIR/body/        PUT bodies in flight     $DIR/nginx.pid  $DIR/log/ (error.log, access.log)
# PORT 0 or unset: a free port. The bodies' temp folder is on the root's filesystem, so nginx
# moves a finished upload into place with one rename: a PUT cut off mid-way leaves no object.
# PIPELINE_REMOTE_LIMIT_RATE (e.g. 5m): nginx's limit_rate on responses (tests of a server that
# dies mid-download use it to make a download last).
# Installs nginx from the distribution (apt) when missing and run as root; Debian's nginx 1.22
# has the DAV module built in (--with-http_dav_module).
set -euo pipefail

DIR="${1:-${PIPELINE_REMOTE_DIR:-}}"
PORT="${2:-${PIPELINE_REMOTE_PORT:-0}}"
say() { echo "remote-up: $*" >&2; }
die() { say "error: $*"; exit 1; }

export PATH="$PATH:/usr/sbin:/sbin"
if ! command -v nginx >/dev/null 2>&1; then
  if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
    die "nginx is missing; install it as root: apt-get update && apt-get install -y nginx (or run this script as root)"
  fi
  say "installing nginx (apt)"
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends nginx) >&2 || die "apt-get install nginx failed"
fi
nginx -V 2>&1 | grep -q -- '--with-http_dav_module' || die "this nginx has no DAV module (PUT): install Debian's nginx or nginx"

[ -n "$DIR" ] || DIR="$(mktemp -d "${TMPDIR:-/tmp}/pipeline-remote.XXXXXX")"
mkdir -p "$DIR/root/ac" "$DIR/root/cas" "$DIR/body" "$DIR/log"
DIR="$(cd "$DIR" && pwd -P)"

if [ -s "$DIR/nginx.pid" ] && kill -0 "$(cat "$DIR/nginx.pid")" 2>/dev/null; then
  cat "$DIR/url"
  exit 0
fi

if [ "$PORT" = 0 ]; then
  PORT="$(node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')"
fi

# Running as root, nginx's workers switch to a user: the stored files must be theirs.
USER_LINE=""
RATE_LINE=""
if [ -n "${PIPELINE_REMOTE_LIMIT_RATE:-}" ]; then RATE_LINE="limit_rate ${PIPELINE_REMOTE_LIMIT_RATE};"; fi
if [ "$(id -u)" -eq 0 ]; then USER_LINE="user root;"; fi

cat > "$DIR/nginx.conf" <<CONF
$USER_LINE
daemon on;
worker_processes 2;
pid $DIR/nginx.pid;
error_log $DIR/log/error.log warn;
events { worker_connections 256; }
http {
  access_log $DIR/log/access.log;
  client_body_temp_path $DIR/body;
  proxy_temp_path $DIR/body/proxy;
  fastcgi_temp_path $DIR/body/fastcgi;
  uwsgi_temp_path $DIR/body/uwsgi;
  scgi_temp_path $DIR/body/scgi;
  client_max_body_size 2G;
  sendfile on;
  server {
    listen 127.0.0.1:$PORT;
    root $DIR/root;
    location / {
      dav_methods PUT;
      create_full_put_path on;
      dav_access user:rw group:r all:r;
      limit_except GET HEAD PUT { deny all; }
      $RATE_LINE
    }
  }
}
CONF

nginx -c "$DIR/nginx.conf" -p "$DIR" -g "error_log $DIR/log/error.log warn;" 2>"$DIR/log/start.log" || die "nginx did not start: $(cat "$DIR/log/start.log")"
for _ in $(seq 50); do
  if [ -s "$DIR/nginx.pid" ] && (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null; then
    echo "http://127.0.0.1:$PORT/" > "$DIR/url"
    cat "$DIR/url"
    exit 0
  fi
  sleep 0.1
done
die "nginx did not listen on 127.0.0.1:$PORT within 5 s: $(tail -n 5 "$DIR/log/error.log" 2>/dev/null)"
