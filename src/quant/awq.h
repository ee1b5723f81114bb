// AWQ (Lin et al. 2023, as AutoAWQ): per input channel scales s = mean|x|^alpha, alpha chosen
// on a grid by the output MSE of the quantized layer on calibration activations; the scales are
// multiplied into the layer's weight columns and divided out of what produces its input (the
// RMSNorm weight, or up_proj's rows for down_proj), then group-wise asymmetric 4-bit.
#pragma once

#include <cstdint>
#include <cstdio>
#include <span>
#include <vector>

#include "base/status.h"
#include "formats/checkpoint.h"
#include "formats/safetensors.h"
#include "model/model.h"
#include "quant/group_quant.h"

namespace fathom::quant {

/// The scale search for linears that read the same input. x: [rows, in] calibration inputs;
/// ws: each linear's weight [outs[k], in] row-major. Returns s [in] (normalised so that
/// sqrt(max * min) = 1) for the best alpha in {0, 1/20, ..., 19/20}; alpha_out gets it.
std::vector<float> awq_search_scales(const float* x, int64_t rows, int64_t in,
                                     const std::vector<const float*>& ws,
                                     const std::vector<int64_t>& outs, const GroupQuantParams& p,
                                     double* alpha_out = nullptr);

struct AwqInputs {
  const formats::Checkpoint& ck;
  model::Model& m;  ///< the float model the checkpoint loads to (calibration)
  const std::vector<std::span<const int32_t>>& windows;
  GroupQuantParams params;  ///< rule is forced to kAwq
  std::FILE* progress = nullptr;
  int64_t max_rows = 256;  ///< calibration rows kept per input
};

/// Packed AWQ tensors for every model.layers.*.weight linear, plus the folded norm weights
/// (same names and dtypes as stored: they replace the originals).
Result<std::vector<formats::OwnedTensor>> awq_quantize_model(const AwqInputs& in);

}  // namespace fathom::quant
