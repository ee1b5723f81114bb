// Decoders from tokenizer.json ("decoder"): ByteLevel, Replace, ByteFallback, Fuse, Strip and
// Sequence, with Hugging Face's decode_chain semantics (a list of token strings in, a list of
// strings out, joined at the end).
#pragma once

#include <memory>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <vector>

#include "base/status.h"

namespace fathom::tokenizer {

class Decoder {
 public:
  virtual ~Decoder() = default;
  virtual void decode_chain(std::vector<std::string>& tokens) const = 0;
};

struct DecoderInfo {
  std::unique_ptr<Decoder> decoder;  // nullptr: tokens are joined with " "
  bool byte_level_only = false;      // exactly one ByteLevel decoder: ids map to fixed bytes
};

Result<DecoderInfo> make_decoder(const nlohmann::json& spec);

}  // namespace fathom::tokenizer
