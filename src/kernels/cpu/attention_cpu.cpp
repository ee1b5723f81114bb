// Fast causal attention over the paged cache (issue 15, item 4), the reference
// (kernels/ref/attention.cpp) being its oracle. The query rows that read the same cache rows
// are processed together, so each key and value is read once for all of them: GQA's heads
// sharing a KV head, in absorbed MLA every head of a token (they all attend over the shared
// latent), and in a prefill up to kTaskRows rows of consecutive tokens of one sequence.
// Keys are taken in tiles of kTile with an online softmax (running max and sum, rescaled once
// per tile): no [T, T] score matrix, memory per task O(rows x (kTile + key_dim + value_dim)).
// Per tile, two small GEMMs: scores[rows][kTile] = Q . K^T and acc[rows][value_dim] +=
// P . V. On x86 (AVX2+FMA+F16C, also what AVX-512 CPUs run) both keep their sums in registers
// (6 rows x 2 keys of 8-lane dot products; 6 rows x 16 value dims), the exp is a polynomial
// on 8 lanes (exp_simd.h); elsewhere (NEON, portable) they are loops over one dot product or
// one axpy at a time. Rows whose context ends inside a tile get zero weight past it.
// Tasks: (token chunk, KV head) for GQA, token chunks for MLA; decode rows are chunks of one.
// They are claimed longest context first; with fewer tasks than threads each task's keys are
// split into ranges attended apart and merged (run_tasks: flash-decoding).
//
// Cache entries are float, bf16 or fp8 e4m3 (KvDtype) and are widened to float in registers:
// bf16 by a 16-bit shift; e4m3 s.eeee.mmm re-packed as the f16 s.0eeee.mmm0000000 (the value
// / 256, exact for normals and subnormals alike) and widened by vcvtph2ps / fcvtl. The factor
// 256 x cache.scale is applied once to each score and to each output, not per element.
// FATHOM_CPU_ISA caps the path like the linear kernels'.
#include "kernels/cpu/attention_cpu.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <span>
#include <type_traits>
#include <utility>
#include <vector>

#include "kernels/cpu/exp_simd.h"
#include "kernels/cpu/hsum_avx.h"
#include "tensor/dtype.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#elif defined(__aarch64__)
#include <arm_neon.h>
#endif

