// Memory for the weight copies made after a load (kernels/bf16_packed.h, bf16_panel.h).
#pragma once

#include <cstddef>
#include <memory>

namespace fathom::kernels {

/// `bytes` rounded up to whole 2 MiB pages, 2 MiB aligned, transparent huge pages advised
/// (advice only: small pages where refused). Throws std::bad_alloc when memory runs out.
std::shared_ptr<void> huge_page_buffer(size_t bytes);

}  // namespace fathom::kernels
