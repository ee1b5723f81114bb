// Held-out or calibration text read from a file and tokenized with a model folder's tokenizer.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "base/status.h"

namespace fathom::quant {

/// Reads `text_path` (UTF-8) and encodes it with the tokenizer in `tokenizer_dir` (no special
/// tokens). `flag` names the option in errors ("--text", "--calib").
Result<std::vector<int32_t>> tokenize_text_file(const std::string& text_path,
                                                const std::string& tokenizer_dir,
                                                const std::string& flag);

}  // namespace fathom::quant