namespace fathom::kernels::cpu {
namespace {

constexpr int32_t kTile = 64;      // keys per tile
constexpr int64_t kTaskRows = 64;  // query rows per task at most (whole tokens' head groups)

// A stored element as a float in the kernels' units (e4m3: value / 256, as the SIMD paths
// decode it).
inline float widen(float x) { return x; }
inline float widen(uint16_t bf16) { return bf16_to_f32(bf16); }
inline float widen(uint8_t e4m3) { return e4m3_to_f32(e4m3) * (1.0f / 256.0f); }

// What multiplies a widened element to give the stored value.
float units(const PagedCache& c) { return c.dtype == KvDtype::kFp8 ? 256.0f * c.scale : 1.0f; }

// The tile kernels of one path, for cache elements T. Scores and weights are [rows][kTile].
template <class T>
struct Ops {
  // s[r][j] = q[r] . key_j (q rows key_dim apart) for r < rows, j < n.
  void (*scores)(const float* q, int64_t rows, int64_t key_dim, const T* const* keys, int32_t n,
                 float* s);
  // acc[r] += sum over j < n of p[r][j] value_j (acc rows value_dim apart).
  void (*accumulate)(const float* p, int64_t rows, int64_t value_dim, const T* const* values,
                     int32_t n, float* acc);
  // s[j] = exp(s[j] - m) for j < n (every s[j] <= m); returns their sum.
  float (*exp_sum)(float* s, int32_t n, float m);
};

// ---- one dot product or one axpy at a time (portable, NEON) -----------------------------------

template <class T, float (*Dot)(const float*, const T*, int64_t)>
void scores_by_dot(const float* q, int64_t rows, int64_t key_dim, const T* const* keys, int32_t n,
                   float* s) {
  for (int32_t j = 0; j < n; ++j)
    for (int64_t r = 0; r < rows; ++r) s[r * kTile + j] = Dot(q + r * key_dim, keys[j], key_dim);
}

template <class T, void (*Axpy)(float*, float, const T*, int64_t)>
void accumulate_by_axpy(const float* p, int64_t rows, int64_t value_dim, const T* const* values,
                        int32_t n, float* acc) {
  for (int32_t j = 0; j < n; ++j)
    for (int64_t r = 0; r < rows; ++r)
      if (p[r * kTile + j] != 0.0f)
        Axpy(acc + r * value_dim, p[r * kTile + j], values[j], value_dim);
}

float exp_sum_portable(float* s, int32_t n, float m) {
  float sum = 0.0f;
  for (int32_t j = 0; j < n; ++j) sum += s[j] = std::exp(s[j] - m);
  return sum;
}

template <class T>
float dot_portable(const float* a, const T* b, int64_t n) {
  float p[4] = {0, 0, 0, 0};  // four chains: no serial add dependency
  int64_t i = 0;
  for (; i + 4 <= n; i += 4)
    for (int k = 0; k < 4; ++k) p[k] += a[i + k] * widen(b[i + k]);
  for (; i < n; ++i) p[0] += a[i] * widen(b[i]);
  return (p[0] + p[1]) + (p[2] + p[3]);
}

// o += w v
template <class T>
void axpy_portable(float* o, float w, const T* v, int64_t n) {
  for (int64_t i = 0; i < n; ++i) o[i] += w * widen(v[i]);
}

#if defined(__aarch64__)
// Eight elements as two float32x4.
inline float32x4x2_t load8(const float* p) { return {vld1q_f32(p), vld1q_f32(p + 4)}; }
inline float32x4x2_t load8(const uint16_t* p) {
  const uint16x8_t h = vld1q_u16(p);
  return {vreinterpretq_f32_u32(vshll_n_u16(vget_low_u16(h), 16)),
          vreinterpretq_f32_u32(vshll_n_u16(vget_high_u16(h), 16))};
}
inline float32x4x2_t load8(const uint8_t* p) {
  const uint16x8_t b = vmovl_u8(vld1_u8(p));
  const uint16x8_t h = vorrq_u16(vshlq_n_u16(vandq_u16(b, vdupq_n_u16(0x80)), 8),
                                 vshlq_n_u16(vandq_u16(b, vdupq_n_u16(0x7f)), 7));
  return {vcvt_f32_f16(vreinterpret_f16_u16(vget_low_u16(h))),
          vcvt_f32_f16(vreinterpret_f16_u16(vget_high_u16(h)))};
}

template <class T>
float dot_neon(const float* a, const T* b, int64_t n) {
  float32x4_t s0 = vdupq_n_f32(0.0f), s1 = s0;
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const float32x4x2_t v = load8(b + i);
    s0 = vfmaq_f32(s0, vld1q_f32(a + i), v.val[0]);
    s1 = vfmaq_f32(s1, vld1q_f32(a + i + 4), v.val[1]);
  }
  float r = vaddvq_f32(vaddq_f32(s0, s1));
  for (; i < n; ++i) r += a[i] * widen(b[i]);
  return r;
}

template <class T>
void axpy_neon(float* o, float w, const T* v, int64_t n) {
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const float32x4x2_t x = load8(v + i);
    vst1q_f32(o + i, vfmaq_n_f32(vld1q_f32(o + i), x.val[0], w));
    vst1q_f32(o + i + 4, vfmaq_n_f32(vld1q_f32(o + i + 4), x.val[1], w));
  }
  for (; i < n; ++i) o[i] += w * widen(v[i]);
}
#endif

// ---- x86: register-blocked tiles ----------------------------------------------------------------

#if defined(__x86_64__) || defined(__i386__)
#define FATHOM_AVX2 __attribute__((target("avx2,fma,f16c")))

FATHOM_AVX2 inline __m128i e4m3_as_f16(__m128i b16) {  // 8 x u16, one e4m3 byte each
  return _mm_or_si128(_mm_slli_epi16(_mm_and_si128(b16, _mm_set1_epi16(0x80)), 8),
                      _mm_slli_epi16(_mm_and_si128(b16, _mm_set1_epi16(0x7f)), 7));
}

