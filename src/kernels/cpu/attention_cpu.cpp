// Fast causal attention over the paged cache (issue 15, item 4), the reference
// (kernels/ref/attention.cpp) being its oracle. The query heads that read the same cache rows
// are processed together, so each row is read once for all of them: GQA's heads sharing a KV
// head, and in absorbed MLA every head of a token (they all attend over the shared latent).
// Keys are taken in tiles of kTile with an online softmax (running max and sum, rescaled once
// per tile): no [T, T] score matrix, and memory per task is O(heads x (kTile + value_dim)). Dot
// products and V accumulation use AVX2+FMA where the CPU has it (run-time dispatch), NEON on 64-bit
// ARM, portable code otherwise.
#include "kernels/cpu/attention_cpu.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "kernels/cpu/linear_cpu_internal.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#elif defined(__aarch64__)
#include <arm_neon.h>
#endif

namespace fathom::kernels::cpu {
namespace {

constexpr int32_t kTile = 64;

float dot_portable(const float* a, const float* b, int64_t n) {
  float p[4] = {0, 0, 0, 0};  // four chains: no serial add dependency
  int64_t i = 0;
  for (; i + 4 <= n; i += 4)
    for (int k = 0; k < 4; ++k) p[k] += a[i + k] * b[i + k];
  for (; i < n; ++i) p[0] += a[i] * b[i];
  return (p[0] + p[1]) + (p[2] + p[3]);
}

// o = o * keep + w * v
void scale_axpy_portable(float* o, float keep, float w, const float* v, int64_t n) {
  for (int64_t i = 0; i < n; ++i) o[i] = o[i] * keep + w * v[i];
}

#if defined(__x86_64__) || defined(__i386__)
__attribute__((target("avx2,fma"))) float dot_avx2(const float* a, const float* b, int64_t n) {
  __m256 s0 = _mm256_setzero_ps(), s1 = _mm256_setzero_ps();
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    s0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), s0);
    s1 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 8), _mm256_loadu_ps(b + i + 8), s1);
  }
  for (; i + 8 <= n; i += 8)
    s0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), s0);
  s0 = _mm256_add_ps(s0, s1);
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(s0), _mm256_extractf128_ps(s0, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  float r = _mm_cvtss_f32(s);
  for (; i < n; ++i) r += a[i] * b[i];
  return r;
}

__attribute__((target("avx2,fma"))) void scale_axpy_avx2(float* o, float keep, float w,
                                                         const float* v, int64_t n) {
  const __m256 k = _mm256_set1_ps(keep), wv = _mm256_set1_ps(w);
  int64_t i = 0;
  for (; i + 8 <= n; i += 8)
    _mm256_storeu_ps(o + i, _mm256_fmadd_ps(wv, _mm256_loadu_ps(v + i),
                                            _mm256_mul_ps(_mm256_loadu_ps(o + i), k)));
  for (; i < n; ++i) o[i] = o[i] * keep + w * v[i];
}
#endif

#if defined(__aarch64__)
float dot_neon(const float* a, const float* b, int64_t n) {
  float32x4_t s0 = vdupq_n_f32(0.0f), s1 = s0, s2 = s0, s3 = s0;
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    s0 = vfmaq_f32(s0, vld1q_f32(a + i), vld1q_f32(b + i));
    s1 = vfmaq_f32(s1, vld1q_f32(a + i + 4), vld1q_f32(b + i + 4));
    s2 = vfmaq_f32(s2, vld1q_f32(a + i + 8), vld1q_f32(b + i + 8));
    s3 = vfmaq_f32(s3, vld1q_f32(a + i + 12), vld1q_f32(b + i + 12));
  }
  for (; i + 4 <= n; i += 4) s0 = vfmaq_f32(s0, vld1q_f32(a + i), vld1q_f32(b + i));
  float r = vaddvq_f32(vaddq_f32(vaddq_f32(s0, s1), vaddq_f32(s2, s3)));
  for (; i < n; ++i) r += a[i] * b[i];
  return r;
}

void scale_axpy_neon(float* o, float keep, float w, const float* v, int64_t n) {
  int64_t i = 0;
  for (; i + 4 <= n; i += 4)
    vst1q_f32(o + i, vfmaq_n_f32(vmulq_n_f32(vld1q_f32(o + i), keep), vld1q_f32(v + i), w));
  for (; i < n; ++i) o[i] = o[i] * keep + w * v[i];
}
#endif

struct Ops {
  float (*dot)(const float*, const float*, int64_t);
  void (*scale_axpy)(float*, float, float, const float*, int64_t);
};

