#!/usr/bin/env bash
# Gateway overhead benchmark, one run on this machine, three tables:
#  1. open loop (fathom_loadgen): RATE requests/s at fixed times against the fast upstream
#     directly, through `fathom gateway` (auth, quota, routing, ledger, metrics) and through nginx
#     as a plain reverse proxy; latency counts from when each request was due (no coordinated
#     omission). Targets alternate for ROUNDS rounds; each cell is the median of the rounds.
#     Also the CPU time each proxy spent per request.
#  2. closed loop (wrk, CONNS connections): the saturation throughput of each.
#  3. STREAMS concurrent SSE streams held open through the gateway (and directly).
#
#   bench/gateway/run.sh                     # builds build/release if needed
#   RATE=1000 ROUNDS=3 DURATION=10 CONNS="16 64" STREAMS=2000 bench/gateway/run.sh
#   GATEWAY_EXTRA='ledger_sync: full' bench/gateway/run.sh   # the ledger fsyncs every group
#
# Needs: node, wrk, nginx (scripts/setup.sh installs them).
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
HERE=$ROOT/bench/gateway
BUILD_DIR=${BUILD_DIR:-build/release}
FATHOM=${FATHOM_BIN:-$BUILD_DIR/bin/fathom}
LOADGEN=${LOADGEN_BIN:-$BUILD_DIR/bench/loadgen/fathom_loadgen}
RATE=${RATE:-1000}
ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-10}
CONNS=${CONNS:-"16 64"}
STREAMS=${STREAMS:-2000}

for tool in node wrk nginx; do
  command -v "$tool" >/dev/null || { echo "run.sh: $tool is not installed (scripts/setup.sh installs it)" >&2; exit 1; }
done
if [[ -z "${FATHOM_BIN:-}" ]]; then
  [[ -f $BUILD_DIR/build.ninja ]] || cmake --preset release >/dev/null
  ninja -C "$BUILD_DIR" -j2 fathom fathom_loadgen >/dev/null
fi

WORK=$(mktemp -d /tmp/fathom-gw-bench-XXXXXX)
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
free_port() { node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'; }
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

STREAM_INTERVAL_MS=${STREAM_INTERVAL_MS:-50} node "$HERE/fast_upstream.mjs" >"$WORK/upstream.log" 2>&1 & pids+=($!)
UPSTREAM=$(wait_url "$WORK/upstream.log" 'listening on')

cat >"$WORK/gateway.yaml" <<YAML
listen: {host: 127.0.0.1, port: 0}
io_threads: ${GATEWAY_IO_THREADS:-2}
data_dir: $WORK/data
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
${GATEWAY_EXTRA:-}
YAML
KEY=$("$FATHOM" keys create --config "$WORK/gateway.yaml" --tenant bench 2>/dev/null)
"$FATHOM" gateway --config "$WORK/gateway.yaml" >"$WORK/gateway.log" 2>&1 & pids+=($!)
GATEWAY_PID=$!
GATEWAY=$(wait_url "$WORK/gateway.log" 'fathom gateway on')

NGINX_PORT=$(free_port)
mkdir -p "$WORK/nginx"
cat >"$WORK/nginx/nginx.conf" <<NGINX
daemon off;
master_process off;
user root;
worker_processes 1;
worker_rlimit_nofile 20000;
error_log $WORK/nginx/error.log warn;
pid $WORK/nginx/nginx.pid;
events { worker_connections 10000; }
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
      proxy_buffering off;
    }
  }
}
NGINX
nginx -c "$WORK/nginx/nginx.conf" -e "$WORK/nginx/error.log" >"$WORK/nginx.log" 2>&1 & pids+=($!)
NGINX_PID=$!
NGINX=http://127.0.0.1:$NGINX_PORT
for _ in $(seq 1 100); do curl -sf "$NGINX/health" >/dev/null && break; sleep 0.1; done

