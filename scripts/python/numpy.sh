#!/usr/bin/env bash
# Makes sure /usr/bin/python3 imports numpy (Debian's python3-numpy), for the crosscheck target
# and its test. Installs the package with apt-get when run as root; otherwise says what is
# missing and exits 1. Prints the interpreter and numpy version on success.
set -euo pipefail
PY=${PIPELINE_PYTHON:-/usr/bin/python3}
probe() { "$PY" -c 'import numpy, platform; print(f"{platform.python_implementation()} {platform.python_version()}, numpy {numpy.__version__}")' 2>/dev/null; }
if probe; then exit 0; fi
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends python3 python3-numpy) >&2
  probe && exit 0
fi
echo "no numpy for $PY: install Debian's python3-numpy (apt-get install python3-numpy) or set PIPELINE_PYTHON" >&2
exit 1
