// Small string helpers for streaming text that may end in the middle of a marker.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace fathom::server {

/// Length of the longest suffix of `text` that is a proper prefix of `marker` (what must be
/// held back because the next piece may complete the marker).
size_t partial_marker_suffix(std::string_view text, std::string_view marker);

/// The same over several markers (the longest).
size_t partial_marker_suffix(std::string_view text, const std::vector<std::string>& markers);

}  // namespace fathom::server
