// The integer GEMM of linear_int_gemm.h on AVX2 (vpmaddubsw): x packed with 8 rows across the
// int32 lanes of a ymm, weight bytes broadcast from their stored layout.
//
// vpmaddubsw multiplies unsigned bytes by signed bytes and adds each pair into an int16, which
// saturates past 2^15: int4 codes (0..15) are the unsigned side against x's kReduced codes
// (|x| <= 127), the two nibbles' pairs of a word added in int16 (4 x 15 x 127 < 2^15); int8
// weights go by llama.cpp's sign trick, |w| against sign(x, w) (2 x 128 x 127 < 2^15). vpmaddwd
// by ones then widens each lane's pairs to int32. On the Zen 3 this was written on, one core
// issues two vpmaddubsw or vpmaddwd per cycle, as many as fp32 FMAs, so an int32 lane gains 4
// (int8) or 8 (int4) multiply-adds per 2 such instructions where an FMA gains 1: 2-4x the float
// GEMM's peak (docs/benchmarks.md).
//
// x comes from quantize_x (linear_int_x.h: codes, block scales and scaled code sums, int4 in
// 32-column chunks of even then odd columns), transposed per call into [group][span / 4][8
// lanes][4 bytes]. An int4 weight word (bytes 4k..4k+3 of a row: columns 8k..8k+7) has its low
// nibbles' columns at word (k / 4) * 8 + k % 4 of that layout and its high nibbles' 4 words on.
#include <algorithm>
#include <cstdint>
#include <cstring>
#include <vector>

#include "kernels/cpu/int_tile_rows.h"
#include "kernels/cpu/linear_int_gemm.h"
#include "kernels/cpu/linear_int_x.h"
#include "kernels/quantize_activations.h"
#include "kernels/weight_element.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>

#pragma GCC push_options
#pragma GCC target("avx2,fma")

#include "kernels/cpu/int_gemm_tasks.h"  // after the pragma: compiled for AVX2

namespace fathom::kernels::cpu {
namespace {

constexpr int64_t kLanes = 8;     // rows per row group (int32 lanes of a ymm)
constexpr int64_t kOutTile = 48;  // outputs per task: a multiple of every tile's MO
// Row groups per task: x rows within kTaskXBytes (L2), as in the AVX-512 VNNI GEMM.
constexpr int64_t kTaskXBytes = 256 << 10;
constexpr int64_t kMinGroupsPerTask = 4, kMaxGroupsPerTask = 32;

struct PackedX {
  int64_t groups = 0, span = 0, num_blocks = 0, block = 0;
  std::vector<int8_t> storage;
  int8_t* codes = nullptr;      // [groups][span / 4][8 lanes][4 bytes], 32-byte aligned
  std::vector<float> scale;     // [groups, num_blocks, 8 lanes] (0 past the last row)
  std::vector<float> code_sum;  // the same: scale x the block's code sum

