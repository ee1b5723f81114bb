// Fast causal attention over the paged cache (issue 15, item 4), the reference
// (kernels/ref/attention.cpp) being its oracle. The query heads that read the same cache rows
// are processed together, so each row is read once for all of them: GQA's heads sharing a KV
// head, and in absorbed MLA every head of a token (they all attend over the shared latent).
// Keys are taken in tiles of kTile with an online softmax (running max and sum, rescaled once
// per tile): no [T, T] score matrix, and memory per task is O(heads x (kTile + value_dim)).
// Tasks: (token, KV head) for GQA, tokens for MLA -- decode splits sequences x KV heads,
// prefill every query row of every head group.
//
// Cache entries are float, bf16 or fp8 e4m3 (KvDtype) and are widened to float in registers:
// bf16 by a 16-bit shift; e4m3 s.eeee.mmm re-packed as the f16 s.0eeee.mmm0000000 (the value
// / 256, exact for normals and subnormals alike) and widened by vcvtph2ps / fcvtl. The factor
// 256 x cache.scale is applied once to each score and to each output, not per element.
// Paths: AVX-512F (16 lanes), AVX2+FMA+F16C (8), NEON (aarch64), portable; run-time dispatch on
// Isa (FATHOM_CPU_ISA caps it, like the linear kernels).
#include "kernels/cpu/attention_cpu.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "tensor/dtype.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#elif defined(__aarch64__)
#include <arm_neon.h>
#endif

namespace fathom::kernels::cpu {
namespace {

constexpr int32_t kTile = 64;

// A stored element as a float in the kernels' units (e4m3: value / 256, as the SIMD paths
// decode it).
inline float widen(float x) { return x; }
inline float widen(uint16_t bf16) { return bf16_to_f32(bf16); }
inline float widen(uint8_t e4m3) { return e4m3_to_f32(e4m3) * (1.0f / 256.0f); }

// What multiplies a widened element to give the stored value.
float units(const PagedCache& c) { return c.dtype == KvDtype::kFp8 ? 256.0f * c.scale : 1.0f; }

template <class T>
float dot_portable(const float* a, const T* b, int64_t n) {
  float p[4] = {0, 0, 0, 0};  // four chains: no serial add dependency
  int64_t i = 0;
  for (; i + 4 <= n; i += 4)
    for (int k = 0; k < 4; ++k) p[k] += a[i + k] * widen(b[i + k]);
  for (; i < n; ++i) p[0] += a[i] * widen(b[i]);
  return (p[0] + p[1]) + (p[2] + p[3]);
}

// o = o * keep + w * v
template <class T>
void scale_axpy_portable(float* o, float keep, float w, const T* v, int64_t n) {
  for (int64_t i = 0; i < n; ++i) o[i] = o[i] * keep + w * widen(v[i]);
}

#if defined(__x86_64__) || defined(__i386__)
#define FATHOM_AVX2 __attribute__((target("avx2,fma,f16c")))
#define FATHOM_AVX512 __attribute__((target("avx512f,avx2,fma,f16c")))

FATHOM_AVX2 inline __m128i e4m3_as_f16(__m128i b16) {  // 8 x u16, one e4m3 byte each
  return _mm_or_si128(_mm_slli_epi16(_mm_and_si128(b16, _mm_set1_epi16(0x80)), 8),
                      _mm_slli_epi16(_mm_and_si128(b16, _mm_set1_epi16(0x7f)), 7));
}
FATHOM_AVX2 inline __m256i e4m3_as_f16(__m256i b16) {  // 16 x u16
  return _mm256_or_si256(_mm256_slli_epi16(_mm256_and_si256(b16, _mm256_set1_epi16(0x80)), 8),
                         _mm256_slli_epi16(_mm256_and_si256(b16, _mm256_set1_epi16(0x7f)), 7));
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

template <class T>
FATHOM_AVX2 float dot_avx2(const float* a, const T* b, int64_t n) {
  __m256 s0 = _mm256_setzero_ps(), s1 = _mm256_setzero_ps();
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    s0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), load8(b + i), s0);
    s1 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 8), load8(b + i + 8), s1);
  }
  for (; i + 8 <= n; i += 8) s0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), load8(b + i), s0);
  s0 = _mm256_add_ps(s0, s1);
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(s0), _mm256_extractf128_ps(s0, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  float r = _mm_cvtss_f32(s);
  for (; i < n; ++i) r += a[i] * widen(b[i]);
  return r;
}

