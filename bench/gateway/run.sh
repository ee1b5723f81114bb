#!/usr/bin/env bash
# Gateway overhead benchmark: the same wrk load against a fast upstream directly, through
# `fathom gateway` (auth, quota, routing, ledger, metrics) and through nginx as a plain reverse
# proxy, in one run on this machine. Prints P50/P90/P99 latency, requests/s and the latency each
# proxy adds over direct.
#
#   bench/gateway/run.sh                     # builds build/release/bin/fathom if needed
#   CONNS="1 16" DURATION=10 LEDGER_DIR=/dev/shm bench/gateway/run.sh
#
# Needs: node, wrk, nginx (scripts/setup.sh does not install the last two: apt-get install wrk nginx).
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
HERE=$ROOT/bench/gateway
BUILD_DIR=${BUILD_DIR:-build/release}
FATHOM=${FATHOM_BIN:-$BUILD_DIR/bin/fathom}
CONNS=${CONNS:-"1 16 64"}
DURATION=${DURATION:-10}
THREADS=${THREADS:-2}

for tool in node wrk nginx; do
  command -v "$tool" >/dev/null || { echo "run.sh: $tool is not installed (apt-get install wrk nginx nodejs)" >&2; exit 1; }
done
if [[ -z "${FATHOM_BIN:-}" ]]; then
  [[ -f $BUILD_DIR/build.ninja ]] || cmake --preset release >/dev/null
  ninja -C "$BUILD_DIR" -j2 fathom >/dev/null
fi

WORK=$(mktemp -d /tmp/fathom-gw-bench-XXXXXX)
LEDGER_DIR=${LEDGER_DIR:-$WORK}
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

# Waits (bounded) for a line matching $2 in log file $1; prints the URL it contains.
wait_url() {
  for _ in $(seq 1 300); do
    if grep -qE "$2" "$1"; then grep -oE 'http://[0-9.]+:[0-9]+' <(grep -E "$2" "$1") | head -1; return 0; fi
    sleep 0.1
  done
  echo "run.sh: timed out waiting for '$2' in $1:" >&2; cat "$1" >&2; exit 1
}

node "$HERE/fast_upstream.mjs" >"$WORK/upstream.log" 2>&1 & pids+=($!)
UPSTREAM=$(wait_url "$WORK/upstream.log" 'listening on')

cat >"$WORK/gateway.yaml" <<YAML
listen: {host: 127.0.0.1, port: 0}
io_threads: ${GATEWAY_IO_THREADS:-2}
data_dir: $WORK/data
ledger_db: $LEDGER_DIR/ledger-$$.db
health_check: {interval_ms: 600000}
pools:
  fast:
    policy: least_outstanding
    upstreams:
      - {url: $UPSTREAM, model: bench}
models:
  - {name: bench, pool: fast}
prices:
  bench: {currency: USD, input_per_1k: "0.1", output_per_1k: "0.2"}
cache: {enabled: false}
YAML
KEY=$("$FATHOM" keys create --config "$WORK/gateway.yaml" --tenant bench)
"$FATHOM" gateway --config "$WORK/gateway.yaml" >"$WORK/gateway.log" 2>&1 & pids+=($!)
GATEWAY=$(wait_url "$WORK/gateway.log" 'fathom gateway on')

NGINX_PORT=$(node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')
mkdir -p "$WORK/nginx"
cat >"$WORK/nginx/nginx.conf" <<NGINX
daemon off;
master_process off;
user root;
worker_processes 1;
error_log $WORK/nginx/error.log warn;
pid $WORK/nginx/nginx.pid;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path $WORK/nginx/body;
  proxy_temp_path $WORK/nginx/proxy;
  fastcgi_temp_path $WORK/nginx/fastcgi;
  uwsgi_temp_path $WORK/nginx/uwsgi;
  scgi_temp_path $WORK/nginx/scgi;
  upstream fast { server ${UPSTREAM#http://}; keepalive 128; }
  server {
    listen 127.0.0.1:$NGINX_PORT;
    location / {
      proxy_pass http://fast;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
    }
  }
}
NGINX
nginx -c "$WORK/nginx/nginx.conf" -e "$WORK/nginx/error.log" >"$WORK/nginx.log" 2>&1 & pids+=($!)
for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$NGINX_PORT/health" >/dev/null && break; sleep 0.1; done

# run NAME URL CONNS -> "requests/s p50_us p90_us p99_us errors"
run() {
  local key=""
  [[ $1 == gateway ]] && key=$KEY
  local out
  local t=$THREADS
  (( $3 < t )) && t=$3
  out=$(BENCH_KEY=$key wrk -t"$t" -c"$3" -d"${DURATION}s" -s "$HERE/post_chat.lua" "$2/v1/chat/completions" | grep '^RESULT')
  local req dur err p50 p90 p99
  req=$(sed -E 's/.*requests=([0-9]+).*/\1/' <<<"$out"); dur=$(sed -E 's/.*duration_us=([0-9]+).*/\1/' <<<"$out")
  err=$(sed -E 's/.*errors=([0-9]+).*/\1/' <<<"$out")
  p50=$(sed -E 's/.*p50_us=([0-9]+).*/\1/' <<<"$out"); p90=$(sed -E 's/.*p90_us=([0-9]+).*/\1/' <<<"$out")
  p99=$(sed -E 's/.*p99_us=([0-9]+).*/\1/' <<<"$out")
  echo "$(( req * 1000000 / dur )) $p50 $p90 $p99 $err"
}

echo "machine: $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)); wrk -t$THREADS, ${DURATION}s per row; ledger in $LEDGER_DIR"
printf '%-6s %-8s %9s %9s %9s %9s %7s %12s %12s\n' conns target req/s p50_ms p90_ms p99_ms errors added_p50_ms added_p99_ms
for c in $CONNS; do
  run gateway "$GATEWAY" "$c" >/dev/null  # warm-up: connections, pages, the ledger file
  read -r d_rps d50 d90 d99 derr < <(run direct "$UPSTREAM" "$c")
  read -r g_rps g50 g90 g99 gerr < <(run gateway "$GATEWAY" "$c")
  read -r n_rps n50 n90 n99 nerr < <(run nginx "http://127.0.0.1:$NGINX_PORT" "$c")
  ms() { awk -v v="$1" 'BEGIN { printf "%.3f", v / 1000 }'; }
  printf '%-6s %-8s %9s %9s %9s %9s %7s %12s %12s\n' "$c" direct "$d_rps" "$(ms $d50)" "$(ms $d90)" "$(ms $d99)" "$derr" - -
  printf '%-6s %-8s %9s %9s %9s %9s %7s %12s %12s\n' "$c" gateway "$g_rps" "$(ms $g50)" "$(ms $g90)" "$(ms $g99)" "$gerr" "$(ms $((g50 - d50)))" "$(ms $((g99 - d99)))"
  printf '%-6s %-8s %9s %9s %9s %9s %7s %12s %12s\n' "$c" nginx "$n_rps" "$(ms $n50)" "$(ms $n90)" "$(ms $n99)" "$nerr" "$(ms $((n50 - d50)))" "$(ms $((n99 - d99)))"
done
billed=$(grep -c . <("$FATHOM" billing report --config "$WORK/gateway.yaml" --tenant bench --month "$(date -u +%Y-%m)") || true)
echo "gateway ledger report lines: $billed"
