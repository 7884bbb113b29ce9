#!/usr/bin/env bash
# cluster.sh (make cluster): a Comet cluster on this machine for a newcomer:
# Redis, three Comet nodes on it, and nginx in front with the shipped
# deploy/nginx/comet.conf (plain HTTP and TLS with a self-signed
# certificate), all on loopback ports. Prints the URLs; Ctrl-C stops
# everything and removes the scratch directory.
#
# Knobs (environment; none is COMET_*, which the nodes would read as flags):
#   CLUSTER_HTTP_PORT   nginx, plain HTTP          (default 8000)
#   CLUSTER_HTTPS_PORT  nginx, TLS                 (default 8443)
#   CLUSTER_NODE_PORT   first node; the others follow (default 8081)
#   CLUSTER_NODES       number of nodes            (default 3)
#   CLUSTER_REDIS_PORT  Redis (first master)       (default 6380)
#   CLUSTER_REDIS       single (default) or cluster (three masters)
#   CLUSTER_FSYNC       appendfsync: always, everysec (default) or no
#   CLUSTER_API_KEY     the nodes' -api-key        (default dev-key)
#   CLUSTER_KEEP=1      keep the scratch directory (logs) after Ctrl-C
#   CLUSTER_ARGS        more flags for every node (e.g. "-log-level debug")
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

HTTP_PORT=${CLUSTER_HTTP_PORT:-8000}
HTTPS_PORT=${CLUSTER_HTTPS_PORT:-8443}
NODE_PORT=${CLUSTER_NODE_PORT:-8081}
NODES=${CLUSTER_NODES:-3}
REDIS_PORT=${CLUSTER_REDIS_PORT:-6380}
REDIS_MODE=${CLUSTER_REDIS:-single}
FSYNC=${CLUSTER_FSYNC:-everysec}
API_KEY=${CLUSTER_API_KEY:-dev-key}
DEMO_SECRET=$(openssl rand -hex 32)

die() { echo "cluster: $*" >&2; exit 1; }

NGINX=$(command -v nginx || true)
[ -z "$NGINX" ] && [ -x /usr/sbin/nginx ] && NGINX=/usr/sbin/nginx
[ -n "$NGINX" ] || die "nginx not found (scripts/test-deps.sh installs it)"
command -v redis-server >/dev/null || die "redis-server not found (scripts/test-deps.sh installs it)"
command -v openssl >/dev/null || die "openssl not found (apt-get install openssl)"
case "$REDIS_MODE" in single | cluster) ;; *) die "CLUSTER_REDIS=$REDIS_MODE: want single or cluster" ;; esac
case "$FSYNC" in always | everysec | no) ;; *) die "CLUSTER_FSYNC=$FSYNC: want always, everysec or no" ;; esac

REDIS_PORTS=("$REDIS_PORT")
[ "$REDIS_MODE" = cluster ] && REDIS_PORTS=("$REDIS_PORT" $((REDIS_PORT + 1)) $((REDIS_PORT + 2)))
NODE_PORTS=()
for ((i = 0; i < NODES; i++)); do NODE_PORTS+=($((NODE_PORT + i))); done

# Refuse to start over something already listening: it would be a silent mix.
busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
for p in "$HTTP_PORT" "$HTTPS_PORT" "${NODE_PORTS[@]}" "${REDIS_PORTS[@]}"; do
	busy "$p" && die "port $p is in use (set CLUSTER_*_PORT)"
done
if [ "$REDIS_MODE" = cluster ]; then
	for p in "${REDIS_PORTS[@]}"; do busy $((p + 10000)) && die "port $((p + 10000)) (cluster bus of $p) is in use"; done
fi

echo "cluster: building bin/comet" >&2
go build -o bin/comet ./cmd/comet

