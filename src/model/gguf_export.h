// Writes a Hugging Face model folder (float weights) as a GGUF file laid out as llama.cpp's
// convert_hf_to_gguf.py lays it out: llama.cpp tensor names, its metadata keys, llama's Q/K rows
// permuted, DeepSeek's kv_b_proj split into attn_k_b / attn_v_b, experts stacked per layer.
// Linear weights are quantized (round to nearest) to the requested type; a weight whose rows do
// not divide into the type's blocks falls back as llama.cpp's quantizer does (k-quants to a
// 32-element type, then F16). The inverse of gguf_loader, for the tests and `fathom quantize`.
#pragma once

#include <functional>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "base/status.h"
#include "formats/gguf.h"
#include "tensor/ggml_type.h"

namespace fathom::model {

struct GgufExportOptions {
  GgmlType type = GgmlType::kF32;  ///< for 2-D weights; norms and biases stay F32
  /// Written after the model's keys, replacing any of the same name (the tokenizer's keys from
  /// tokenizer::gguf_tokenizer_metadata, so that the file alone can be served).
  std::vector<std::pair<std::string, formats::GgufValue>> extra_metadata;
  /// Per-tensor types (`fathom quantize`'s k-quant mixes): called for each 2-D/3-D tensor in
  /// file order with its GGUF name and dims (innermost first); the result then falls back as
  /// llama.cpp's does where rows do not divide into blocks. Unset: `type` for every matrix.
  std::function<GgmlType(const std::string& name, const std::vector<int64_t>& dims)> type_for;
  /// Encode Q4_K / Q5_K / Q6_K with llama.cpp's error-minimising searches
  /// (kernels/ggml_kquants.h) rather than round to nearest.
  bool kquant_search = false;
  /// Importance per input column (an imatrix) by GGUF tensor name, for the searches: a 3-D
  /// tensor's vector holds one row of cols values per matrix. A size that does not match is an
  /// error naming the tensor.
  const std::map<std::string, std::vector<float>>* importance = nullptr;
};

/// How many tensors were written in each type (fallbacks included).
using GgufExportSummary = std::map<GgmlType, int>;

Result<GgufExportSummary> export_gguf(const std::string& model_dir, const std::string& out_path,
                                      const GgufExportOptions& opts);

/// convert_hf_to_gguf.py's Llama 3 rope factors (the rope_freqs.weight tensor): one divisor per
/// frequency 0 .. dim/2 of theta^(-2i/dim): 1 above the high-frequency wavelength, `factor`
/// below the low one, smoothly between.
std::vector<double> llama3_rope_factors(double theta, int64_t dim, double factor,
                                        double low_freq_factor, double high_freq_factor,
                                        double original_context);

/// The type llama.cpp would use for a row of `cols` elements when `want` is asked for.
GgmlType ggml_fallback_type(GgmlType want, int64_t cols);

}  // namespace fathom::model