BODY='{"model":"bench","messages":[{"role":"user","content":"Say hello."}],"max_tokens":8}'
STREAM_BODY='{"model":"bench","messages":[{"role":"user","content":"Say hello."}],"max_tokens":8,"stream":true}'
url_of() { case $1 in direct) echo "$UPSTREAM" ;; gateway) echo "$GATEWAY" ;; nginx) echo "$NGINX" ;; esac; }
pid_of() { case $1 in gateway) echo "$GATEWAY_PID" ;; nginx) echo "$NGINX_PID" ;; *) echo "" ;; esac; }
field() { sed -E "s/.*[ ]$1=([0-9.]+).*/\1/" <<<"$2"; }
median() { tr ' ' '\n' <<<"$*" | grep . | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
ms() { awk -v v="$1" 'BEGIN { printf "%.3f", v / 1000 }'; }

echo "machine: $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)), $(date -u +%F)"
echo "gateway config extra: '${GATEWAY_EXTRA:-}' (ledger_sync defaults to normal)"
echo
echo "## 1. open loop: $RATE requests/s, ${DURATION}s per run, $ROUNDS rounds (median), 64 connections"
declare -A P50 P90 P99 P999 CPU ERR
for round in $(seq 1 "$ROUNDS"); do
  for target in direct gateway nginx; do
    headers=()
    [[ $target == gateway ]] && headers=(--header "Authorization: Bearer $KEY")
    pid=$(pid_of "$target")
    c0=0; [[ -n $pid ]] && c0=$(cpu_ticks "$pid")
    out=$("$LOADGEN" --url "$(url_of "$target")/v1/chat/completions" "${headers[@]}" --body "$BODY" \
          --rate "$RATE" --duration "$DURATION" --warmup 2 --connections 64 | grep '^RESULT')
    c1=0; [[ -n $pid ]] && c1=$(cpu_ticks "$pid")
    P50[$target]+=" $(field p50_us "$out")"; P90[$target]+=" $(field p90_us "$out")"
    P99[$target]+=" $(field p99_us "$out")"; P999[$target]+=" $(field p999_us "$out")"
    ERR[$target]+=" $(field errors "$out")"
    # CPU microseconds per request (clock ticks are 10 ms), over warm-up and window
    CPU[$target]+=" $(( (c1 - c0) * 10000 / (RATE * (DURATION + 2)) ))"
  done
done
printf '%-8s %9s %9s %9s %9s %7s %13s %13s %13s\n' target p50_ms p90_ms p99_ms p99.9_ms errors added_p50_ms added_p99_ms cpu_us/req
d50=$(median ${P50[direct]}); d99=$(median ${P99[direct]})
for target in direct gateway nginx; do
  m50=$(median ${P50[$target]}); m99=$(median ${P99[$target]})
  added50=-; added99=-; cpu=-
  if [[ $target != direct ]]; then added50=$(ms $((m50 - d50))); added99=$(ms $((m99 - d99))); cpu=$(median ${CPU[$target]}); fi
  printf '%-8s %9s %9s %9s %9s %7s %13s %13s %13s\n' "$target" "$(ms "$m50")" "$(ms "$(median ${P90[$target]})")" \
    "$(ms "$m99")" "$(ms "$(median ${P999[$target]})")" "$(median ${ERR[$target]})" "$added50" "$added99" "$cpu"
done
echo "(rounds, p99 us: direct${P99[direct]}; gateway${P99[gateway]}; nginx${P99[nginx]})"

echo
echo "## 2. closed loop (wrk -t2, ${DURATION}s): saturation throughput"
printf '%-6s %-8s %9s %9s %9s %7s\n' conns target req/s p50_ms p99_ms errors
for c in $CONNS; do
  for target in direct gateway nginx; do
    key=""
    [[ $target == gateway ]] && key=$KEY
    out=$(BENCH_KEY=$key wrk -t2 -c"$c" -d"${DURATION}s" -s "$HERE/post_chat.lua" "$(url_of "$target")/v1/chat/completions" | grep '^RESULT')
    req=$(field requests "$out"); dur=$(field duration_us "$out")
    printf '%-6s %-8s %9s %9s %9s %7s\n' "$c" "$target" "$(( req * 1000000 / dur ))" "$(ms "$(field p50_us "$out")")" \
      "$(ms "$(field p99_us "$out")")" "$(field errors "$out")"
  done
done

echo
echo "## 3. $STREAMS concurrent streams (16 chunks ${STREAM_INTERVAL_MS:-50} ms apart each), ${DURATION}s"
printf '%-8s %10s %10s %8s %12s %12s %12s %14s\n' target peak_open completed failed events/s ttft_p50_ms ttft_p99_ms gateway_rss_MB
for target in direct gateway; do
  headers=()
  [[ $target == gateway ]] && headers=(--header "Authorization: Bearer $KEY")
  out=$("$LOADGEN" --url "$(url_of "$target")/v1/chat/completions" "${headers[@]}" --body "$STREAM_BODY" \
        --streams "$STREAMS" --duration "$DURATION" --warmup 2 --timeout-ms 60000 | grep '^RESULT')
  rss=$(awk '/VmHWM/ {printf "%.0f", $2 / 1024}' "/proc/$GATEWAY_PID/status")
  printf '%-8s %10s %10s %8s %12s %12s %12s %14s\n' "$target" "$(field peak_open "$out")" "$(field completed "$out")" \
    "$(field failed "$out")" "$(field events_per_s "$out")" "$(ms "$(field ttft_p50_us "$out")")" \
    "$(ms "$(field ttft_p99_us "$out")")" "$([[ $target == gateway ]] && echo "$rss" || echo -)"
done

billed=$("$FATHOM" billing report --config "$WORK/gateway.yaml" --tenant bench --month "$(date -u +%Y-%m)" --format json |
         node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{const r=JSON.parse(s);console.log(r.total.requests)})')
echo
echo "gateway ledger: $billed requests billed"
