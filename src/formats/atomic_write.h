// Writes a file whole or not at all: PATH.tmp is written and flushed, then renamed over PATH.
#pragma once

#include <functional>
#include <ostream>
#include <string>

#include "base/status.h"

namespace fathom::formats {

/// `body` writes the contents to the stream; a failed open, write or rename is an error naming
/// `path`.
Status write_file_atomically(const std::string& path,
                             const std::function<void(std::ostream&)>& body);

}  // namespace fathom::formats
