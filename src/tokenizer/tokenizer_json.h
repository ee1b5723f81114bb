// tokenizer.json parsed for loading: one pass over the text that builds the DOM of everything
// except the BPE model's two big lists, model.vocab and model.merges, which are taken out while
// parsing (left empty in the DOM) into flat vectors. Building those as a DOM -- a std::map of
// 150k keys and 150k small JSON values -- was most of a tokenizer's load time (the cold-start
// breakdown in docs/serverless.md).
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/status.h"

namespace fathom::tokenizer {

/// model.vocab and model.merges in file order, values untouched (BpeModel::from_json checks
/// them). A vocab or merges entry that is itself an object or an array of the wrong kind is
/// kept as an empty object, which no check accepts.
struct BpeLists {
  bool has_vocab = false;   ///< model.vocab was a JSON object
  bool has_merges = false;  ///< model.merges was a JSON array
  std::vector<std::pair<std::string, nlohmann::json>> vocab;
  std::vector<nlohmann::json> merges;
};

struct TokenizerJson {
  nlohmann::json dom;  ///< the whole file, model.vocab = {} and model.merges = []
  BpeLists lists;
};

/// InvalidArgument "tokenizer.json: not valid JSON" on a syntax error.
Result<TokenizerJson> parse_tokenizer_json(std::string_view text);

}  // namespace fathom::tokenizer
