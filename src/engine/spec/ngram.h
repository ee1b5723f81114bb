// Prompt-lookup (n-gram) drafting: find the suffix of the history earlier in the history and
// propose the tokens that followed it. Costs no model; wins when the output copies the input
// (editing, summarising with quotes, code refactoring).
#pragma once

#include <cstdint>
#include <span>
#include <vector>

namespace fathom::engine::spec {

/// For n from max_n down to min_n: the latest earlier occurrence of the last n tokens of
/// `history` that is followed by at least one token; returns up to k tokens that followed it.
/// Empty when no suffix of length >= min_n recurs.
std::vector<int32_t> propose_ngram(std::span<const int32_t> history, int32_t min_n, int32_t max_n,
                                   int32_t k);

}  // namespace fathom::engine::spec
