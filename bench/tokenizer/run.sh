#!/usr/bin/env bash
# Tokenizer benchmark: fathom vs the Hugging Face Rust tokenizers and transformers.js, single
# thread, same corpus and documents; prints one JSON line per (engine, tokenizer).
#
#   bench/tokenizer/run.sh BUILD_DIR [SIZE_MB] [REPEATS]
# Needs scripts/fetch_tokenizers.sh and the tokenizer_bench target built in BUILD_DIR.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
BUILD="${1:?usage: run.sh BUILD_DIR [SIZE_MB] [REPEATS]}"
SIZE_MB="${2:-4}"
REPEATS="${3:-3}"
TOKENIZERS="${FATHOM_TOKENIZERS_DIR:-$ROOT/build/npm-tokenizers}"
BIN="$(find "$BUILD" -name tokenizer_bench -type f -perm -u+x | head -1)"
[[ -n "$BIN" ]] || { echo "run.sh: tokenizer_bench not built in $BUILD" >&2; exit 1; }
CORPUS="$BUILD/tokenizer_bench_corpus.jsonl"
node "$ROOT/bench/tokenizer/make_corpus.cjs" "$CORPUS" "$SIZE_MB" >&2
echo "# $(lscpu | sed -n 's/^Model name: *//p'), $(date -u +%Y-%m-%d)"
"$BIN" "$TOKENIZERS" "$CORPUS" "$REPEATS"
RAYON_NUM_THREADS=1 node "$ROOT/bench/tokenizer/bench_references.cjs" "$TOKENIZERS" "$CORPUS" "$REPEATS"
