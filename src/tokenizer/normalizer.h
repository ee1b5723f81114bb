// Normalizers from tokenizer.json ("normalizer"): NFC, NFD, NFKC, NFKD (ICU), Lowercase,
// Replace, Prepend, Strip and Sequence. Applied to text between added tokens, before
// pre-tokenization. Offsets are not tracked: fathom only needs the ids.
#pragma once

#include <memory>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace fathom::tokenizer {

class Normalizer {
 public:
  virtual ~Normalizer() = default;
  virtual void normalize(std::string& text) const = 0;
};

/// Builds the normalizer described by `spec` (a tokenizer.json "normalizer" object).
/// Returns nullptr for JSON null and for an empty Sequence (identity).
Result<std::unique_ptr<Normalizer>> make_normalizer(const nlohmann::json& spec);

}  // namespace fathom::tokenizer