template <class T>
FATHOM_AVX2 void scale_axpy_avx2(float* o, float keep, float w, const T* v, int64_t n) {
  const __m256 k = _mm256_set1_ps(keep), wv = _mm256_set1_ps(w);
  int64_t i = 0;
  for (; i + 8 <= n; i += 8)
    _mm256_storeu_ps(o + i,
                     _mm256_fmadd_ps(wv, load8(v + i), _mm256_mul_ps(_mm256_loadu_ps(o + i), k)));
  for (; i < n; ++i) o[i] = o[i] * keep + w * widen(v[i]);
}

#pragma GCC diagnostic push  // GCC 12's _mm512_undefined_* (as in linear_cpu_avx512.cpp)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
FATHOM_AVX512 inline __m512 load16(const float* p) { return _mm512_loadu_ps(p); }
FATHOM_AVX512 inline __m512 load16(const uint16_t* p) {
  const __m256i h = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p));
  return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
}
FATHOM_AVX512 inline __m512 load16(const uint8_t* p) {
  const __m128i b = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
  return _mm512_cvtph_ps(e4m3_as_f16(_mm256_cvtepu8_epi16(b)));
}

template <class T>
FATHOM_AVX512 float dot_avx512(const float* a, const T* b, int64_t n) {
  __m512 s0 = _mm512_setzero_ps(), s1 = _mm512_setzero_ps();
  int64_t i = 0;
  for (; i + 32 <= n; i += 32) {
    s0 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i), load16(b + i), s0);
    s1 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i + 16), load16(b + i + 16), s1);
  }
  for (; i + 16 <= n; i += 16) s0 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i), load16(b + i), s0);
  float r = _mm512_reduce_add_ps(_mm512_add_ps(s0, s1));
  for (; i < n; ++i) r += a[i] * widen(b[i]);
  return r;
}

template <class T>
FATHOM_AVX512 void scale_axpy_avx512(float* o, float keep, float w, const T* v, int64_t n) {
  const __m512 k = _mm512_set1_ps(keep), wv = _mm512_set1_ps(w);
  int64_t i = 0;
  for (; i + 16 <= n; i += 16)
    _mm512_storeu_ps(o + i,
                     _mm512_fmadd_ps(wv, load16(v + i), _mm512_mul_ps(_mm512_loadu_ps(o + i), k)));
  for (; i < n; ++i) o[i] = o[i] * keep + w * widen(v[i]);
}
#pragma GCC diagnostic pop
#endif

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
void scale_axpy_neon(float* o, float keep, float w, const T* v, int64_t n) {
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const float32x4x2_t x = load8(v + i);
    vst1q_f32(o + i, vfmaq_n_f32(vmulq_n_f32(vld1q_f32(o + i), keep), x.val[0], w));
    vst1q_f32(o + i + 4, vfmaq_n_f32(vmulq_n_f32(vld1q_f32(o + i + 4), keep), x.val[1], w));
  }
  for (; i < n; ++i) o[i] = o[i] * keep + w * widen(v[i]);
}
#endif

template <class T>
struct Ops {
  float (*dot)(const float*, const T*, int64_t);
  void (*scale_axpy)(float*, float, float, const T*, int64_t);
};

template <class T>
Ops<T> ops_for(Isa isa) {
  switch (float_isa(isa)) {
#if defined(__x86_64__) || defined(__i386__)
    case Isa::kAvx512:
      return {&dot_avx512<T>, &scale_axpy_avx512<T>};
    case Isa::kAvx2:
      return {&dot_avx2<T>, &scale_axpy_avx2<T>};
#elif defined(__aarch64__)
    case Isa::kNeon:
    case Isa::kNeonDotprod:
    case Isa::kNeonI8mm:
      return {&dot_neon<T>, &scale_axpy_neon<T>};
#endif
    default:
      return {&dot_portable<T>, &scale_axpy_portable<T>};
  }
}

// Scratch for one task's group of heads.
struct GroupState {
  std::vector<float> scores, acc, run_max, keep;
  std::vector<double> run_sum;
  GroupState(int64_t group, int64_t value_dim)
      : scores(static_cast<size_t>(group * kTile)),
        acc(static_cast<size_t>(group * value_dim)),
        run_max(static_cast<size_t>(group)),
        keep(static_cast<size_t>(group)),
        run_sum(static_cast<size_t>(group)) {}
};

