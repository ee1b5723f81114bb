#!/usr/bin/env bash
# Builds the libFuzzer targets with Debian's clang (ASan + UBSan + libFuzzer) and runs each from
# its seed corpus in fuzz/corpus/<target>. A crash fails the run and leaves its input in
# build/fuzz/. Usage: fuzz/run.sh [seconds]
#   fuzz/run.sh 300          explore: each target for 300 s (default FUZZ_SECONDS or 20), random
#   FUZZ_RUNS=N fuzz/run.sh  replay: each target for exactly N inputs from seed FUZZ_SEED (1),
#                            starting from the checked-in corpus only -- the same inputs on every
#                            machine, so CI (scripts/test.sh) fails only for a reproducible bug
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-${FUZZ_SECONDS:-20}}
out=build/fuzz
mkdir -p "$out"
flags=(-std=c++20 -O1 -g -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined -Isrc)

# Targets build in parallel (one clang per core); a failed build fails the run at the `wait`.
slots=$(nproc)
build() {  # target, sources...
  local target=$1; shift
  while (($(jobs -rp | wc -l) >= slots)); do wait -n; done
  clang++ "${flags[@]}" "fuzz/$target.cpp" "$@" -o "$out/$target" &
}
grammar=(src/grammar/grammar.cpp src/grammar/matcher.cpp src/grammar/char_class.cpp src/grammar/regex.cpp
         src/grammar/json_schema.cpp)
build gateway_request_fuzz src/json/json_fields.cpp src/gateway/proxy/client_fields.cpp \
  src/gateway/proxy/errors.cpp src/gateway/policy/policy.cpp src/gateway/policy/request_policy.cpp \
  src/gateway/policy/output_filter.cpp src/gateway/classify/detectors.cpp \
  src/gateway/classify/classifier.cpp src/base/status.cpp -lpcre2-8
build server_request_fuzz src/json/json_fields.cpp src/server/protocol/chat_request.cpp \
  src/server/protocol/completion_request.cpp src/server/protocol/generation_options.cpp \
  src/server/protocol/structured_output.cpp "${grammar[@]}" \
  src/engine/request.cpp src/engine/sampler.cpp src/base/status.cpp
build grammar_fuzz "${grammar[@]}" src/base/status.cpp
build sse_parser_fuzz src/gateway/proxy/sse_parser.cpp src/net/sse.cpp
classify=(src/gateway/classify/detectors.cpp src/gateway/classify/classifier.cpp src/gateway/classify/redactor.cpp)
build gateway_config_fuzz src/gateway/config/gateway_config.cpp src/gateway/billing/price_table.cpp \
  src/gateway/billing/sqlite_ledger.cpp src/gateway/billing/usage_journal.cpp src/gateway/lb/*.cpp \
  src/gateway/circuit_breaker.cpp "${classify[@]}" src/gateway/security/totp.cpp src/net/tls_context.cpp \
  src/gateway/security/audit_log.cpp src/gateway/security/api_keys.cpp src/base/time_format.cpp \
  src/gateway/security/data_protection.cpp \
  src/gateway/config/serverless_config_parse.cpp src/gateway/serverless/prewarm.cpp \
  src/gateway/config/policy_config_parse.cpp src/gateway/policy/policy.cpp \
  src/base/status.cpp src/base/logging.cpp -lyaml-cpp -lsqlite3 -lpcre2-8 -lssl -lcrypto -ldate-tz
build classify_fuzz "${classify[@]}" src/base/status.cpp -lpcre2-8
build admin_text_fuzz src/gateway/admin/console_text.cpp src/base/status.cpp -lyaml-cpp
build safetensors_header_fuzz src/formats/safetensors.cpp src/formats/atomic_write.cpp src/formats/tensor_view.cpp \
  src/formats/mapped_file.cpp src/tensor/dtype.cpp src/base/status.cpp
build gguf_fuzz src/formats/gguf.cpp src/formats/gguf_writer.cpp src/formats/atomic_write.cpp src/formats/mapped_file.cpp \
  src/tensor/ggml_type.cpp src/base/status.cpp
build weight_cache_fuzz src/model/weight_cache_format.cpp src/formats/content_hash.cpp \
  src/kernels/linear_weight.cpp src/kernels/bf16_packed.cpp src/kernels/huge_page_buffer.cpp src/tensor/ggml_type.cpp src/base/thread_pool.cpp src/base/status.cpp -lxxhash
build imatrix_fuzz src/quant/imatrix.cpp src/base/status.cpp
build lora_config_fuzz src/model/lora/lora_config.cpp src/json/json_fields.cpp src/base/status.cpp -lpcre2-8
tokenizer=(src/tokenizer/{added_tokens,bpe,byte_level,decoder,gguf_vocab,normalizer,post_processor}.cpp
           src/tokenizer/{pre_tokenizer,regex,tokenizer,tokenizer_config,tokenizer_json,unicode}.cpp)
build tokenizer_json_fuzz "${tokenizer[@]}" src/formats/gguf.cpp src/formats/mapped_file.cpp \
  src/tensor/ggml_type.cpp src/base/status.cpp -lpcre2-8 -licuuc -licui18n
build plan_input_fuzz src/plan/workload.cpp src/plan/catalogue.cpp src/plan/calibration.cpp \
  src/plan/yaml_fields.cpp src/plan/decimal.cpp src/base/status.cpp -lyaml-cpp

while (($(jobs -rp | wc -l) > 0)); do wait -n; done

for target in gateway_request_fuzz server_request_fuzz grammar_fuzz sse_parser_fuzz \
    gateway_config_fuzz safetensors_header_fuzz classify_fuzz plan_input_fuzz admin_text_fuzz \
    gguf_fuzz lora_config_fuzz imatrix_fuzz tokenizer_json_fuzz weight_cache_fuzz; do
  work="$out/corpus-$target"
  if [ -n "${FUZZ_RUNS:-}" ]; then
    rm -rf "$work"  # replay starts from the checked-in corpus alone
    budget=(-seed="${FUZZ_SEED:-1}" -runs="$FUZZ_RUNS")
    echo "fuzz: $target, $FUZZ_RUNS inputs from seed ${FUZZ_SEED:-1}"
  else
    budget=(-max_total_time="$seconds")
    echo "fuzz: $target for ${seconds}s"
  fi
  mkdir -p "$work"
  (cd "$out" && "./$target" "${budget[@]}" -max_len=4096 -print_final_stats=1 \
      "$(pwd)/corpus-$target" "$(cd ../.. && pwd)/fuzz/corpus/$target" 2>&1 | tail -n 12)
done
