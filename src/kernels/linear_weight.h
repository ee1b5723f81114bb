// The weight of one linear layer in the packed layout the kernels read, and the contract of
// y[n, out] = x[n, in] . W[out, in]^T. Quantized layouts stay quantized in memory and are
// dequantized inside the kernels (normalised at load time by model/linear_loader).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "tensor/ggml_type.h"

namespace fathom::kernels {

struct Bf16Packed;
struct Bf16Panel;
struct Int4Panel;
template <class T>
class ReadySlot;

enum class WeightFormat : uint8_t {
  kF32,          ///< float   [out, in]
  kBF16,         ///< bfloat16 bits [out, in]
  kF16,          ///< IEEE half bits [out, in]
  kFp8Block,     ///< float8_e4m3fn [out, in] with a float scale per [block_out, block_in] tile
  kInt4Grouped,  ///< 4-bit codes with per-(output, group) scale and zero (GPTQ, AWQ)
  kInt8Channel,  ///< int8 [out, in] with a per-output scale (compressed-tensors W8A16)
  kGgml,         ///< GGUF blocks of ggml_type: each row is in / block_elements blocks
};

const char* weight_format_name(WeightFormat f);

struct LinearWeight {
  WeightFormat format = WeightFormat::kF32;
  int64_t out_features = 0;  ///< rows of W
  int64_t in_features = 0;   ///< columns of W

  /// kF32 / kBF16 / kF16 / kFp8Block: row-major [out, in] elements.
  const void* values = nullptr;

  /// kFp8Block: W[o, i] = e4m3(values[o, i]) * block_scale_inv[o / block_out, i / block_in];
  /// block_scale_inv is row-major [ceil(out / block_out), ceil(in / block_in)].
  const float* block_scale_inv = nullptr;
  int32_t block_out = 0;
  int32_t block_in = 0;

  /// kInt4Grouped: q4 row-major [out, ceil(in / 2)] (a row is (in + 1) / 2 bytes), input 2k
  /// in the low nibble of byte k;
  /// W[o, i] = (q(o, i) - group_zero[o, g(i)]) * group_scale[o, g(i)],
  /// g(i) = group_idx ? group_idx[i] : i / group_size. Zeros are true zeros (GPTQ v1's
  /// stored zero-minus-one already undone).
  const uint8_t* q4 = nullptr;
  const float* group_scale = nullptr;   ///< [out, num_groups]
  const uint8_t* group_zero = nullptr;  ///< [out, num_groups]
  const int32_t* group_idx = nullptr;   ///< [in], or nullptr for contiguous groups
  int32_t group_size = 0;
  int32_t num_groups = 0;

  /// kInt4Grouped, optional ([in] or nullptr): the stored columns are a permutation of W's.
  /// Stored column j (the j above in q4, group_idx and j / group_size) is W's input column
  /// input_perm[j], i.e. W[o, input_perm[j]] = (q(o, j) - zero) * scale, and the kernels read
  /// x[:, input_perm[j]]. The loader sets it for GPTQ act-order (desc_act) checkpoints so that
  /// groups become contiguous runs and the fast kernels need no per-element group lookup.
  const int32_t* input_perm = nullptr;

  /// kInt8Channel: W[o, i] = q8[o, i] * channel_scale[o].
  const int8_t* q8 = nullptr;
  const float* channel_scale = nullptr;

  /// kGgml: `values` holds out rows of ggml_row_bytes(ggml_type, in) bytes each, in llama.cpp's
  /// block layout (kernels/ggml_blocks.h defines the values). PRECOND: in % block_elements == 0.
  GgmlType ggml_type = GgmlType::kF32;
  /// The checkpoint prefix it was loaded from ("model.layers.0.mlp.down_proj"), for the
  /// forward pass's linear observer (calibration); empty for weights made elsewhere.
  std::string name;

  /// Buffers made by repacking at load time; the pointers above may point into them.
  std::vector<std::shared_ptr<const void>> storage;

  /// kBF16, optional: where the values packed into 12 bits each appear (kernels/bf16_packed.h),
  /// which the one-row kernels read instead once made (LoadOptions::pack_bf16).
  std::shared_ptr<ReadySlot<Bf16Packed>> bf16_packed;
  /// kBF16, optional: where the values interleaved into the many-rows bf16 kernel's tiles
  /// appear (kernels/bf16_panel.h), which it reads instead once made (LoadOptions::pack_bf16
  /// with kReduced activations).
  std::shared_ptr<ReadySlot<Bf16Panel>> bf16_panel;
  /// kInt4Grouped, optional: where the codes interleaved into the AVX-512 VNNI few-rows int4
  /// kernel's tiles appear (kernels/int4_panel.h), which calls of up to kInt4PanelMaxRows rows
  /// read instead once made (LoadOptions::int4_panels, kReduced activations).
  std::shared_ptr<ReadySlot<Int4Panel>> int4_panel;

  /// Bytes this weight occupies in memory (for reports and bandwidth numbers).
  int64_t size_bytes() const;
  /// Bytes a product with one x row reads: the packed copy's where one is ready.
  int64_t one_row_bytes() const;
};

}  // namespace fathom::kernels
