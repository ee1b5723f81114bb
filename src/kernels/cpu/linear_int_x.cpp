#include "kernels/cpu/linear_int_x.h"

#include <algorithm>
#include <atomic>

#include "kernels/quantize_activations.h"

namespace fathom::kernels::cpu {

IntX quantize_x(const LinearWeight& w, const float* x, int64_t num_rows, ActivationPrecision act,
                Isa isa, ThreadPool& pool) {
  const bool int4 = w.format == WeightFormat::kInt4Grouped;
  const bool ggml = w.format == WeightFormat::kGgml;
  const bool reduced = act == ActivationPrecision::kReduced;
  const ActivationBlocks ab = activation_blocks(w);
  IntX q;
  q.limbs = reduced ? 1 : 3;
  if (int4 && isa == Isa::kAvx512Vnni && num_rows == 1 && reduced && ab.block % kWideQ4Chunk == 0 &&
      ab.span % kWideQ4Chunk == 0)
    q.q4_chunk = kWideQ4Chunk;
  const int64_t q4_chunk = q.q4_chunk, half = q4_chunk / 2;
  const bool avx2_rows = !ggml && (isa == Isa::kAvx2 || isa == Isa::kAvxVnni);
  const bool avx512_rows = !ggml && reduced && isa == Isa::kAvx512Vnni;
  q.block = ab.block;
  q.span = ab.span;
  q.num_blocks = ab.count;
  q.codes.resize(static_cast<size_t>(num_rows * q.limbs * q.span));
  q.scale.resize(static_cast<size_t>(num_rows * q.num_blocks));
  q.code_sum.resize(q.scale.size());
  if (ggml) q.sums16.resize(static_cast<size_t>(num_rows * q.span / 16));
  std::atomic<bool> finite{true};
  // digit ^ 0x80 == digit + 128 as a byte
  const int8_t bias = isa != Isa::kAvx2 && w.format == WeightFormat::kInt8Channel ? -128 : 0;
  pool.parallel_for(num_rows, [&](int64_t begin, int64_t end) {
    std::vector<int32_t> codes(static_cast<size_t>(q.block));
    for (int64_t r = begin; r < end; ++r) {
      if (avx2_rows || avx512_rows) {
        const int64_t nb = q.num_blocks, chunk = int4 ? q4_chunk : 0;
        const float* xr = x + r * w.in_features;
        int8_t* row = q.codes.data() + r * q.limbs * q.span;
        float *scale = q.scale.data() + r * nb, *code_sum = q.code_sum.data() + r * nb;
        if (!(avx2_rows
                  ? quantize_row_avx2(xr, q.span, q.block, chunk, bias, act, row, scale, code_sum)
                  : quantize_row_reduced_avx512(xr, q.span, q.block, chunk, bias, row, scale,
                                                code_sum))) {
          finite.store(false, std::memory_order_relaxed);
          return;
        }
        continue;
      }
      for (int64_t b = 0; b < q.num_blocks; ++b) {
        const int64_t j0 = b * q.block, n = std::min(q.block, q.span - j0);
        float& scale = q.scale[r * q.num_blocks + b];
        if (!quantize_activation_block(x + r * w.in_features + j0, n, act, codes.data(), &scale)) {
          finite.store(false, std::memory_order_relaxed);
          return;
        }
        int64_t sum = 0;
        for (int64_t i = 0; i < n; ++i) {
          const int64_t j = j0 + i, k = j & (q4_chunk - 1);
          const int64_t v = j - k + (int4 ? ((k & 1) ? half + k / 2 : k / 2) : k);
          int32_t code = codes[i];
          sum += code;
          for (int limb = q.limbs - 1; limb >= 0; --limb) {  // least significant digit first
            const auto digit = static_cast<int8_t>(((code + 128) & 255) - 128);
            code = (code - digit) / 256;
            q.codes[static_cast<size_t>((r * q.limbs + limb) * q.span + v)] =
                static_cast<int8_t>(digit ^ bias);
          }
        }
        q.code_sum[r * q.num_blocks + b] = static_cast<float>(double{scale} * sum);
        if (ggml)  // |sum of 16 codes| <= 16 * 127: an int16
          for (int64_t i = 0; i < n; i += 16) {
            int32_t s16 = 0;
            for (int64_t k = i; k < i + 16; ++k) s16 += codes[k];
            q.sums16[static_cast<size_t>((r * q.span + j0 + i) / 16)] = static_cast<int16_t>(s16);
          }
      }
    }
  });
  q.finite = finite.load();
  return q;
}

}  // namespace fathom::kernels::cpu
