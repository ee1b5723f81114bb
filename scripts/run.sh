#!/usr/bin/env bash
# Sets up, builds (release) and runs `fathom serve` on the built-in default model
# (fathom-tiny-random-deepseek-v3: a tiny DeepSeek-V3-shaped model with RANDOM weights).
# Pass a Hugging Face model folder to serve it instead: scripts/run.sh /path/to/model
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
cmake --preset release >/dev/null
cmake --build --preset release -j "$(nproc)" --target fathom
args=(serve --host 127.0.0.1 --port "${PORT:-8000}")
if [ $# -gt 0 ]; then args+=(--model "$1"); fi
echo "fathom: starting the server; it prints its URL and a ready-to-paste curl line. Ctrl-C stops it."
exec ./build/release/bin/fathom "${args[@]}"