FATHOM_AVX2 inline __m256 load8(const float* p) { return _mm256_loadu_ps(p); }
FATHOM_AVX2 inline __m256 load8(const uint16_t* p) {
  const __m128i h = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
  return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16));
}
FATHOM_AVX2 inline __m256 load8(const uint8_t* p) {
  const __m128i b = _mm_loadl_epi64(reinterpret_cast<const __m128i*>(p));
  return _mm256_cvtph_ps(e4m3_as_f16(_mm_cvtepu8_epi16(b)));
}

// s[r][c] = q[r] . keys[c] for MR rows and NK keys: MR x NK sums of 8 lanes in registers, each
// key vector widened once for all rows.
template <class T, int MR, int NK>
FATHOM_AVX2 void scores_block(const float* q, int64_t key_dim, const T* const* keys, float* s) {
  __m256 acc[MR][NK];
#pragma GCC unroll 6
  for (int r = 0; r < MR; ++r)
#pragma GCC unroll 2
    for (int c = 0; c < NK; ++c) acc[r][c] = _mm256_setzero_ps();
  const int64_t d8 = key_dim & ~int64_t{7};
  for (int64_t i = 0; i < d8; i += 8) {
    __m256 k[NK];
#pragma GCC unroll 2
    for (int c = 0; c < NK; ++c) k[c] = load8(keys[c] + i);
#pragma GCC unroll 6
    for (int r = 0; r < MR; ++r) {
      const __m256 qv = _mm256_loadu_ps(q + r * key_dim + i);
#pragma GCC unroll 2
      for (int c = 0; c < NK; ++c) acc[r][c] = _mm256_fmadd_ps(qv, k[c], acc[r][c]);
    }
  }
  for (int r = 0; r < MR; ++r)
    for (int c = 0; c < NK; ++c) {
      float v = hsum8(acc[r][c]);
      for (int64_t i = d8; i < key_dim; ++i) v += q[r * key_dim + i] * widen(keys[c][i]);
      s[r * kTile + c] = v;
    }
}

template <class T, int MR>
FATHOM_AVX2 void scores_rows(const float* q, int64_t key_dim, const T* const* keys, int32_t n,
                             float* s) {
  int32_t j = 0;
  for (; j + 2 <= n; j += 2) scores_block<T, MR, 2>(q, key_dim, keys + j, s + j);
  if (j < n) scores_block<T, MR, 1>(q, key_dim, keys + j, s + j);
}

// block(std::integral_constant<int, MR>{}, r) over rows [0, rows) in blocks of MR = 6 rows, the
// last block's 1-5 rows with their own MR.
template <class Block>
void by_row_blocks(int64_t rows, Block&& block) {
  int64_t r = 0;
  for (; r + 6 <= rows; r += 6) block(std::integral_constant<int, 6>{}, r);
  switch (rows - r) {
    case 5:
      return block(std::integral_constant<int, 5>{}, r);
    case 4:
      return block(std::integral_constant<int, 4>{}, r);
    case 3:
      return block(std::integral_constant<int, 3>{}, r);
    case 2:
      return block(std::integral_constant<int, 2>{}, r);
    case 1:
      return block(std::integral_constant<int, 1>{}, r);
    default:
      return;
  }
}

template <class T>
void scores_avx2(const float* q, int64_t rows, int64_t key_dim, const T* const* keys, int32_t n,
                 float* s) {
  by_row_blocks(rows, [&](auto mr, int64_t r) {
    scores_rows<T, mr()>(q + r * key_dim, key_dim, keys, n, s + r * kTile);
  });
}

