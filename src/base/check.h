// Assertion levels (see STYLE.md rule 8):
//   FATHOM_CHECK(cond)  -- the process cannot continue (crash with a message);
//   FATHOM_DCHECK(cond) -- debug-only invariant.
#pragma once

#include <cstdio>
#include <cstdlib>

namespace fathom::detail {
[[noreturn]] inline void check_failed(const char* cond, const char* file, int line) {
  std::fprintf(stderr, "FATHOM_CHECK failed: %s at %s:%d\n", cond, file, line);
  std::abort();
}
}  // namespace fathom::detail

#define FATHOM_CHECK(cond) \
  ((cond) ? (void)0 : ::fathom::detail::check_failed(#cond, __FILE__, __LINE__))

#ifdef NDEBUG
#define FATHOM_DCHECK(cond) ((void)0)
#else
#define FATHOM_DCHECK(cond) FATHOM_CHECK(cond)
#endif