Ops ops_for(bool simd) {
#if defined(__x86_64__) || defined(__i386__)
  if (simd) return {&dot_avx2, &scale_axpy_avx2};
#elif defined(__aarch64__)
  if (simd) return {&dot_neon, &scale_axpy_neon};
#endif
  (void)simd;
  return {&dot_portable, &scale_axpy_portable};
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
// tile). score(g, entry): head g's scaled score against a cache entry; value(entry): its value
// vector of value_dim floats. Writes head g's output to out(g).
template <class Score, class Value, class Out>
void attend(const Ops& ops, const PagedCache& cache, const std::vector<int32_t>& table, int32_t ctx,
            int64_t group, int64_t value_dim, GroupState& st, Score&& score, Value&& value,
            Out&& out) {
  std::fill(st.acc.begin(), st.acc.end(), 0.0f);
  std::fill(st.run_max.begin(), st.run_max.end(), -std::numeric_limits<float>::infinity());
  std::fill(st.run_sum.begin(), st.run_sum.end(), 0.0);
  for (int32_t j0 = 0; j0 < ctx; j0 += kTile) {
    const int32_t n = std::min(kTile, ctx - j0);
    for (int32_t j = 0; j < n; ++j) {
      const float* e = cache.entry(table, j0 + j);
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
      const float* v = value(cache.entry(table, j0 + j));
      for (int64_t g = 0; g < group; ++g)
        ops.scale_axpy(st.acc.data() + g * value_dim, j == 0 ? st.keep[g] : 1.0f,
                       st.scores[g * kTile + j], v, value_dim);
    }
  }
  for (int64_t g = 0; g < group; ++g) {
    const float inv = static_cast<float>(1.0 / st.run_sum[g]);
    float* o = out(g);
    for (int64_t i = 0; i < value_dim; ++i) o[i] = st.acc[g * value_dim + i] * inv;
  }
}

}  // namespace

bool attention_simd_available() { return isa_available(Isa::kAvx2) || isa_available(Isa::kNeon); }

void paged_attention_cpu(const MhaShape& shape, const TokenLayout& tokens, const PagedCache& cache,
                         const float* q, float* out, ThreadPool& pool, bool simd) {
  const Ops ops = ops_for(simd && attention_simd_available());
  const int64_t hd = shape.head_dim, nh = shape.num_heads, nkv = shape.num_kv_heads;
  const int64_t group = nh / nkv, v_offset = nkv * hd;
  // One task: a token and a KV head, with the query heads that share it (adjacent in q).
  pool.parallel_for(tokens.num_tokens * nkv, [&](int64_t begin, int64_t end) {
    GroupState st(group, hd);
    for (int64_t task = begin; task < end; ++task) {
      const int64_t t = task / nkv, kvh = task % nkv;
      const float* qt = q + (t * nh + kvh * group) * hd;
      attend(
          ops, cache, (*tokens.block_tables)[tokens.seq_idx[t]], tokens.positions[t] + 1, group, hd,
          st,
          [&](int64_t g, const float* e) {
            return ops.dot(qt + g * hd, e + kvh * hd, hd) * shape.scale;
          },
          [&](const float* e) { return e + v_offset + kvh * hd; },
          [&](int64_t g) { return out + (t * nh + kvh * group + g) * hd; });
    }
  });
}

void paged_mla_attention_cpu(const MlaShape& shape, const TokenLayout& tokens,
                             const PagedCache& cache, const float* q_latent, const float* q_rope,
                             float* out, ThreadPool& pool, bool simd) {
  const Ops ops = ops_for(simd && attention_simd_available());
  const int64_t lr = shape.kv_lora_rank, rd = shape.rope_dim, nh = shape.num_heads;
  // Every head reads the same latent cache entry: one task is a token with all its heads.
  pool.parallel_for(tokens.num_tokens, [&](int64_t begin, int64_t end) {
    GroupState st(nh, lr);
    for (int64_t t = begin; t < end; ++t) {
      attend(
          ops, cache, (*tokens.block_tables)[tokens.seq_idx[t]], tokens.positions[t] + 1, nh, lr,
          st,
          [&](int64_t h, const float* e) {
            const int64_t th = t * nh + h;
            return (ops.dot(q_latent + th * lr, e, lr) + ops.dot(q_rope + th * rd, e + lr, rd)) *
                   shape.scale;
          },
          [](const float* e) { return e; }, [&](int64_t h) { return out + (t * nh + h) * lr; });
    }
  });
}

}  // namespace fathom::kernels::cpu