// acc[r][d0, d0 + 8 NV) += sum over j < n of p[r][j] values[j][d0, ...) for MR rows: MR x NV
// vectors in registers over the whole tile, each value vector widened once for all rows.
template <class T, int MR, int NV>
FATHOM_AVX2 void accumulate_block(const float* p, const T* const* values, int64_t d0, int32_t n,
                                  float* acc, int64_t value_dim) {
  __m256 o[MR][NV];
#pragma GCC unroll 6
  for (int r = 0; r < MR; ++r)
#pragma GCC unroll 2
    for (int v = 0; v < NV; ++v) o[r][v] = _mm256_loadu_ps(acc + r * value_dim + d0 + 8 * v);
  for (int32_t j = 0; j < n; ++j) {
    __m256 x[NV];
#pragma GCC unroll 2
    for (int v = 0; v < NV; ++v) x[v] = load8(values[j] + d0 + 8 * v);
#pragma GCC unroll 6
    for (int r = 0; r < MR; ++r) {
      const __m256 w = _mm256_broadcast_ss(p + r * kTile + j);
#pragma GCC unroll 2
      for (int v = 0; v < NV; ++v) o[r][v] = _mm256_fmadd_ps(w, x[v], o[r][v]);
    }
  }
#pragma GCC unroll 6
  for (int r = 0; r < MR; ++r)
#pragma GCC unroll 2
    for (int v = 0; v < NV; ++v) _mm256_storeu_ps(acc + r * value_dim + d0 + 8 * v, o[r][v]);
}

template <class T, int MR>
FATHOM_AVX2 void accumulate_rows(const float* p, int64_t value_dim, const T* const* values,
                                 int32_t n, float* acc) {
  int64_t d = 0;
  for (; d + 16 <= value_dim; d += 16) accumulate_block<T, MR, 2>(p, values, d, n, acc, value_dim);
  if (d + 8 <= value_dim) {
    accumulate_block<T, MR, 1>(p, values, d, n, acc, value_dim);
    d += 8;
  }
  for (; d < value_dim; ++d)
    for (int r = 0; r < MR; ++r) {
      float sum = acc[r * value_dim + d];
      for (int32_t j = 0; j < n; ++j) sum += p[r * kTile + j] * widen(values[j][d]);
      acc[r * value_dim + d] = sum;
    }
}

template <class T>
void accumulate_avx2(const float* p, int64_t rows, int64_t value_dim, const T* const* values,
                     int32_t n, float* acc) {
  by_row_blocks(rows, [&](auto mr, int64_t r) {
    accumulate_rows<T, mr()>(p + r * kTile, value_dim, values, n, acc + r * value_dim);
  });
}

FATHOM_AVX2 float exp_sum_avx2(float* s, int32_t n, float m) {
  const __m256 mv = _mm256_set1_ps(m);
  __m256 sum = _mm256_setzero_ps();
  int32_t j = 0;
  for (; j + 8 <= n; j += 8) {
    const __m256 e = exp_neg(_mm256_sub_ps(_mm256_loadu_ps(s + j), mv));
    _mm256_storeu_ps(s + j, e);
    sum = _mm256_add_ps(sum, e);
  }
  float total = hsum8(sum);
  for (; j < n; ++j) total += s[j] = std::exp(s[j] - m);
  return total;
}
#endif

template <class T>
Ops<T> ops_for(Isa isa) {
  switch (float_isa(isa)) {
#if defined(__x86_64__) || defined(__i386__)
    case Isa::kAvx512:
    case Isa::kAvx2:
      return {&scores_avx2<T>, &accumulate_avx2<T>, &exp_sum_avx2};
#elif defined(__aarch64__)
    case Isa::kNeon:
    case Isa::kNeonDotprod:
    case Isa::kNeonI8mm:
      return {&scores_by_dot<T, &dot_neon<T>>, &accumulate_by_axpy<T, &axpy_neon<T>>,
              &exp_sum_portable};
#endif
    default:
      return {&scores_by_dot<T, &dot_portable<T>>, &accumulate_by_axpy<T, &axpy_portable<T>>,
              &exp_sum_portable};
  }
}

// One task's rows: their queries, context lengths and outputs, and the tile scratch.
template <class T>
struct RowsState {
  std::vector<float> q, scores, acc, run_max;
  std::vector<double> run_sum;
  std::vector<int32_t> ctx;
  std::vector<float*> out;
  std::vector<const T*> keys, values;
  RowsState(int64_t max_rows, int64_t key_dim, int64_t value_dim)
      : q(static_cast<size_t>(max_rows * key_dim)),
        scores(static_cast<size_t>(max_rows * kTile)),
        acc(static_cast<size_t>(max_rows * value_dim)),
        run_max(static_cast<size_t>(max_rows)),
        run_sum(static_cast<size_t>(max_rows)),
        ctx(static_cast<size_t>(max_rows)),
        out(static_cast<size_t>(max_rows)),
        keys(kTile),
        values(kTile) {}
};

