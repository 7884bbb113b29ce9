#!/usr/bin/env bash
# test-deps.sh installs what the test suite needs and is missing: Debian
# packages (python3-websockets for the independent Python client,
# redis-server for the cluster engine, nginx for the proxy tests) and the
# npm packages of test/node (node's ws). Idempotent; fails loudly.
#
# The services are only installed: every test starts its own redis-server
# and nginx on free loopback ports in a temporary directory, and stops them.
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
/usr/bin/python3 -c 'import websockets' 2>/dev/null || need_apt+=(python3-websockets)
command -v node >/dev/null || need_apt+=(nodejs npm)
[ -x /usr/bin/redis-server ] || need_apt+=(redis-server)
[ -x /usr/sbin/nginx ] || need_apt+=(nginx)
if [ ${#need_apt[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "test-deps: need root to apt-get install ${need_apt[*]}" >&2
    exit 1
  fi
  echo "test-deps: installing ${need_apt[*]}" >&2
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}" >/dev/null
  # The packages start system-wide services; the tests want none of them.
  for svc in redis-server nginx; do
    if command -v systemctl >/dev/null && systemctl is-active --quiet "$svc" 2>/dev/null; then
      systemctl disable --now "$svc" >/dev/null 2>&1 || true
    fi
  done
fi

if [ ! -d test/node/node_modules/ws ] || [ test/node/package-lock.json -nt test/node/node_modules/.package-lock.json ]; then
  echo "test-deps: npm ci in test/node" >&2
  (cd test/node && npm ci --no-audit --no-fund --loglevel=error)
fi

# Browser tests: Debian chromium and playwright-core (test/browser).
./scripts/browser-deps.sh
