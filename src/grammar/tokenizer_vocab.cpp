#include "grammar/tokenizer_vocab.h"

#include <algorithm>

namespace fathom::grammar {

Result<std::shared_ptr<const TokenVocab>> vocab_from_tokenizer(
    const tokenizer::Tokenizer& tok, int64_t model_vocab, const std::vector<int32_t>& eos_ids) {
  if (!tok.has_byte_level_decoder())
    return unimplemented(
        "structured outputs need a byte-level tokenizer; this model's decoder is not one");
  const int32_t n = static_cast<int32_t>(std::max<int64_t>(model_vocab, tok.vocab_size()));
  std::vector<std::optional<std::string>> bytes(static_cast<size_t>(n));
  for (int32_t id = 0; id < tok.vocab_size(); ++id) {
    if (tok.is_special(id)) continue;
    if (const std::string* b = tok.token_bytes(id)) bytes[static_cast<size_t>(id)] = *b;
  }
  std::vector<int32_t> ends = eos_ids;
  if (tok.eos_id() && std::find(ends.begin(), ends.end(), *tok.eos_id()) == ends.end())
    ends.push_back(*tok.eos_id());
  for (int32_t id : ends)
    if (id >= 0 && id < n) bytes[static_cast<size_t>(id)].reset();
  return std::make_shared<const TokenVocab>(bytes, std::move(ends));
}

}  // namespace fathom::grammar
