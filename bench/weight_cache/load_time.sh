#!/usr/bin/env bash
# Load time of a float checkpoint quantized at load, without the weight cache, on the first
# start with it (miss: quantize + write) and on the second (hit: map), back to back in one run.
# Prints each start's load log line (its phases) and wall time, and the load average.
# Usage: bench/weight_cache/load_time.sh MODEL_DIR [int8 int4 ...]
# The model's files are linked into a scratch folder, so the cache lands there, not beside them.
set -euo pipefail
cd "$(dirname "$0")/../.."
model=$(realpath "$1"); shift
formats=("${@:-int8 int4}")
bin=${FATHOM_BIN:-build/dev/bin/fathom}
scratch=$(mktemp -d /tmp/fathom-weight-cache-bench.XXXXXX)
trap 'rm -rf "$scratch"' EXIT
for f in "$model"/*; do ln -s "$f" "$scratch/"; done
uptime
for q in ${formats[@]}; do
  rm -rf "$scratch/.fathom-cache"
  for run in no-cache miss hit; do
    flags=(--model "$scratch" --quantization "$q" -p 0 -n 0)
    [ "$run" = no-cache ] && flags+=(--no-weight-cache)
    start=$(date +%s.%N)
    line=$("$bin" bench model "${flags[@]}" 2>&1 >/dev/null | grep 'registry.cpp.*loaded' || true)
    end=$(date +%s.%N)
    printf '%s %-8s process %.2f s | %s\n' "$q" "$run" "$(echo "$end - $start" | bc)" \
      "${line#*loaded }"
  done
  ls -la "$scratch/.fathom-cache"
done
uptime
