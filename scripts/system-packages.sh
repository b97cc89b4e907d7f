#!/usr/bin/env bash
# The system packages `make demo` and `make test` need, installed from Debian's
# archive when missing (as root), or named in one line to install (otherwise).
# Usage: scripts/system-packages.sh demo|test
set -euo pipefail
want=${1:-test}

missing=()
need() {  # need COMMAND PACKAGE...
  local cmd=$1; shift
  command -v "$cmd" >/dev/null 2>&1 || [ -x "/usr/sbin/$cmd" ] || missing+=("$@")
}
need node nodejs
need npm npm
need make make
python3 -c 'import venv, ensurepip' 2>/dev/null || missing+=(python3-venv)
if [ "$want" = test ]; then
  need redis-server redis-server   # the cluster tests start their own redis-server
  need rabbitmq-server rabbitmq-server  # the cluster tests on amqp:// (started by the tests when not running)
  need openssl openssl             # self-signed certificates for the TLS tests
  need chromium chromium           # the browser tests (headless)
  need nginx nginx                 # the proxy row of tests/integration/test_start_ways.py
  need gcc gcc                     # make compiled: the mypyc build the suite runs on a second time
  python3 -c 'import os, sysconfig; assert os.path.exists(sysconfig.get_paths()["include"] + "/Python.h")' \
    2>/dev/null || missing+=(python3-dev)
fi
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" != 0 ]; then
  echo "Missing system packages. Install them, then run make again:" >&2
  echo "  sudo apt-get install -y ${missing[*]}" >&2
  exit 1
fi
echo "Installing system packages: ${missing[*]}" >&2
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