// What a task attends with: its rows (filled into st: q, ctx, out), the sequence's block table
// and where a key and a value sit in a cache entry.
struct TaskRows {
  int64_t rows;
  const std::vector<int32_t>* table;
  int64_t key_off, value_off;
};

// Causal attention of `rows` query rows of one sequence (st.q, key_dim apart) over its cache
// positions [k_begin, k_end): row r sees those below st.ctx[r]; a key is the entry's key_dim
// elements from key_off, a value its value_dim elements from value_off; score = q . key x
// score_scale. Leaves each row's running max, sum and unnormalised output sum in st.
template <class T>
void attend(const Ops<T>& ops, const PagedCache& cache, const TaskRows& task, int64_t key_dim,
            int64_t value_dim, int32_t k_begin, int32_t k_end, float score_scale,
            RowsState<T>& st) {
  const int64_t rows = task.rows;
  const int32_t ctx = std::min(k_end, *std::max_element(st.ctx.begin(), st.ctx.begin() + rows));
  std::fill_n(st.acc.begin(), rows * value_dim, 0.0f);
  std::fill_n(st.run_max.begin(), rows, -std::numeric_limits<float>::infinity());
  std::fill_n(st.run_sum.begin(), rows, 0.0);
  for (int32_t j0 = k_begin; j0 < ctx; j0 += kTile) {
    const int32_t n = std::min(kTile, ctx - j0);
    for (int32_t j = 0; j < n; ++j) {
      const T* e = cache.entry_as<T>(*task.table, j0 + j);
      st.keys[j] = e + task.key_off;
      st.values[j] = e + task.value_off;
    }
    ops.scores(st.q.data(), rows, key_dim, st.keys.data(), n, st.scores.data());
    for (int64_t r = 0; r < rows; ++r) {
      float* s = st.scores.data() + r * kTile;
      const int32_t seen = std::clamp(st.ctx[r] - j0, 0, n);  // keys this row may see
      std::fill(s + seen, s + n, 0.0f);
      if (seen == 0) continue;
      float m = st.run_max[r];
      for (int32_t j = 0; j < seen; ++j) m = std::max(m, s[j] *= score_scale);
      const float keep = std::exp(st.run_max[r] - m);  // exp(-inf) = 0 on the first tile
      st.run_max[r] = m;
      st.run_sum[r] = st.run_sum[r] * keep + ops.exp_sum(s, seen, m);
      if (keep != 1.0f)
        for (float& a : std::span(st.acc.data() + r * value_dim, value_dim)) a *= keep;
    }
    ops.accumulate(st.scores.data(), rows, value_dim, st.values.data(), n, st.acc.data());
  }
}

// Tasks of up to `tokens_per_task` consecutive tokens of one sequence: [first token, end), the
// longest contexts first, so the pool's last claims are the short tasks (a causal prefill's work
// per chunk grows with its position).
std::vector<std::pair<int64_t, int64_t>> token_chunks(const TokenLayout& tokens,
                                                      int64_t tokens_per_task) {
  std::vector<std::pair<int64_t, int64_t>> chunks;
  for (int64_t t = 0; t < tokens.num_tokens;) {
    int64_t end = t + 1;
    while (end < tokens.num_tokens && end - t < tokens_per_task &&
           tokens.seq_idx[end] == tokens.seq_idx[t])
      ++end;
    chunks.emplace_back(t, end);
    t = end;
  }
  const auto last_ctx = [&](const std::pair<int64_t, int64_t>& c) {
    return tokens.positions[c.second - 1];
  };
  std::stable_sort(chunks.begin(), chunks.end(),
                   [&](const auto& a, const auto& b) { return last_ctx(a) > last_ctx(b); });
  return chunks;
}

int32_t max_context(const TokenLayout& tokens) {
  int32_t ctx = 0;
  for (int64_t t = 0; t < tokens.num_tokens; ++t) ctx = std::max(ctx, tokens.positions[t] + 1);
  return ctx;
}

