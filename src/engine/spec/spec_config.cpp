#include "engine/spec/spec_config.h"

namespace fathom::engine::spec {

const char* spec_method_name(SpecMethod m) {
  switch (m) {
    case SpecMethod::kOff:
      return "off";
    case SpecMethod::kNgram:
      return "ngram";
    case SpecMethod::kMtp:
      return "mtp";
  }
  return "unknown";
}

Result<SpecMethod> parse_spec_method(const std::string& text) {
  for (SpecMethod m : {SpecMethod::kOff, SpecMethod::kNgram, SpecMethod::kMtp})
    if (text == spec_method_name(m)) return m;
  return invalid_argument("--speculative '" + text + "' is not one of off, ngram, mtp");
}

Status validate(const SpecConfig& c) {
  if (!c.enabled()) return ok_status();
  if (c.num_speculative_tokens < 1 || c.num_speculative_tokens > 16)
    return invalid_argument("--num-speculative-tokens must be in [1, 16], got " +
                            std::to_string(c.num_speculative_tokens));
  if (c.prompt_lookup_min < 1 || c.prompt_lookup_max < c.prompt_lookup_min)
    return invalid_argument("--prompt-lookup-min must be >= 1 and <= --prompt-lookup-max, got " +
                            std::to_string(c.prompt_lookup_min) + " and " +
                            std::to_string(c.prompt_lookup_max));
  return ok_status();
}

}  // namespace fathom::engine::spec
