// A TokenVocab from a loaded tokenizer: each token's decoded bytes (special tokens excluded),
// padded to the model's vocabulary size, with the model's end-of-sequence ids.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "base/status.h"
#include "grammar/token_vocab.h"
#include "tokenizer/tokenizer.h"

namespace fathom::grammar {

/// Fails when the tokenizer's decoder is not plain byte-level (a token's bytes are not known).
Result<std::shared_ptr<const TokenVocab>> vocab_from_tokenizer(const tokenizer::Tokenizer& tok,
                                                               int64_t model_vocab,
                                                               const std::vector<int32_t>& eos_ids);

}  // namespace fathom::grammar
