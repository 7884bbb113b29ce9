#!/usr/bin/env bash
# browser-deps.sh installs Debian's chromium and test/browser's npm packages
# when missing. Idempotent; fails loudly.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v chromium >/dev/null; then
  echo "browser-deps: installing chromium" >&2
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi
if [ -f test/browser/package.json ] && [ ! -d test/browser/node_modules/playwright-core ]; then
  echo "browser-deps: npm ci in test/browser" >&2
  (cd test/browser && npm ci --no-audit --no-fund --loglevel=error)
fi
