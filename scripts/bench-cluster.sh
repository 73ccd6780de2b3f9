#!/usr/bin/env bash
# Runs the WebSocket delivery benchmark against 3 release nodes on PostgreSQL and a
# private Redis, or one node on the memory bus for comparison.
# Usage: scripts/bench-cluster.sh [redis|single] [connections] [rate] [duration]
# Nodes share core 0; the load generator runs on core 1. Sends go through node 1,
# connections are spread over every node. BENCH_PROFILE=debug uses debug binaries.
set -euo pipefail
layout=${1:-redis}; conns=${2:-10000}; rate=${3:-2000}; secs=${4:-10}
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/herald-target}
if [ "${BENCH_PROFILE:-release}" = debug ]; then
  cargo build --bins -q; bin=$CARGO_TARGET_DIR/debug
else
  cargo build --release --bins -q; bin=$CARGO_TARGET_DIR/release
fi
work=$(mktemp -d)
ulimit -n 20000
redis_port=${BENCH_REDIS_PORT:-16390}
redis-server --port "$redis_port" --bind 127.0.0.1 --save '' --appendonly no > "$work/redis.log" 2>&1 &
redis=$!
name=herald_bench_$$
psql -q -h 127.0.0.1 -U postgres -d postgres -c "CREATE DATABASE $name"
export HERALD_ADMIN_API_KEY=bench-admin-key HERALD_JWT_SECRET=bench-secret-bench-secret-bench-secret
export HERALD_LOG=warn HERALD_HTTP__WORKERS=1 HERALD_FIRST_RUN_BANNER=false
export HERALD_DATABASE_URL=postgres://postgres@127.0.0.1:5432/$name
export HERALD_WS__MAX_CONNECTIONS_PER_IP=1000000
nodes=3
if [ "$layout" = single ]; then
  nodes=1
else
  export HERALD_BUS=redis HERALD_REDIS_URL=redis://127.0.0.1:$redis_port
fi
pids=(); urls=()
for i in $(seq 1 $nodes); do
  port=$((18090 + i))
  mkdir -p "$work/n$i"
  HERALD_BIND=127.0.0.1:$port HERALD_DATA_DIR=$work/n$i HERALD_NODE_ID=bench-$i \
    taskset -c 0 "$bin/herald" serve > "$work/n$i.log" 2>&1 &
  pids+=($!); urls+=("http://127.0.0.1:$port")
  # One at a time: the first applies the migrations.
  for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/health" >/dev/null && break; sleep 0.1; done
done
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait "${pids[@]}" 2>/dev/null || true
  kill $redis 2>/dev/null || true
  psql -q -h 127.0.0.1 -U postgres -d postgres -c "DROP DATABASE IF EXISTS $name WITH (FORCE)"
  for i in $(seq 1 $nodes); do cp "$work/n$i.log" "/tmp/bench-cluster-n$i.log"; done
  rm -rf "$work"
}
trap cleanup EXIT
ws_urls=$(IFS=,; echo "${urls[*]}")
pid_list=$(IFS=,; echo "${pids[*]}")
taskset -c 1 "$bin/herald-bench" --url "${urls[0]}" --ws-urls "$ws_urls" --connections "$conns" \
  --rate "$rate" --duration "$secs" --idle 10 --pid "$pid_list" --redis-url "redis://127.0.0.1:$redis_port"
