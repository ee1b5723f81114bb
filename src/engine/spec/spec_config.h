// Speculative decoding settings (fathom serve --speculative, --num-speculative-tokens).
#pragma once

#include <cstdint>
#include <string>

#include "base/status.h"

namespace fathom::engine::spec {

enum class SpecMethod : uint8_t {
  kOff,    ///< one token per step
  kNgram,  ///< prompt lookup: the tokens that followed the latest earlier match of the suffix
  kMtp,    ///< DeepSeek-V3 multi-token-prediction layer as the draft model
};
const char* spec_method_name(SpecMethod m);
/// "off", "ngram" or "mtp"; InvalidArgument naming --speculative otherwise.
Result<SpecMethod> parse_spec_method(const std::string& text);

struct SpecConfig {
  SpecMethod method = SpecMethod::kOff;
  int32_t num_speculative_tokens = 3;  ///< k: draft tokens verified per step
  int32_t prompt_lookup_min = 2;       ///< n-gram: shortest suffix matched
  int32_t prompt_lookup_max = 4;       ///< n-gram: longest suffix matched (tried first)
  bool enabled() const { return method != SpecMethod::kOff; }
};

/// InvalidArgument naming the flag when out of range.
Status validate(const SpecConfig& c);

}  // namespace fathom::engine::spec
