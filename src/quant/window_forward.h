// Runs a model over fixed windows of token ids (one sequence per window, positions 0..n-1):
// what perplexity evaluation and calibration both need.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "base/status.h"
#include "model/model.h"

namespace fathom::quant {

/// Splits `tokens` into consecutive non-overlapping windows of `ctx` tokens (the tail that
/// does not fill a window is dropped), at most `max_windows` of them (0 = all).
std::vector<std::span<const int32_t>> split_windows(std::span<const int32_t> tokens, int64_t ctx,
                                                    int64_t max_windows);

/// Forwards one window from an empty cache. logits: [window.size() - first_output, vocab],
/// row r predicts the token after window[first_output + r].
Status forward_window(model::Model& m, std::span<const int32_t> window, int64_t first_output,
                      std::vector<float>& logits);

}  // namespace fathom::quant
