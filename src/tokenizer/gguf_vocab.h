// A GGUF file's tokenizer (llama.cpp's tokenizer.ggml.* metadata: model, pre, tokens,
// token_type, merges, bos/eos ids, add_bos/eos_token, and tokenizer.chat_template) as the
// tokenizer.json + tokenizer_config.json pair the Hugging Face path reads, and back. The `pre`
// name selects the pre-tokenizer regexes llama.cpp uses for it: llama-bpe, qwen2,
// deepseek-r1-qwen, deepseek-llm, deepseek-v3. Byte-level BPE ("gpt2") only.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/status.h"
#include "formats/gguf.h"

namespace fathom::tokenizer {

struct HfTokenizerFiles {
  std::string tokenizer_json;
  std::string config_json;
};

/// Every missing or mistyped tokenizer key is an error naming it.
Result<HfTokenizerFiles> hf_tokenizer_from_gguf(const formats::GgufContents& g,
                                                const std::string& source);

/// tokenizer.ggml.* metadata for a byte-level BPE tokenizer.json (+ tokenizer_config.json,
/// may be empty) whose pre-tokenizer is one of the names above.
Result<std::vector<std::pair<std::string, formats::GgufValue>>> gguf_tokenizer_metadata(
    std::string_view tokenizer_json, std::string_view config_json);

}  // namespace fathom::tokenizer
