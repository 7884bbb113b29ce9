#!/usr/bin/env bash
# browser-deps.sh installs what the browser tests (test/browser, run by
# test/e2e/browser_test.go) and the client's checks (test/e2e/client_build_test.go)
# need and is missing: Debian's chromium, the npm packages of test/browser
# (playwright-core, pinned) and of web/client (typescript, pinned: the type
# check and comet.d.ts). Idempotent; fails loudly.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -x /usr/bin/chromium ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "browser-deps: need root to apt-get install chromium" >&2
    exit 1
  fi
  echo "browser-deps: installing chromium" >&2
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi
if [ ! -d test/browser/node_modules/playwright-core ] || [ test/browser/package-lock.json -nt test/browser/node_modules/.package-lock.json ]; then
  echo "browser-deps: npm ci in test/browser" >&2
  (cd test/browser && npm ci --no-audit --no-fund --loglevel=error)
fi
if [ ! -d web/client/node_modules/typescript ] || [ web/client/package-lock.json -nt web/client/node_modules/.package-lock.json ]; then
  echo "browser-deps: npm ci in web/client" >&2
  (cd web/client && npm ci --no-audit --no-fund --loglevel=error)
fi