// Every task's attention, fill(task, st) giving its rows. With fewer tasks than threads (a
// decode step of few sequences: one task per KV head, or per token in MLA), each task's keys are
// split into ranges of whole tiles, one per thread (flash-decoding), and the ranges' partial
// results merged: out = sum_p acc_p e^(m_p - M) / sum_p sum_p e^(m_p - M).
template <class T, class Fill>
void run_tasks(const Ops<T>& ops, const PagedCache& cache, int64_t num_tasks, int64_t max_rows,
               int64_t key_dim, int64_t value_dim, int32_t max_ctx, float score_scale,
               float out_units, ThreadPool& pool, Fill&& fill) {
  const auto finish = [&](const RowsState<T>& st, int64_t rows) {
    for (int64_t r = 0; r < rows; ++r) {
      const float inv = static_cast<float>(out_units / st.run_sum[r]);
      for (int64_t i = 0; i < value_dim; ++i) st.out[r][i] = st.acc[r * value_dim + i] * inv;
    }
  };
  const int64_t threads = pool.num_threads();
  const int64_t tiles = (max_ctx + kTile - 1) / kTile;
  const int64_t splits =
      num_tasks >= threads ? 1 : std::min((threads + num_tasks - 1) / num_tasks, tiles / 2);
  if (splits <= 1) {
    pool.parallel_for(num_tasks, [&](int64_t begin, int64_t end) {
      RowsState<T> st(max_rows, key_dim, value_dim);
      for (int64_t t = begin; t < end; ++t) {
        const TaskRows task = fill(t, st);
        attend(ops, cache, task, key_dim, value_dim, 0, max_ctx, score_scale, st);
        finish(st, task.rows);
      }
    });
    return;
  }
  const int32_t span = static_cast<int32_t>((tiles + splits - 1) / splits) * kTile;
  const int64_t parts = num_tasks * splits;
  std::vector<float> part_acc(static_cast<size_t>(parts * max_rows * value_dim));
  std::vector<float> part_max(static_cast<size_t>(parts * max_rows));
  std::vector<double> part_sum(part_max.size());
  pool.parallel_for(parts, [&](int64_t begin, int64_t end) {
    RowsState<T> st(max_rows, key_dim, value_dim);
    for (int64_t p = begin; p < end; ++p) {
      const TaskRows task = fill(p / splits, st);
      const int32_t k0 = static_cast<int32_t>(p % splits) * span;
      attend(ops, cache, task, key_dim, value_dim, k0, k0 + span, score_scale, st);
      std::copy_n(st.acc.begin(), task.rows * value_dim,
                  part_acc.begin() + p * max_rows * value_dim);
      std::copy_n(st.run_max.begin(), task.rows, part_max.begin() + p * max_rows);
      std::copy_n(st.run_sum.begin(), task.rows, part_sum.begin() + p * max_rows);
    }
  });
  pool.parallel_for(num_tasks, [&](int64_t begin, int64_t end) {
    RowsState<T> st(max_rows, key_dim, value_dim);
    for (int64_t t = begin; t < end; ++t) {
      const int64_t rows = fill(t, st).rows;
      for (int64_t r = 0; r < rows; ++r) {
        float m = -std::numeric_limits<float>::infinity();
        for (int64_t p = t * splits; p < (t + 1) * splits; ++p)
          m = std::max(m, part_max[p * max_rows + r]);
        double sum = 0;
        float* acc = st.acc.data() + r * value_dim;
        std::fill_n(acc, value_dim, 0.0f);
        for (int64_t p = t * splits; p < (t + 1) * splits; ++p) {
          const size_t i = static_cast<size_t>(p * max_rows + r);
          if (part_sum[i] == 0) continue;  // a range past this row's context
          const float w = std::exp(part_max[i] - m);
          sum += part_sum[i] * w;
          const float* pa = part_acc.data() + i * value_dim;
          for (int64_t d = 0; d < value_dim; ++d) acc[d] += pa[d] * w;
        }
        st.run_sum[r] = sum;
      }
      finish(st, rows);
    }
  });
}

