// The process's open-file limit. A server holds a descriptor per client connection (and a
// gateway one more per upstream stream), so both raise the soft limit before they listen.
#pragma once

namespace fathom {

/// Raises RLIMIT_NOFILE's soft limit to its hard limit (no-op when it already is, or on failure).
void raise_open_file_limit();

}  // namespace fathom
