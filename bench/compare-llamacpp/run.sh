#!/usr/bin/env bash
# fathom against llama.cpp's own binaries on the same weights (README.md beside this file).
#
#   bench/compare-llamacpp/run.sh --llama /work/llama.cpp/build/bin --model HF_DIR \
#       --tokenizer TOK_DIR --out OUT_DIR [--steps prepare,dequant,greedy,speed,serve] [-n 32]
#
# prepare  HF_DIR -> OUT/bf16.gguf (gguf-py, hf_to_gguf.py) -> OUT/q8_0.gguf, OUT/q4_k_m.gguf
#          (llama-quantize)
# dequant  (a) fathom's dequantized tensors vs gguf-py's, bit for bit (check_dequant.py)
# greedy   (b) N greedy tokens, fathom vs llama-server, same prompt ids (check_greedy.py)
# speed    (c) llama-bench -p 512 -n 128 -t 2 vs fathom bench model -p 512 -n 128 -b 1 -t 2 on
#          each pair, ratios (summarize.py)
# serve    (c) one streaming client (fathom bench serve) against fathom serve and llama-server
# env: GGUF_PY (BIN_DIR/../../gguf-py), FATHOM_BIN (build/dev/bin/fathom), FATHOM_TOOLS (build/dev/bench), PYTHON (/usr/bin/python3),
#      REPS (1: timed repetitions, both engines), PP (512), TG (128), SERVE_REQUESTS (3), SERVE_PROMPT (512),
#      SERVE_MAX_TOKENS (64), SERVE_PAIRS ("bf16 int8"), SPEED_RUNS (all; names below)
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
LLAMA="" MODEL="" TOK="" OUT="" STEPS=prepare,dequant,greedy,speed,serve N=32
while [ $# -gt 0 ]; do
  case "$1" in
    --llama) LLAMA=$2; shift 2 ;;
    --model) MODEL=$2; shift 2 ;;
    --tokenizer) TOK=$2; shift 2 ;;
    --out) OUT=$2; shift 2 ;;
    --steps) STEPS=$2; shift 2 ;;
    -n) N=$2; shift 2 ;;
    *) echo "run.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done
