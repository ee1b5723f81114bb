// tokenizer_config.json: the transformers-level settings around tokenizer.json (special token
// strings, add_bos_token / add_eos_token, the chat template).
#pragma once

#include <map>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>
#include <vector>

#include "base/status.h"

namespace fathom::tokenizer {

struct TokenizerConfig {
  std::optional<std::string> bos_token;
  std::optional<std::string> eos_token;
  std::optional<std::string> pad_token;
  std::optional<std::string> unk_token;
  std::optional<bool> add_bos_token;  // set: replaces the post-processor's special tokens
  std::optional<bool> add_eos_token;
  std::vector<std::string> additional_special_tokens;
  std::string chat_template;  // the default template; empty if the model has none
  std::map<std::string, std::string> named_chat_templates;  // from a [{name, template}] list
};

/// Parses tokenizer_config.json. Errors name the field.
Result<TokenizerConfig> parse_tokenizer_config(const nlohmann::json& config);

}  // namespace fathom::tokenizer