DIR=$(mktemp -d "${TMPDIR:-/tmp}/comet-cluster.XXXXXX")
PIDS=()
cleanup() {
	trap - INT TERM EXIT
	echo >&2
	echo "cluster: stopping" >&2
	# In the reverse of the start order, each waited for: nginx, then the
	# nodes (they drain: their clients' last acks still reach Redis), then
	# Redis.
	for ((i = ${#PIDS[@]} - 1; i >= 0; i--)); do
		kill -TERM "${PIDS[i]}" 2>/dev/null || true
		wait "${PIDS[i]}" 2>/dev/null || true
	done
	if [ "${CLUSTER_KEEP:-0}" = 1 ]; then
		echo "cluster: logs kept in $DIR" >&2
	else
		rm -rf "$DIR"
	fi
}
trap cleanup INT TERM EXIT

# waitfor PORT WHAT: until something answers on 127.0.0.1:PORT (10 s).
waitfor() {
	for _ in $(seq 100); do busy "$1" && return 0; sleep 0.1; done
	die "$2 did not come up on port $1 (logs: $DIR)"
}

# Redis: AOF on, so a restart keeps what the nodes acknowledged
# (docs/CLUSTER.md, "Durability"). noeviction: a full Redis refuses writes
# instead of dropping live channels.
for p in "${REDIS_PORTS[@]}"; do
	mkdir -p "$DIR/redis-$p"
	args=(--port "$p" --bind 127.0.0.1 --dir "$DIR/redis-$p" --save '' --maxmemory-policy noeviction
		--logfile "$DIR/redis-$p/redis.log")
	if [ "$FSYNC" = no ]; then args+=(--appendonly no); else args+=(--appendonly yes --appendfsync "$FSYNC"); fi
	if [ "$REDIS_MODE" = cluster ]; then
		args+=(--cluster-enabled yes --cluster-config-file nodes.conf --cluster-require-full-coverage no)
	fi
	redis-server "${args[@]}" &
	PIDS+=($!)
done
for p in "${REDIS_PORTS[@]}"; do waitfor "$p" "redis-server"; done
REDIS_ADDRS=$(printf '127.0.0.1:%s,' "${REDIS_PORTS[@]}")
REDIS_ADDRS=${REDIS_ADDRS%,}
ENGINE=(-engine redis -redis-addrs "$REDIS_ADDRS")
if [ "$REDIS_MODE" = cluster ]; then
	# shellcheck disable=SC2046
	redis-cli --cluster create $(printf '127.0.0.1:%s ' "${REDIS_PORTS[@]}") --cluster-replicas 0 --cluster-yes >"$DIR/cluster-create.log" 2>&1 ||
		die "redis-cli --cluster create failed: $(tail -3 "$DIR/cluster-create.log")"
	ENGINE+=(-redis-cluster)
fi

# The nodes, on the demo's identities: a shared -jwt-secret makes a token
# minted by one node good on the others. -trusted-proxies: nginx (on loopback) says who the client is.
for p in "${NODE_PORTS[@]}"; do
	# shellcheck disable=SC2086
	"$ROOT/bin/comet" -addr "127.0.0.1:$p" "${ENGINE[@]}" -auth demo -jwt-secret "$DEMO_SECRET" -inbox on -api-key "$API_KEY" \
		-trusted-proxies 127.0.0.1 ${CLUSTER_ARGS:-} 2>"$DIR/node-$p.log" &
	PIDS+=($!)
	echo $! >"$DIR/node-$p.pid"
done
for p in "${NODE_PORTS[@]}"; do
	ok=0
	for _ in $(seq 150); do
		if [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$p/healthz" || true)" = 200 ]; then ok=1; break; fi
		sleep 0.1
	done
	[ $ok = 1 ] || die "node on $p is not healthy: $(tail -3 "$DIR/node-$p.log")"
done

# nginx: the shipped config with this machine's ports and a self-signed
# certificate (the same substitutions test/cluster makes).
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 7 \
	-subj /CN=127.0.0.1 -addext "subjectAltName=IP:127.0.0.1,DNS:localhost" \
	-keyout "$DIR/tls.key" -out "$DIR/tls.crt" 2>/dev/null
upstream=""
for p in "${NODE_PORTS[@]}"; do upstream+="    server 127.0.0.1:$p max_fails=1 fail_timeout=3s;\n"; done
awk -v up="$upstream" '
	/^[ \t]*server[ \t]+127\.0\.0\.1:[0-9]+/ { if (!done) { printf "%s", up; done = 1 } next }
	/^[ \t]*listen[ \t]+\[::\]/ { next }
	{ print }' deploy/nginx/comet.conf |
	sed -e "s#listen 80;#listen 127.0.0.1:$HTTP_PORT;#" \
		-e "s#listen 443 ssl http2;#listen 127.0.0.1:$HTTPS_PORT ssl http2;#" \
		-e "s#/etc/ssl/comet/fullchain.pem#$DIR/tls.crt#" \
		-e "s#/etc/ssl/comet/privkey.pem#$DIR/tls.key#" >"$DIR/comet.conf"
user=""
[ "$(id -u)" = 0 ] && user="user root;"
cat >"$DIR/nginx.conf" <<EOF
$user
daemon off;
worker_processes auto;
pid $DIR/nginx.pid;
error_log $DIR/nginx-error.log notice;
events { worker_connections 4096; }
http {
    access_log $DIR/nginx-access.log;
    client_body_temp_path $DIR/nginx-body;
    proxy_temp_path $DIR/nginx-proxy;
    fastcgi_temp_path $DIR/nginx-fastcgi;
    uwsgi_temp_path $DIR/nginx-uwsgi;
    scgi_temp_path $DIR/nginx-scgi;
    include $DIR/comet.conf;
}
EOF
"$NGINX" -t -q -p "$DIR" -e "$DIR/nginx-error.log" -c "$DIR/nginx.conf" || die "nginx -t failed"
"$NGINX" -p "$DIR" -e "$DIR/nginx-error.log" -c "$DIR/nginx.conf" &
PIDS+=($!)
waitfor "$HTTP_PORT" nginx

nodes=$(printf 'http://127.0.0.1:%s ' "${NODE_PORTS[@]}")
cat <<EOF

Comet cluster: $NODES nodes on Redis ($REDIS_MODE, $REDIS_ADDRS, appendfsync $FSYNC), behind nginx.

  open       http://127.0.0.1:$HTTP_PORT/          the web IM demo; nginx picks a node per connection
  TLS        https://127.0.0.1:$HTTPS_PORT/  wss://127.0.0.1:$HTTPS_PORT/ws   (self-signed: $DIR/tls.crt)
  nodes      $nodes
  publish    curl -XPOST -H 'Authorization: Bearer $API_KEY' http://127.0.0.1:$HTTP_PORT/api/publish \\
                  -d '{"channel":"room:lobby","data":{"text":"hello from the API"}}'
  listen     TOKEN=\$(curl -s 'http://127.0.0.1:$HTTP_PORT/demo/token?user=me' | sed 's/.*"token":"\([^"]*\)".*/\1/')
             curl -N "http://127.0.0.1:$HTTP_PORT/sse?ch=room:lobby&token=\$TOKEN"
  try        kill -9 \$(cat $DIR/node-$NODE_PORT.pid)     (its clients move to the others)
             redis-cli -p $REDIS_PORT CLIENT KILL TYPE pubsub
  logs       $DIR

Ctrl-C stops everything.
EOF
wait
