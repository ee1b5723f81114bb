#!/usr/bin/env bash
# Serving benchmark: starts `fathom serve` on a model, runs `fathom bench serve` at several
# concurrencies, prints the tables and writes one JSON per run to OUT_DIR.
#
#   bench/serve/run.sh [MODEL_DIR]          default: tests/data/models/deepseek_v3
#   env: FATHOM_BIN (build/release/bin/fathom), CONCURRENCIES ("1 8 32"), REQUESTS (64),
#        PROMPT_TOKENS (128), MAX_TOKENS (64), PORT (18200), OUT_DIR (build/bench-serve)
set -euo pipefail
cd "$(dirname "$0")/../.."
MODEL=${1:-tests/data/models/deepseek_v3}
BIN=${FATHOM_BIN:-build/release/bin/fathom}
PORT=${PORT:-18200}
OUT_DIR=${OUT_DIR:-build/bench-serve}
mkdir -p "$OUT_DIR"

"$BIN" serve --model "$MODEL" --port "$PORT" --log-level warning --max-num-seqs 64 &
SERVER=$!
trap 'kill -TERM $SERVER 2>/dev/null; wait $SERVER 2>/dev/null || true' EXIT
for _ in $(seq 1 600); do
  curl -fs "http://127.0.0.1:$PORT/health" >/dev/null 2>&1 && break
  kill -0 $SERVER 2>/dev/null || { echo "server exited" >&2; exit 1; }
  sleep 0.1
done

echo "machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
for c in ${CONCURRENCIES:-1 8 32}; do
  args=(--url "http://127.0.0.1:$PORT" --concurrency "$c" --requests "${REQUESTS:-64}"
        --prompt-tokens "${PROMPT_TOKENS:-128}" --max-tokens "${MAX_TOKENS:-64}")
  "$BIN" bench serve "${args[@]}" --json-out "$OUT_DIR/c$c.json"
done
