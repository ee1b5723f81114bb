// fathom quantize --method q4_k_m|q5_k_m|q6_k|q8_0: a float Hugging Face folder to one GGUF
// file with llama.cpp's per-tensor k-quant mix (quant/kquant_mix.h), encoded with llama.cpp's
// scale searches (kernels/ggml_kquants.h), optionally weighted by an importance matrix that is
// read from a file or computed here over calibration text with our own forward pass.
#pragma once

#include <cstdint>
#include <cstdio>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "base/status.h"
#include "formats/gguf.h"
#include "model/gguf_export.h"
#include "quant/calibration.h"
#include "quant/imatrix.h"
#include "quant/kquant_mix.h"

namespace fathom::quant {

/// The tokenizer of a Hugging Face folder as GGUF metadata (so the file alone can be served);
/// empty, with a note on `warn`, when the folder has no tokenizer.json.
Result<std::vector<std::pair<std::string, formats::GgufValue>>> gguf_tokenizer_keys(
    const std::string& model_dir, std::FILE* warn, const char* tool);

struct ImatrixOptions {
  std::vector<int32_t> tokens;  ///< calibration text
  int64_t samples = 128;        ///< windows of ctx tokens
  int64_t ctx = 512;
  std::string dataset;  ///< stored in the file (llama.cpp stores the text file's name)
  std::FILE* progress = nullptr;
};

/// The importance matrix of what `sums` collected: for each linear layer in `hf_prefixes` (q/k/v
/// and gate/up read their shared input's sums) the mean x_j^2 under its GGUF name; layers that
/// saw nothing or have no GGUF name are left out.
Imatrix imatrix_from_sums(const ChannelNormCollector& sums,
                          const std::vector<std::string>& hf_prefixes, int32_t chunks,
                          const std::string& dataset);

/// Runs the float model over the calibration windows and averages x_j^2 per input column of
/// every linear layer (llama.cpp's imatrix).
Result<Imatrix> compute_imatrix(const std::string& model_dir, const ImatrixOptions& o);

struct KQuantOptions {
  KQuantMix mix = KQuantMix::kQ4_K_M;
  std::optional<Imatrix> imatrix;
};

/// Writes `out_path`; the summary counts the tensors of each type.
Result<model::GgufExportSummary> quantize_kquant_gguf(const std::string& model_dir,
                                                      const std::string& out_path,
                                                      const KQuantOptions& o);

}  // namespace fathom::quant
