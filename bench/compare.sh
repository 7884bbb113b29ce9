#!/usr/bin/env bash
# make bench-compare: install the peers if missing, build Comet and
# cometbench, check the peer adapters, then run the comparison set at sizes
# a 2-core machine holds (about 10 minutes). Results go to
# results/<timestamp>/ (results.jsonl, report.md, *.svg).
#
# Environment knobs: TARGETS (default comet,floor,baseline,nchan,centrifugo),
# SCENARIOS, OUT, PIN=1 (taskset: server CPU 1, clients CPU 0), EXTRA (more
# cometbench flags).
set -euo pipefail
cd "$(dirname "$0")/.."
GO="${GO:-go}"

bench/peers/install.sh
$GO build -o bin/comet ./cmd/comet
$GO build -o bin/cometbench ./cmd/cometbench

# Peer adapters at small sizes (they fail, not skip, when a peer is missing).
$GO test -tags peers -count=1 -run 'Nchan|Centrifugo' ./bench/

OUT="${OUT:-results/$(date +%Y%m%d-%H%M%S)}"
mkdir -p "$OUT"
pin=""
[ "${PIN:-0}" = 1 ] && pin="-pin"
# shellcheck disable=SC2086
./bin/cometbench $pin \
    -targets "${TARGETS:-comet,floor,baseline,nchan,centrifugo}" \
    -scenarios "${SCENARIOS:-connect,idle,broadcast,throughput,room,churn,idle-sse,broadcast-sse,idle-poll,broadcast-poll}" \
    -connect-conns 5000 \
    -idle-conns 15000 -idle-hold 10s \
    -broadcast-subs 1000,5000 -broadcast-msgs 200 -broadcast-rate 20 \
    -tp-channels 1000 -tp-subs 4 -tp-publishers 16 -tp-time 10s \
    -room-subs 5000 -room-publishers 16 -room-time 10s \
    -churn-stable 2000 -churn-rate 200 -churn-time 20s \
    -out "$OUT" ${EXTRA:-} | tee "$OUT/table.txt"
echo "results: $OUT" >&2