[ -n "$LLAMA" ] && [ -n "$MODEL" ] && [ -n "$OUT" ] || {
  echo "usage: run.sh --llama BIN_DIR --model HF_DIR --tokenizer TOK_DIR --out OUT_DIR [--steps ...] [-n N]" >&2
  exit 2
}
TOK=${TOK:-$MODEL}
FATHOM=${FATHOM_BIN:-$ROOT/build/dev/bin/fathom}
TOOLS=${FATHOM_TOOLS:-$ROOT/build/dev/bench}
PY=${PYTHON:-/usr/bin/python3}
export PYTHONPATH="${GGUF_PY:-$(cd "$LLAMA/../.." && pwd)/gguf-py}${PYTHONPATH:+:$PYTHONPATH}"
REPS=${REPS:-1} PP=${PP:-512} TG=${TG:-128}
mkdir -p "$OUT"
has() { [[ ",$STEPS," == *",$1,"* ]]; }
load() { echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"; }
echo "llama.cpp: $LLAMA ($("$LLAMA/llama-cli" --version 2>&1 | grep -m1 version || true))"
echo "machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"

if has prepare; then
  [ -f "$OUT/bf16.gguf" ] || "$PY" "$HERE/hf_to_gguf.py" --model "$MODEL" --tokenizer "$TOK" --out "$OUT/bf16.gguf"
  for q in Q8_0 Q4_K_M; do
    f="$OUT/$(echo $q | tr 'A-Z' 'a-z').gguf"
    [ -f "$f" ] || "$LLAMA/llama-quantize" "$OUT/bf16.gguf" "$f" "$q" 2 > "$OUT/quantize-$q.log" 2>&1
  done
fi

GGUFS=("$OUT/bf16.gguf" "$OUT/q8_0.gguf" "$OUT/q4_k_m.gguf")
if has dequant; then
  echo "== (a) dequantization: fathom (gguf_dequant) vs gguf-py (gguf.quants.dequantize)"
  "$PY" "$HERE/check_dequant.py" --tool "$TOOLS/gguf_dequant" --work "$OUT/dequant" "${GGUFS[@]}"
fi

if has greedy; then
  echo "== (b) greedy agreement, $N tokens, fathom generate vs llama-server /completion"
  "$PY" "$HERE/check_greedy.py" --fathom "$FATHOM" --llama-server "$LLAMA/llama-server" -n "$N" \
    --work "$OUT/greedy" --json "$OUT/greedy.json" \
    "bf16-hf=$MODEL=$OUT/bf16.gguf" "bf16-gguf=$OUT/bf16.gguf=$OUT/bf16.gguf" \
    "q8_0=$OUT/q8_0.gguf=$OUT/q8_0.gguf" "q4_k_m=$OUT/q4_k_m.gguf=$OUT/q4_k_m.gguf"
fi

if has speed; then
  echo "== (c) speed, 2 threads, pp$PP / tg$TG, $REPS repetition(s); each llama-bench run, then its fathom runs"
  S="$OUT/speed"
  mkdir -p "$S"
  : > "$S/pairs.txt"
  # run name | llama.cpp file | fathom model | fathom flags
  RUNS=(
    "bf16|bf16|$MODEL|--quantization none"
    "bf16-reduced|bf16|$MODEL|--quantization none --activations reduced"
    "bf16-gguf|bf16|$OUT/bf16.gguf|"
    "int8|q8_0|$MODEL|--quantization int8"
    "int8-reduced|q8_0|$MODEL|--quantization int8 --activations reduced"
    "q8_0-gguf|q8_0|$OUT/q8_0.gguf|"
    "q8_0-gguf-reduced|q8_0|$OUT/q8_0.gguf|--activations reduced"
    "int4|q4_k_m|$MODEL|--quantization int4"
    "int4-reduced|q4_k_m|$MODEL|--quantization int4 --activations reduced"
    "q4_k_m-gguf|q4_k_m|$OUT/q4_k_m.gguf|"
    "q4_k_m-gguf-reduced|q4_k_m|$OUT/q4_k_m.gguf|--activations reduced"
  )
  done_llama=""
  for r in "${RUNS[@]}"; do
    IFS='|' read -r name llama model flags <<< "$r"
    if [ -n "${SPEED_RUNS:-}" ] && [[ " $SPEED_RUNS " != *" $name "* ]]; then continue; fi
    if [[ " $done_llama " != *" $llama "* ]]; then
      load
      echo "\$ llama-bench -m $OUT/$llama.gguf -p $PP -n $TG -t 2 -r $REPS -o json"
      "$LLAMA/llama-bench" -m "$OUT/$llama.gguf" -p "$PP" -n "$TG" -t 2 -r "$REPS" -o json > "$S/llama-$llama.json" 2> "$S/llama-$llama.log"
      done_llama="$done_llama $llama"
    fi
    load
    echo "\$ fathom bench model --model $model -p $PP -n $TG -b 1 -t 2 -r $REPS $flags --json"
    # shellcheck disable=SC2086
    "$FATHOM" bench model --model "$model" -p "$PP" -n "$TG" -b 1 -t 2 -r "$REPS" $flags --json > "$S/fathom-$name.json"
    printf '%s\t%s\t%s\n' "$name" "$llama" "$name ($(basename "$model") $flags)" >> "$S/pairs.txt"
  done
  load
  "$PY" "$HERE/summarize.py" "$S" | tee "$S/summary.txt"
fi

if has serve; then
  echo "== (c) one streaming client: fathom bench serve, concurrency 1, ${SERVE_REQUESTS:-3} requests of ${SERVE_PROMPT:-512} prompt tokens, ${SERVE_MAX_TOKENS:-64} out"
  PORT=18461
  bench_serve() {  # $1: label; the server listens on $PORT
    for _ in $(seq 1 1200); do curl -fs "http://127.0.0.1:$PORT/health" > /dev/null 2>&1 && break; sleep 0.5; done
    load
    "$FATHOM" bench serve --url "http://127.0.0.1:$PORT" --concurrency 1 --requests "${SERVE_REQUESTS:-3}" \
      --prompt-tokens "${SERVE_PROMPT:-512}" --max-tokens "${SERVE_MAX_TOKENS:-64}" --json-out "$OUT/serve-$1.json"
  }
  for pair in ${SERVE_PAIRS:-bf16 int8}; do
    case $pair in
      bf16) q=none; g=bf16 ;;
      int8) q=int8; g=q8_0 ;;
      int4) q=int4; g=q4_k_m ;;
    esac
    echo "\$ FATHOM_NUM_THREADS=2 fathom serve --model $MODEL --quantization $q --port $PORT"
    FATHOM_NUM_THREADS=2 "$FATHOM" serve --model "$MODEL" --quantization "$q" --port "$PORT" --log-level warning &
    SERVER=$!
    bench_serve "fathom-$pair" || true
    kill -TERM "$SERVER"; wait "$SERVER" || true
    echo "\$ llama-server -m $OUT/$g.gguf -t 2 -c 4096 -np 1 --port $PORT"
    "$LLAMA/llama-server" -m "$OUT/$g.gguf" -t 2 -c 4096 -np 1 --host 127.0.0.1 --port "$PORT" > "$OUT/llama-server-$g.log" 2>&1 &
    SERVER=$!
    bench_serve "llama-$g" || true
    kill -TERM "$SERVER"; wait "$SERVER" || true
  done
fi
