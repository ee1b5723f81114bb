#include "server/text_markers.h"

#include <algorithm>

namespace fathom::server {

size_t partial_marker_suffix(std::string_view text, std::string_view marker) {
  const size_t max_len = std::min(text.size(), marker.empty() ? 0 : marker.size() - 1);
  for (size_t len = max_len; len > 0; --len)
    if (text.substr(text.size() - len) == marker.substr(0, len)) return len;
  return 0;
}

size_t partial_marker_suffix(std::string_view text, const std::vector<std::string>& markers) {
  size_t best = 0;
  for (const std::string& m : markers) best = std::max(best, partial_marker_suffix(text, m));
  return best;
}

}  // namespace fathom::server