// Causal attention of `group` query heads over positions 0..ctx-1 of one sequence, keys in
// tiles with an online softmax (a new running max rescales what was summed so far, once per
// tile). score(g, entry): head g's scaled score against a stored cache entry; value(entry):
// its value vector of value_dim elements. Writes head g's output, times `out_units`, to out(g).
template <class T, class Score, class Value, class Out>
void attend(const Ops<T>& ops, const PagedCache& cache, const std::vector<int32_t>& table,
            int32_t ctx, int64_t group, int64_t value_dim, float out_units, GroupState& st,
            Score&& score, Value&& value, Out&& out) {
  std::fill(st.acc.begin(), st.acc.end(), 0.0f);
  std::fill(st.run_max.begin(), st.run_max.end(), -std::numeric_limits<float>::infinity());
  std::fill(st.run_sum.begin(), st.run_sum.end(), 0.0);
  for (int32_t j0 = 0; j0 < ctx; j0 += kTile) {
    const int32_t n = std::min(kTile, ctx - j0);
    for (int32_t j = 0; j < n; ++j) {
      const T* e = cache.entry_as<T>(table, j0 + j);
      for (int64_t g = 0; g < group; ++g) st.scores[g * kTile + j] = score(g, e);
    }
    for (int64_t g = 0; g < group; ++g) {
      float* s = st.scores.data() + g * kTile;
      const float m = std::max(st.run_max[g], *std::max_element(s, s + n));
      st.keep[g] = std::exp(st.run_max[g] - m);  // exp(-inf) = 0 on the first tile
      st.run_max[g] = m;
      double sum = 0;
      for (int32_t j = 0; j < n; ++j) {
        s[j] = std::exp(s[j] - m);
        sum += s[j];
      }
      st.run_sum[g] = st.run_sum[g] * st.keep[g] + sum;
    }
    for (int32_t j = 0; j < n; ++j) {
      const T* v = value(cache.entry_as<T>(table, j0 + j));
      for (int64_t g = 0; g < group; ++g)
        ops.scale_axpy(st.acc.data() + g * value_dim, j == 0 ? st.keep[g] : 1.0f,
                       st.scores[g * kTile + j], v, value_dim);
    }
  }
  for (int64_t g = 0; g < group; ++g) {
    const float inv = static_cast<float>(out_units / st.run_sum[g]);
    float* o = out(g);
    for (int64_t i = 0; i < value_dim; ++i) o[i] = st.acc[g * value_dim + i] * inv;
  }
}

template <class T>
void mha(const MhaShape& shape, const TokenLayout& tokens, const PagedCache& cache, const float* q,
         float* out, ThreadPool& pool, Isa isa) {
  const Ops<T> ops = ops_for<T>(isa);
  const int64_t hd = shape.head_dim, nh = shape.num_heads, nkv = shape.num_kv_heads;
  const int64_t group = nh / nkv, v_offset = nkv * hd;
  const float u = units(cache), score_scale = shape.scale * u;
  // One task: a token and a KV head, with the query heads that share it (adjacent in q).
  pool.parallel_for(tokens.num_tokens * nkv, [&](int64_t begin, int64_t end) {
    GroupState st(group, hd);
    for (int64_t task = begin; task < end; ++task) {
      const int64_t t = task / nkv, kvh = task % nkv;
      const float* qt = q + (t * nh + kvh * group) * hd;
      attend(
          ops, cache, (*tokens.block_tables)[tokens.seq_idx[t]], tokens.positions[t] + 1, group, hd,
          u, st,
          [&](int64_t g, const T* e) {
            return ops.dot(qt + g * hd, e + kvh * hd, hd) * score_scale;
          },
          [&](const T* e) { return e + v_offset + kvh * hd; },
          [&](int64_t g) { return out + (t * nh + kvh * group + g) * hd; });
    }
  });
}

template <class T>
void mla(const MlaShape& shape, const TokenLayout& tokens, const PagedCache& cache,
         const float* q_latent, const float* q_rope, float* out, ThreadPool& pool, Isa isa) {
  const Ops<T> ops = ops_for<T>(isa);
  const int64_t lr = shape.kv_lora_rank, rd = shape.rope_dim, nh = shape.num_heads;
  const float u = units(cache), score_scale = shape.scale * u;
  // Every head reads the same latent cache entry: one task is a token with all its heads.
  pool.parallel_for(tokens.num_tokens, [&](int64_t begin, int64_t end) {
    GroupState st(nh, lr);
    for (int64_t t = begin; t < end; ++t) {
      attend(
          ops, cache, (*tokens.block_tables)[tokens.seq_idx[t]], tokens.positions[t] + 1, nh, lr, u,
          st,
          [&](int64_t h, const T* e) {
            const int64_t th = t * nh + h;
            return (ops.dot(q_latent + th * lr, e, lr) + ops.dot(q_rope + th * rd, e + lr, rd)) *
                   score_scale;
          },
          [](const T* e) { return e; }, [&](int64_t h) { return out + (t * nh + h) * lr; });
    }
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
