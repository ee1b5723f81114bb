// Importance matrices as llama.cpp's imatrix tool computes and stores them (examples/imatrix,
// the .dat format llama-quantize --imatrix reads): for each linear weight, by GGUF tensor name,
// the mean of x_j^2 over the calibration tokens for each input column j. fathom computes them
// with its own forward pass (quant/kquant_gguf.h compute_imatrix) and reads files from either
// tool; the file is untrusted input (fuzz/imatrix_fuzz.cpp).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace fathom::quant {

struct ImatrixEntry {
  int32_t ncall = 0;          ///< chunks that reached the weight
  std::vector<float> values;  ///< mean x_j^2 per input column (per matrix for stacked experts)
};

struct Imatrix {
  std::map<std::string, ImatrixEntry> entries;  ///< by GGUF tensor name
  int32_t chunks = 0;                           ///< llama.cpp's m_last_call
  std::string dataset;                          ///< the calibration text's name
};

/// The .dat layout: i32 n_entries; per entry i32 name_len, name, i32 ncall, i32 nval,
/// f32 values[nval] (the mean times ncall); then optionally i32 chunks, i32 len, dataset.
/// Every count, length and value is checked against the bytes there are; errors name the
/// entry and field.
Result<Imatrix> parse_imatrix(std::string_view bytes);
std::string serialize_imatrix(const Imatrix& m);

Result<Imatrix> read_imatrix(const std::string& path);
Status write_imatrix(const std::string& path, const Imatrix& m);

/// The GGUF name of a Hugging Face linear weight prefix ("model.layers.3.mlp.down_proj" ->
/// "blk.3.ffn_down.weight"), as gguf_export writes it; empty for a layer with no single GGUF
/// tensor (MLA's kv_b_proj, which the export splits; routed experts, which it stacks).
std::string gguf_linear_name(const std::string& hf_prefix);

}  // namespace fathom::quant
