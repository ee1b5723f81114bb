#include "engine/spec/ngram.h"

#include <algorithm>

namespace fathom::engine::spec {

std::vector<int32_t> propose_ngram(std::span<const int32_t> history, int32_t min_n, int32_t max_n,
                                   int32_t k) {
  const int64_t len = static_cast<int64_t>(history.size());
  if (k <= 0) return {};
  for (int64_t n = std::min<int64_t>(max_n, len - 1); n >= min_n; --n) {
    const auto suffix = history.subspan(static_cast<size_t>(len - n));
    // Latest start s < len - n whose n tokens equal the suffix (the suffix itself excluded).
    for (int64_t s = len - n - 1; s >= 0; --s) {
      if (!std::equal(suffix.begin(), suffix.end(), history.begin() + s)) continue;
      const int64_t from = s + n;
      const int64_t count = std::min<int64_t>(k, len - from);
      return {history.begin() + from, history.begin() + from + count};
    }
  }
  return {};
}

}  // namespace fathom::engine::spec
