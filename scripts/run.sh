#!/usr/bin/env bash
# Sets up, builds (release) and runs fathom on the built-in default model.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
cmake --preset release >/dev/null
cmake --build --preset release -j "$(nproc)" --target fathom
MODEL=${FATHOM_MODEL:-tests/data/models/deepseek_v3}
echo "fathom: generating 16 tokens with $MODEL (a tiny DeepSeek-V3-shaped model with RANDOM weights)"
./build/release/bin/fathom generate --model "$MODEL" --ids 0,368,120,504,39,193,228 --max-tokens 16
echo
echo "Next: try 'build/release/bin/fathom logits --model $MODEL --ids 0,17,42 --out /tmp/logits.safetensors',"
echo "      or point FATHOM_MODEL at a Hugging Face DeepSeek / Qwen2 / Llama folder."
