#!/usr/bin/env bash
# Runs one workload against nchan (nginx's pub/sub module, which persists
# nothing) and against Herald on each database, back to back, with the same
# load generator, and prints the figures with Herald's ratio to nchan.
# Usage: scripts/compare.sh [connections] [rate] [seconds] [runs] [backends...]
#   e.g. scripts/compare.sh 10000 2000 10 3 sqlite postgres
# Each figure is the median of `runs`; nchan and the backends alternate within
# a round so drift on the machine hits them alike. Servers are pinned to core 0,
# the load generator to core 1 (as in scripts/bench.sh).
# Needs nginx-light and libnginx-mod-nchan (Debian); .ci/run does not run this.
set -euo pipefail
conns=${1:-10000}; rate=${2:-2000}; secs=${3:-10}; runs=${4:-3}
shift $(( $# < 4 ? $# : 4 ))
backends=${*:-sqlite postgres}
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/herald-target}
cargo build --release --bins -q
bin=$CARGO_TARGET_DIR/release
out=${COMPARE_OUT:-$(mktemp -d)}
mkdir -p "$out"
ulimit -n 20000
port=18091

nchan_run() {
  local dir; dir=$(mktemp -d)
  mkdir -p "$dir"/{body,proxy,fastcgi,uwsgi,scgi}
  sed -e "s|__PORT__|$port|g" -e "s|__DIR__|$dir|g" scripts/nchan.conf > "$dir/nginx.conf"
  taskset -c 0 nginx -p "$dir" -c "$dir/nginx.conf" &
  local master=$!
  for _ in $(seq 50); do curl -sf "http://127.0.0.1:$port/health" >/dev/null && break; sleep 0.1; done
  # The worker holds every connection; the master only supervises it.
  local worker; worker=$(pgrep -P "$master" | head -1)
  taskset -c 1 "$bin/herald-bench" --target nchan --url "http://127.0.0.1:$port" --admin-key none \
    --connections "$conns" --rate "$rate" --duration "$secs" --idle 10 --pid "$worker" || true
  kill "$master"; wait "$master" 2>/dev/null || true
  rm -rf "$dir"
}

for round in $(seq "$runs"); do
  echo "== round $round: nchan" >&2
  nchan_run > "$out/nchan.$round.txt" 2>&1
  for b in $backends; do
    echo "== round $round: herald on $b" >&2
    HERALD_BENCH_SKIP_BUILD=1 scripts/bench.sh "$b" "$conns" "$rate" "$secs" > "$out/$b.$round.txt" 2>&1 || true
  done
done
echo "raw output: $out" >&2
python3 scripts/compare_table.py "$out" nchan $backends
