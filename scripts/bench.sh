#!/usr/bin/env bash
# Runs the WebSocket delivery benchmark against a fresh release server.
# Usage: scripts/bench.sh [sqlite|postgres] [connections] [rate] [duration] [send|ingest]
# The server is pinned to core 0 and the load generator to core 1.
set -euo pipefail
db=${1:-sqlite}; conns=${2:-10000}; rate=${3:-2000}; secs=${4:-10}; mode=${5:-send}
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/herald-target}
[ -n "${HERALD_BENCH_SKIP_BUILD:-}" ] || cargo build --release --bins -q
bin=$CARGO_TARGET_DIR/release
work=$(mktemp -d)
ulimit -n 20000
export HERALD_ADMIN_API_KEY=bench-admin-key HERALD_JWT_SECRET=bench-secret-bench-secret-bench-secret
export HERALD_BIND=127.0.0.1:18090 HERALD_LOG=warn HERALD_HTTP__WORKERS=1 HERALD_DATA_DIR=$work HERALD_FIRST_RUN_BANNER=false
# Every bench client connects from 127.0.0.1: the per-address WebSocket cap (default 1000) would refuse most of them.
export HERALD_WS__MAX_CONNECTIONS_PER_IP=${HERALD_WS__MAX_CONNECTIONS_PER_IP:-1000000}
if [ "$db" = postgres ]; then
  name=herald_bench_$$
  psql -q -h 127.0.0.1 -U postgres -d postgres -c "CREATE DATABASE $name"
  export HERALD_DATABASE_URL=postgres://postgres@127.0.0.1:5432/$name
fi
if [ "$mode" = ingest ]; then
  export HERALD_AMQP_URL=amqp://guest:guest@127.0.0.1:5672/%2f HERALD_AMQP_EXCHANGE=herald.bench HERALD_AMQP_QUEUES="herald.bench.$$=bench.#"
fi
taskset -c 0 "$bin/herald" > "$work/server.log" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null; wait $server 2>/dev/null; [ "$db" = postgres ] && psql -q -h 127.0.0.1 -U postgres -d postgres -c "DROP DATABASE IF EXISTS $name WITH (FORCE)"; cp "$work/server.log" /tmp/bench-server.log; rm -rf "$work"' EXIT
for _ in $(seq 50); do curl -sf http://127.0.0.1:18090/health >/dev/null && break; sleep 0.1; done
taskset -c 1 "$bin/herald-bench" --url http://127.0.0.1:18090 --connections "$conns" --rate "$rate" --duration "$secs" --idle 10 --pid "$server" --mode "$mode" --exchange herald.bench ${BENCH_ARGS:-}
