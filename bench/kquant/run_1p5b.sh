#!/usr/bin/env bash
# fathom quantize --method q8_0|q6_k|q5_k_m|q4_k_m (and q4_k_m with an importance matrix) on the
# R1-Distill-Qwen-1.5B shape: quantize time, file size, and mean KL / p99 KL / top-1 agreement
# against the bf16 model from `fathom perplexity --ctx 256 --max-windows 2`. Results are appended
# to $OUT/results.txt as they come, with the load average beside each time.
# Usage: bench/kquant/run_1p5b.sh MODEL_DIR TOKENIZER_DIR OUT_DIR [mix...]
set -euo pipefail
cd "$(dirname "$0")/../.."
model=$1 tok=$2 out=$3
shift 3
mixes=("$@")
[ ${#mixes[@]} -gt 0 ] || mixes=(q4_k_m q8_0 q6_k q5_k_m q4_k_m+imatrix)
bin=build/dev/bin/fathom
mkdir -p "$out"
cat docs/serverless.md docs/plan.md > "$out/heldout.txt"  # held-out text
calib=docs/architecture.md                                   # calibration text
for m in "${mixes[@]}"; do
  method=${m%+imatrix}
  file="$out/$m.gguf"
  extra=()
  if [ "$m" != "$method" ]; then
    extra=(--calibration "$calib" --tokenizer "$tok" --samples 2 --ctx 256 --imatrix-out "$out/imatrix.dat")
  fi
  start=$(date +%s.%N)
  "$bin" quantize --model "$model" --out "$file" --method "$method" "${extra[@]}" > "$out/$m.quantize.log"
  end=$(date +%s.%N)
  {
    echo "== $m: quantize $(echo "$end - $start" | bc) s (load: $(cut -d' ' -f1-3 /proc/loadavg)), $(stat -c %s "$file") bytes"
    cat "$out/$m.quantize.log"
    "$bin" perplexity --model "$file" --base "$model" --tokenizer "$tok" --text "$out/heldout.txt" \
        --ctx 256 --max-windows 2 2>/dev/null
  } >> "$out/results.txt"
  rm -f "$file"
done
