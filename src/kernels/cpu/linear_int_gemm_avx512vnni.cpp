// The integer GEMM of linear_int_gemm.h on AVX-512 VNNI: x packed with 16 rows across the lanes
// of a zmm, weight bytes broadcast from their stored layout, vpdpbusd.
//
// vpdpbusd multiplies unsigned bytes by signed bytes: the weights are the unsigned side (int4
// codes 0..15; int8 w as w ^ 0x80 = w + 128, one vpxord per broadcast) and x the signed side,
// so a weight's zero point (int4: its group's zero; int8: 128) comes off as zero * (sum of
// the block's x codes), once per (output, row, block). (x as the unsigned side would need
// the weights' block sums instead: a second pass over the weights, which costs more when few
// rows make the call bound by memory bandwidth.)
// An int4 word of 4 bytes holds 8 columns (even ones in the low nibbles), so x is packed per
// 8 columns as [0 2 4 6] [1 3 5 7]: a broadcast word's low nibbles, then its high nibbles.
#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstring>
#include <vector>

#include "kernels/cpu/int_tile_rows.h"
#include "kernels/cpu/linear_int_gemm.h"
#include "kernels/quantize_activations.h"
#include "kernels/weight_element.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>

#pragma GCC push_options
#pragma GCC target("avx512f,avx512bw,avx512vl,avx512vnni,avx2,fma")
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"  // GCC 12 _mm512_undefined_* (see avx512)

#include "kernels/cpu/int_gemm_tasks.h"  // after the pragma: compiled for AVX-512 VNNI
#include "kernels/cpu/vpdpbusd.h"        // likewise

namespace fathom::kernels::cpu {
namespace {

constexpr int64_t kLanes = 16;    // rows per row group (int32 lanes of a zmm)
constexpr int64_t kOutTile = 48;  // outputs per task: a multiple of every kernel's MO
// Row groups per task: as many as keep the task's x rows within kTaskXBytes (in L2 while the
// task's outputs stream their weights past them; every row chunk streams all the weights once
// more), at least kMinGroupsPerTask (64 rows: 64 x 8960 bytes for a down projection).
constexpr int64_t kTaskXBytes = 384 << 10;
constexpr int64_t kMinGroupsPerTask = 4, kMaxGroupsPerTask = 16;

// x of one call, packed: codes [group][span / 4][16 lanes][4 bytes] (64-byte aligned), and per
// (group, block) 16 lanes of scale and of code sum. Rows past num_rows are all zero codes.
struct PackedX {
  int64_t groups = 0, span = 0, block = 0, num_blocks = 0;
  std::vector<uint8_t> storage;
  uint8_t* codes = nullptr;
  std::vector<float> scale;     // [groups, num_blocks, 16]
  std::vector<float> code_sum;  // [groups, num_blocks, 16]: sum of the block's codes