  const int8_t* group(int64_t g) const { return codes + g * span * kLanes; }
  const float* scales(int64_t g, int64_t b) const {
    return scale.data() + (g * num_blocks + b) * kLanes;
  }
  const float* sums(int64_t g, int64_t b) const {
    return code_sum.data() + (g * num_blocks + b) * kLanes;
  }
};

void pack_x(const IntX& q, int64_t num_rows, ThreadPool& pool, PackedX& p) {
  p.groups = (num_rows + kLanes - 1) / kLanes;
  p.span = q.span;
  p.block = q.block;
  p.num_blocks = q.num_blocks;
  p.storage.assign(static_cast<size_t>(p.groups * p.span * kLanes + 32), 0);
  p.codes = p.storage.data() + (32 - reinterpret_cast<uintptr_t>(p.storage.data()) % 32) % 32;
  p.scale.assign(static_cast<size_t>(p.groups * p.num_blocks * kLanes), 0.0f);
  p.code_sum.assign(p.scale.size(), 0.0f);
  const int64_t words = p.span / 4;
  pool.parallel_for(p.groups, [&](int64_t begin, int64_t end) {
    for (int64_t g = begin; g < end; ++g)
      for (int64_t lane = 0; lane < kLanes && g * kLanes + lane < num_rows; ++lane) {
        const int8_t* src = q.limb(g * kLanes + lane, 0);
        int8_t* dst = p.codes + g * p.span * kLanes + lane * 4;
        for (int64_t k = 0; k < words; ++k) std::memcpy(dst + k * 32, src + k * 4, 4);
        for (int64_t b = 0; b < p.num_blocks; ++b) {
          const int64_t from = (g * kLanes + lane) * p.num_blocks + b;
          const int64_t to = (g * p.num_blocks + b) * kLanes + lane;
          p.scale[to] = q.scale[from];
          p.code_sum[to] = q.code_sum[from];
        }
      }
  });
}

inline __m256i bcast4(const void* p) {
  int32_t v;
  std::memcpy(&v, p, 4);
  return _mm256_set1_epi32(v);
}

inline __m256i load(const int8_t* p) {
  return _mm256_load_si256(reinterpret_cast<const __m256i*>(p));
}

// y for outputs [o0, o0 + mo) and row groups [g0, g0 + RV): MO x RV ymm of int32 sums per
// block, folded per block into MO x RV float sums kept in memory (16 ymm: the int32 sums and
// the unpacked weights take the registers). Outputs past mo repeat the last one (not stored).
template <int MO, int RV, bool kInt4>
void gemm_tile(const LinearWeight& w, const PackedX& p, int64_t o0, int mo, int64_t g0,
               int64_t num_rows, const float* x, float* y) {
  const int64_t in = w.in_features, out = w.out_features, nb = p.num_blocks;
  const int8_t* q8[MO];
  const uint8_t* q4[MO];
  int64_t o[MO];
  int_tile_rows<MO, kInt4>(w, o0, mo, o, q8, q4);
  const int8_t* xp[RV];
  for (int r = 0; r < RV; ++r) xp[r] = p.group(g0 + r);
  // The weight rows are read 4 bytes at a time from MO places, which the hardware prefetchers
  // follow badly: each new 64-byte line of a row prefetches the same line of the next tile's
  // row (MO rows on) into L2, as the AVX-512 VNNI GEMM does.
  const int64_t next = MO * (kInt4 ? (in + 1) / 2 : in);
  alignas(32) float tot[MO][RV][kLanes] = {};
  const __m256i ones = _mm256_set1_epi16(1);
  const __m256i low4 = _mm256_set1_epi8(0x0f);
  for (int64_t b = 0; b < nb; ++b) {
    __m256i acc[MO][RV];
    for (auto& a : acc)
      for (__m256i& v : a) v = _mm256_setzero_si256();
    const int64_t j0 = b * p.block, j1 = std::min((b + 1) * p.block, p.span);
    if constexpr (kInt4) {
      // A 32-column chunk: 4 words of each weight row against 8 words of x (4 even, 4 odd).
      // Its int16 pair sums stay below 4 x 4 x 15 x 127 < 2^15: one vpmaddwd per chunk.
      for (int64_t c = j0 / 32; c < j1 / 32; ++c) {
        if (c % 4 == 0)
          for (int m = 0; m < MO; ++m) __builtin_prefetch(q4[m] + next + c * 16, 0, 2);
#pragma GCC unroll 8
        for (int m = 0; m < MO; ++m) {
          __m256i pairs[RV];
          for (__m256i& v : pairs) v = _mm256_setzero_si256();
#pragma GCC unroll 4
          for (int kk = 0; kk < 4; ++kk) {
            const __m256i wb = bcast4(q4[m] + c * 16 + kk * 4);
            const __m256i we = _mm256_and_si256(wb, low4);
            const __m256i wo = _mm256_and_si256(_mm256_srli_epi16(wb, 4), low4);
#pragma GCC unroll 4
            for (int r = 0; r < RV; ++r) {
              const int8_t* xc = xp[r] + c * 256 + kk * 32;
              pairs[r] = _mm256_add_epi16(pairs[r], _mm256_maddubs_epi16(we, load(xc)));
              pairs[r] = _mm256_add_epi16(pairs[r], _mm256_maddubs_epi16(wo, load(xc + 128)));
            }
          }
#pragma GCC unroll 4
          for (int r = 0; r < RV; ++r)
            acc[m][r] = _mm256_add_epi32(acc[m][r], _mm256_madd_epi16(pairs[r], ones));
        }
      }
    } else {
      for (int64_t k = j0 / 4; k < j1 / 4; ++k) {
        if (k % 16 == 0)
          for (int m = 0; m < MO; ++m) __builtin_prefetch(q8[m] + next + k * 4, 0, 2);
#pragma GCC unroll 8
        for (int m = 0; m < MO; ++m) {
          const __m256i wb = bcast4(q8[m] + k * 4);
          const __m256i wabs = _mm256_abs_epi8(wb);
#pragma GCC unroll 4
          for (int r = 0; r < RV; ++r) {
            const __m256i pairs =
                _mm256_maddubs_epi16(wabs, _mm256_sign_epi8(load(xp[r] + k * 32), wb));
            acc[m][r] = _mm256_add_epi32(acc[m][r], _mm256_madd_epi16(pairs, ones));
          }
        }
      }
    }
    // Per block: weight scale x (x scale x integer sum - zero x scaled code sum).
#pragma GCC unroll 4
    for (int r = 0; r < RV; ++r) {
      const __m256 xs = _mm256_loadu_ps(p.scales(g0 + r, b));
      const __m256 xsum = _mm256_loadu_ps(p.sums(g0 + r, b));
#pragma GCC unroll 8
      for (int m = 0; m < MO; ++m) {
        const __m256 ws =
            _mm256_set1_ps(kInt4 ? w.group_scale[o[m] * w.num_groups + b] : w.channel_scale[o[m]]);
        __m256 d = _mm256_mul_ps(_mm256_cvtepi32_ps(acc[m][r]), xs);
        if constexpr (kInt4)
          d = _mm256_fnmadd_ps(
              _mm256_set1_ps(static_cast<float>(w.group_zero[o[m] * w.num_groups + b])), xsum, d);
        _mm256_store_ps(tot[m][r], _mm256_fmadd_ps(ws, d, _mm256_load_ps(tot[m][r])));
      }
    }
  }
  for (int r = 0; r < RV; ++r) {
    const int64_t row0 = (g0 + r) * kLanes, rows = std::min(kLanes, num_rows - row0);
    for (int64_t l = 0; l < rows; ++l) {
      float* yr = y + (row0 + l) * out + o0;
      for (int m = 0; m < mo; ++m) yr[m] = tot[m][r][l];
      for (int64_t j = p.span; j < in; ++j)  // columns past the quantized span, in fp32
        for (int m = 0; m < mo; ++m)
          yr[m] += x[(row0 + l) * in + j] * detail::weight_element(w, o[m], j);
    }
  }
}

// One task: outputs [o_begin, o_end) x row groups [g_begin, g_end) in register tiles.
template <bool kInt4>
void gemm_task(const LinearWeight& w, const PackedX& p, int64_t o_begin, int64_t o_end,
               int64_t g_begin, int64_t g_end, int64_t num_rows, const float* x, float* y) {
  const auto tile = [&]<int MO, int RV>(int64_t o0, int mo, int64_t g0) {
    gemm_tile<MO, RV, kInt4>(w, p, o0, mo, g0, num_rows, x, y);
  };
  if (g_end - g_begin == 1)  // up to 8 rows: a wider tile of outputs
    return for_each_int_tile<6, 1>(o_begin, o_end, g_begin, g_end, tile);
  for_each_int_tile<3, 2>(o_begin, o_end, g_begin, g_end, tile);
}

}  // namespace

bool int_gemm_avx2(const LinearWeight& w, const float* x, int64_t num_rows, float* y,
                   ThreadPool& pool) {
  const IntX q = quantize_x(w, x, num_rows, ActivationPrecision::kReduced, Isa::kAvx2, pool);
  if (!q.finite) return false;
  PackedX p;
  pack_x(q, num_rows, pool, p);
  const bool int4 = w.format == WeightFormat::kInt4Grouped;
  const int64_t per_task = std::clamp<int64_t>(
      kTaskXBytes / (kLanes * std::max<int64_t>(p.span, 1)), kMinGroupsPerTask, kMaxGroupsPerTask);
  for_each_int_gemm_task(pool, w.out_features, kOutTile, p.groups, per_task,
                         [&](int64_t o_begin, int64_t o_end, int64_t g_begin, int64_t g_end) {
                           if (int4)
                             gemm_task<true>(w, p, o_begin, o_end, g_begin, g_end, num_rows, x, y);
                           else
                             gemm_task<false>(w, p, o_begin, o_end, g_begin, g_end, num_rows, x, y);
                         });
  return true;
}

}  // namespace fathom::kernels::cpu

#pragma GCC pop_options

#else  // not x86: never selected (isa_available(kAvx2) is false)

namespace fathom::kernels::cpu {
bool int_gemm_avx2(const LinearWeight&, const float*, int64_t, float*, ThreadPool&) {
  return false;
}
}  // namespace fathom::kernels::cpu

#endif