template <class T>
void mha(const MhaShape& shape, const TokenLayout& tokens, const PagedCache& cache, const float* q,
         float* out, ThreadPool& pool, Isa isa) {
  const int64_t hd = shape.head_dim, nh = shape.num_heads, nkv = shape.num_kv_heads;
  const int64_t group = nh / nkv, per_task = std::max<int64_t>(1, kTaskRows / group);
  const auto chunks = token_chunks(tokens, per_task);
  const float u = units(cache);
  // One task: a chunk of tokens and a KV head, with the query heads that share it (adjacent in q).
  run_tasks(ops_for<T>(isa), cache, static_cast<int64_t>(chunks.size()) * nkv, per_task * group, hd,
            hd, max_context(tokens), shape.scale * u, u, pool, [&](int64_t task, RowsState<T>& st) {
              const auto [t0, t1] = chunks[task / nkv];
              const int64_t kvh = task % nkv;
              int64_t rows = 0;
              for (int64_t t = t0; t < t1; ++t)
                for (int64_t g = 0; g < group; ++g, ++rows) {
                  const int64_t head = t * nh + kvh * group + g;
                  std::copy_n(q + head * hd, hd, st.q.data() + rows * hd);
                  st.ctx[rows] = tokens.positions[t] + 1;
                  st.out[rows] = out + head * hd;
                }
              return TaskRows{rows, &(*tokens.block_tables)[tokens.seq_idx[t0]], kvh * hd,
                              (nkv + kvh) * hd};
            });
}

template <class T>
void mla(const MlaShape& shape, const TokenLayout& tokens, const PagedCache& cache,
         const float* q_latent, const float* q_rope, float* out, ThreadPool& pool, Isa isa) {
  const int64_t lr = shape.kv_lora_rank, rd = shape.rope_dim, nh = shape.num_heads;
  const int64_t kd = lr + rd;  // a key is the whole entry [latent | rope], a value its latent
  const int64_t per_task = std::max<int64_t>(1, kTaskRows / nh);
  const auto chunks = token_chunks(tokens, per_task);
  const float u = units(cache);
  // Every head reads the same latent cache entry: one task is a chunk of tokens, all heads.
  run_tasks(ops_for<T>(isa), cache, static_cast<int64_t>(chunks.size()), per_task * nh, kd, lr,
            max_context(tokens), shape.scale * u, u, pool, [&](int64_t c, RowsState<T>& st) {
              const auto [t0, t1] = chunks[c];
              int64_t rows = 0;
              for (int64_t t = t0; t < t1; ++t)
                for (int64_t h = 0; h < nh; ++h, ++rows) {
                  const int64_t th = t * nh + h;
                  std::copy_n(q_latent + th * lr, lr, st.q.data() + rows * kd);
                  std::copy_n(q_rope + th * rd, rd, st.q.data() + rows * kd + lr);
                  st.ctx[rows] = tokens.positions[t] + 1;
                  st.out[rows] = out + th * lr;
                }
              return TaskRows{rows, &(*tokens.block_tables)[tokens.seq_idx[t0]], 0, 0};
            });
}

}  // namespace

void paged_attention_cpu(const MhaShape& shape, const TokenLayout& tokens, const PagedCache& cache,
                         const float* q, float* out, ThreadPool& pool, Isa isa) {
  switch (cache.dtype) {
    case KvDtype::kF32:
      return mha<float>(shape, tokens, cache, q, out, pool, isa);
    case KvDtype::kBf16:
      return mha<uint16_t>(shape, tokens, cache, q, out, pool, isa);
    case KvDtype::kFp8:
      return mha<uint8_t>(shape, tokens, cache, q, out, pool, isa);
  }
}

void paged_mla_attention_cpu(const MlaShape& shape, const TokenLayout& tokens,
                             const PagedCache& cache, const float* q_latent, const float* q_rope,
                             float* out, ThreadPool& pool, Isa isa) {
  switch (cache.dtype) {
    case KvDtype::kF32:
      return mla<float>(shape, tokens, cache, q_latent, q_rope, out, pool, isa);
    case KvDtype::kBf16:
      return mla<uint16_t>(shape, tokens, cache, q_latent, q_rope, out, pool, isa);
    case KvDtype::kFp8:
      return mla<uint8_t>(shape, tokens, cache, q_latent, q_rope, out, pool, isa);
  }
}

}  // namespace fathom::kernels::cpu