  const uint8_t* group(int64_t g) const { return codes + g * span * kLanes; }
  const float* scales(int64_t g, int64_t b) const {
    return scale.data() + (g * num_blocks + b) * kLanes;
  }
  const float* sums(int64_t g, int64_t b) const {
    return code_sum.data() + (g * num_blocks + b) * kLanes;
  }
};

}  // namespace

bool quantize_x_block_avx512(const float* xb, int64_t n, bool int4, uint8_t* dst,
                             int64_t word_stride, float* scale, float* code_sum) {
  __m512 amax = _mm512_setzero_ps();
  __mmask16 bad = 0;
  for (int64_t j = 0; j < n; j += 16) {
    const __m512 v = _mm512_loadu_ps(xb + j);
    const __m512 d = _mm512_sub_ps(v, v);  // NaN exactly where v is a NaN or an infinity
    bad |= _mm512_cmp_ps_mask(d, d, _CMP_UNORD_Q);
    amax = _mm512_max_ps(amax, _mm512_abs_ps(v));
  }
  if (bad) return false;
  const float a = _mm512_reduce_max_ps(amax);
  const double max_code = kReducedMaxCode;
  *scale = static_cast<float>(a / max_code);
  const __m512d inv = _mm512_set1_pd(a > 0.0f ? max_code / a : 0.0);
  // Int4: each 8 columns as [0 2 4 6] [1 3 5 7] (the even and odd nibbles of a weight word).
  const __m128i order = int4 ? _mm_setr_epi8(0, 2, 4, 6, 1, 3, 5, 7, 8, 10, 12, 14, 9, 11, 13, 15)
                             : _mm_setr_epi8(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
  __m512i sum = _mm512_setzero_si512();
  for (int64_t j = 0; j < n; j += 16) {
    const __m256i lo =
        _mm512_cvtpd_epi32(_mm512_mul_pd(_mm512_cvtps_pd(_mm256_loadu_ps(xb + j)), inv));
    const __m256i hi =
        _mm512_cvtpd_epi32(_mm512_mul_pd(_mm512_cvtps_pd(_mm256_loadu_ps(xb + j + 8)), inv));
    const __m512i codes = _mm512_inserti64x4(_mm512_castsi256_si512(lo), hi, 1);
    sum = _mm512_add_epi32(sum, codes);
    const __m128i bytes = _mm_shuffle_epi8(_mm512_cvtepi32_epi8(codes), order);
    uint8_t* d = dst + (j / 4) * word_stride;
    const auto put = [&](int i, int32_t word) { std::memcpy(d + i * word_stride, &word, 4); };
    put(0, _mm_cvtsi128_si32(bytes));
    put(1, _mm_extract_epi32(bytes, 1));
    put(2, _mm_extract_epi32(bytes, 2));
    put(3, _mm_extract_epi32(bytes, 3));
  }
  *code_sum = static_cast<float>(_mm512_reduce_add_epi32(sum));
  return true;
}

namespace {

bool pack_x(const LinearWeight& w, const float* x, int64_t num_rows, ThreadPool& pool, PackedX& p) {
  const bool int4 = w.format == WeightFormat::kInt4Grouped;
  const ActivationBlocks ab = activation_blocks(w);
  p.groups = (num_rows + kLanes - 1) / kLanes;
  p.span = ab.span;
  p.block = ab.block;
  p.num_blocks = ab.count;
  const auto bytes = static_cast<size_t>(p.groups * p.span * kLanes);
  p.storage.assign(bytes + 64, 0);
  p.codes = p.storage.data() + (64 - reinterpret_cast<uintptr_t>(p.storage.data()) % 64) % 64;
  p.scale.assign(static_cast<size_t>(p.groups * p.num_blocks * kLanes), 0.0f);
  p.code_sum.assign(p.scale.size(), 0.0f);
  std::atomic<bool> finite{true};
  pool.parallel_for(p.groups, [&](int64_t begin, int64_t end) {
    for (int64_t g = begin; g < end; ++g) {
      uint8_t* dst = p.codes + g * p.span * kLanes;
      for (int64_t lane = 0; lane < kLanes && g * kLanes + lane < num_rows; ++lane) {
        const float* xr = x + (g * kLanes + lane) * w.in_features;
        for (int64_t b = 0; b < p.num_blocks; ++b) {
          const int64_t j0 = b * p.block, n = std::min(p.block, p.span - j0);
          const int64_t at = (g * p.num_blocks + b) * kLanes + lane;
          if (!quantize_x_block_avx512(xr + j0, n, int4, dst + (j0 / 4) * 4 * kLanes + lane * 4,
                                       4 * kLanes, &p.scale[at], &p.code_sum[at])) {
            finite.store(false, std::memory_order_relaxed);
            return;
          }
        }
      }
    }
  });
  return finite.load();
}

// y for outputs [o0, o0 + mo) and row groups [g0, g0 + RV): MO x RV zmm of int32 sums per
// block, folded into MO x RV zmm of float sums. Outputs past mo repeat the last one (not stored).
template <int MO, int RV, bool kInt4>
void gemm_tile(const LinearWeight& w, const PackedX& p, int64_t o0, int mo, int64_t g0,
               int64_t num_rows, const float* x, float* y) {
  const int64_t in = w.in_features, out = w.out_features, nb = p.num_blocks;
  const int8_t* q8[MO];
  const uint8_t* q4[MO];
  int64_t o[MO];
  int_tile_rows<MO, kInt4>(w, o0, mo, o, q8, q4);
  const float* gs[MO];
  const uint8_t* gz[MO];
  for (int m = 0; m < MO; ++m) {
    gs[m] = kInt4 ? w.group_scale + o[m] * w.num_groups : nullptr;
    gz[m] = kInt4 ? w.group_zero + o[m] * w.num_groups : nullptr;
  }
  const uint8_t* xp[RV];
  for (int r = 0; r < RV; ++r) xp[r] = p.group(g0 + r);
  // The weight rows are read 4 bytes at a time from MO places: the hardware prefetchers lag, so
  // each new 64-byte line of a row prefetches the same line of the next tile's row (MO rows on).
  const int64_t next = MO * (kInt4 ? (in + 1) / 2 : in);
  __m512 tot[MO][RV];
  for (auto& t : tot)
    for (__m512& v : t) v = _mm512_setzero_ps();
  const __m512i low4 = _mm512_set1_epi8(0x0f);
  const __m512i flip = _mm512_set1_epi8(static_cast<char>(0x80));
  for (int64_t b = 0; b < nb; ++b) {
    __m512i acc[MO][RV];
    for (auto& a : acc)
      for (__m512i& v : a) v = _mm512_setzero_si512();
    const int64_t k0 = b * p.block / 4, k1 = std::min((b + 1) * p.block, p.span) / 4;
    if constexpr (kInt4) {
      for (int64_t k = k0; k < k1; k += 2) {  // 8 columns: one 4-byte word of each weight row
        if (k % 32 == 0)  // a new line of each row: the next tile's rows' line, into L2
          for (int m = 0; m < MO; ++m) __builtin_prefetch(q4[m] + next + k * 2, 0, 2);
        __m512i xe[RV], xo[RV];
        for (int r = 0; r < RV; ++r) {
          xe[r] = _mm512_load_si512(xp[r] + k * 64);
          xo[r] = _mm512_load_si512(xp[r] + k * 64 + 64);
        }
#pragma GCC unroll 12
        for (int m = 0; m < MO; ++m) {
          const __m512i wb = _mm512_set1_epi32(load4(q4[m] + k * 2));
          const __m512i we = _mm512_and_si512(wb, low4);
          const __m512i wo = _mm512_and_si512(_mm512_srli_epi32(wb, 4), low4);
          for (int r = 0; r < RV; ++r) {
            acc[m][r] = dpbusd(acc[m][r], we, xe[r]);
            acc[m][r] = dpbusd(acc[m][r], wo, xo[r]);
          }
        }
      }
    } else {
      for (int64_t k = k0; k < k1; ++k) {
        if (k % 16 == 0)  // as above
          for (int m = 0; m < MO; ++m) __builtin_prefetch(q8[m] + next + k * 4, 0, 2);
        __m512i xv[RV];
        for (int r = 0; r < RV; ++r) xv[r] = _mm512_load_si512(xp[r] + k * 64);
#pragma GCC unroll 12
        for (int m = 0; m < MO; ++m) {
          const __m512i wv = _mm512_xor_si512(_mm512_set1_epi32(load4(q8[m] + k * 4)), flip);
          for (int r = 0; r < RV; ++r) acc[m][r] = dpbusd(acc[m][r], wv, xv[r]);
        }
      }
    }
    // Per block: the exact integer sum less zero x (the block's x code sum), in float (all
    // integers below 2^24, so exact), times weight scale x x's block scale. Unrolled so that
    // the int32 sums stay in registers (a loop here made GCC 12 spill them all, a third of
    // the tile's time).
    __m512 xs[RV], xsum[RV];
#pragma GCC unroll 4
    for (int r = 0; r < RV; ++r) {
      xs[r] = _mm512_loadu_ps(p.scales(g0 + r, b));
      xsum[r] = _mm512_loadu_ps(p.sums(g0 + r, b));
    }
#pragma GCC unroll 12
    for (int m = 0; m < MO; ++m) {
      const __m512 ws = _mm512_set1_ps(kInt4 ? gs[m][b] : w.channel_scale[o[m]]);
      const __m512 zero = _mm512_set1_ps(kInt4 ? static_cast<float>(gz[m][b]) : 128.0f);
#pragma GCC unroll 4
      for (int r = 0; r < RV; ++r) {
        const __m512 d = _mm512_fnmadd_ps(zero, xsum[r], _mm512_cvtepi32_ps(acc[m][r]));
        tot[m][r] = _mm512_fmadd_ps(d, _mm512_mul_ps(ws, xs[r]), tot[m][r]);
      }
    }
  }
  // The 16 rows of a group are the 16 lanes: through memory, then per row its mo outputs.
  for (int r = 0; r < RV; ++r) {
    alignas(64) float lanes[MO][kLanes];
#pragma GCC unroll 12
    for (int m = 0; m < MO; ++m) _mm512_store_ps(lanes[m], tot[m][r]);
    const int64_t row0 = (g0 + r) * kLanes, rows = std::min(kLanes, num_rows - row0);
    for (int64_t l = 0; l < rows; ++l) {
      float* yr = y + (row0 + l) * out + o0;
      for (int m = 0; m < mo; ++m) yr[m] = lanes[m][l];
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
  if (g_end - g_begin == 1)  // up to 16 rows: a wider tile of outputs
    return for_each_int_tile<12, 1>(o_begin, o_end, g_begin, g_end, tile);
  for_each_int_tile<6, 2>(o_begin, o_end, g_begin, g_end, tile);
}

}  // namespace

bool int_gemm_avx512vnni(const LinearWeight& w, const float* x, int64_t num_rows, float* y,
                         ThreadPool& pool) {
  PackedX p;
  if (!pack_x(w, x, num_rows, pool, p)) return false;
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

#pragma GCC diagnostic pop
#pragma GCC pop_options

#else  // not x86: never selected (isa_available(kAvx512Vnni) is false)

namespace fathom::kernels::cpu {
bool int_gemm_avx512vnni(const LinearWeight&, const float*, int64_t, float*, ThreadPool&) {
  return false;
}
}  // namespace fathom::kernels::cpu

#endif
