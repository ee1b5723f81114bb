// Post-processors from tokenizer.json ("post_processor"): the special tokens added around a
// single sequence when add_special_tokens is true. TemplateProcessing, BertProcessing,
// RobertaProcessing, ByteLevel (no ids) and Sequence.
#pragma once

#include <cstdint>
#include <nlohmann/json_fwd.hpp>
#include <vector>

#include "base/status.h"

namespace fathom::tokenizer {

struct PostProcessor {
  std::vector<int32_t> prefix;  // ids before the sequence
  std::vector<int32_t> suffix;  // ids after the sequence
  bool adds_tokens() const { return !prefix.empty() || !suffix.empty(); }
};

Result<PostProcessor> make_post_processor(const nlohmann::json& spec);

}  // namespace fathom::tokenizer
