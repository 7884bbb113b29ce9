#!/usr/bin/env bash
# Installs the peers cometbench compares Comet with, when they are missing:
#   nginx + libnginx-mod-nchan from Debian apt, and Centrifugo v5.4.9 built
#   from the Go module proxy in a throwaway module outside the repository.
# Idempotent; safe to run before every bench-compare. A peer that fails to
# install is reported and skipped, never fatal.
set -u
CACHE="${COMET_BENCH_CACHE:-$HOME/.cache/comet-bench}"
CENTRIFUGO_VERSION="${CENTRIFUGO_VERSION:-v5.4.9}"
mkdir -p "$CACHE"

if ! command -v nginx >/dev/null 2>&1 || [ ! -e /usr/lib/nginx/modules/ngx_nchan_module.so ]; then
    echo "peers: installing nginx libnginx-mod-nchan" >&2
    SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
    if ! { $SUDO apt-get update -q && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q nginx libnginx-mod-nchan; } >"$CACHE/apt.log" 2>&1; then
        echo "peers: nchan install failed, see $CACHE/apt.log" >&2
    fi
fi

dir="$CACHE/centrifugo"
if [ ! -x "$dir/centrifugo" ]; then
    echo "peers: building centrifugo $CENTRIFUGO_VERSION in $dir" >&2
    mkdir -p "$dir"
    cat >"$dir/go.mod" <<MOD
module cometbench/centrifugo

go 1.26
MOD
    cat >"$dir/tools.go" <<'SRC'
//go:build tools

package tools

import _ "github.com/centrifugal/centrifugo/v5"
SRC
    if ! (cd "$dir" && GOFLAGS=-mod=mod go get "github.com/centrifugal/centrifugo/v5@$CENTRIFUGO_VERSION" &&
        go build -o centrifugo github.com/centrifugal/centrifugo/v5) >"$dir/build.log" 2>&1; then
        echo "peers: centrifugo build failed, see $dir/build.log" >&2
    fi
fi
