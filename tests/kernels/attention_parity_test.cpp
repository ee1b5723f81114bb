// paged_attention_cpu (SIMD where the CPU has it, and the portable path) against the reference
// paged_attention, the oracle: GQA groups of 1 to 8, odd head sizes, several sequences whose
// blocks are scattered through the cache, contexts shorter and longer than the key tile, and
// a prefill batch (every position of a prompt) as well as decode rows.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>
#include <tuple>
#include <vector>

#include "kernels/cpu/attention_cpu.h"

namespace fathom::kernels {
namespace {

struct Case {
  int32_t heads, kv_heads, head_dim;
  std::vector<int32_t> prompt_lens;  // one sequence each; every position is a query token
};

class AttentionParity : public ::testing::TestWithParam<Case> {};

TEST_P(AttentionParity, CpuMatchesReference) {
  const Case c = GetParam();
  std::mt19937 rng(c.heads * 131 + c.head_dim);
  std::normal_distribution<float> nd(0.0f, 1.0f);
  const int32_t block = 16;
  const int32_t entry = 2 * c.kv_heads * c.head_dim;
  std::vector<std::vector<int32_t>> tables;
  int32_t blocks = 0;
  for (int32_t len : c.prompt_lens) blocks += (len + block - 1) / block;
  std::vector<int32_t> order(blocks);
  std::iota(order.begin(), order.end(), 0);
  std::shuffle(order.begin(), order.end(), rng);  // scattered blocks
  int32_t next = 0;
  std::vector<int32_t> positions, seq_idx;
  for (size_t s = 0; s < c.prompt_lens.size(); ++s) {
    tables.emplace_back();
    for (int32_t b = 0; b < (c.prompt_lens[s] + block - 1) / block; ++b)
      tables.back().push_back(order[next++]);
    for (int32_t p = 0; p < c.prompt_lens[s]; ++p) {
      positions.push_back(p);
      seq_idx.push_back(static_cast<int32_t>(s));
    }
  }
  std::vector<float> cache_data(static_cast<size_t>(blocks) * block * entry);
  for (float& v : cache_data) v = nd(rng);
  const PagedCache cache{cache_data.data(), blocks, block, entry};
  const int64_t n = static_cast<int64_t>(positions.size());
  std::vector<float> q(static_cast<size_t>(n * c.heads * c.head_dim));
  for (float& v : q) v = 2.0f * nd(rng);  // peaky softmax too
  const TokenLayout tokens{positions.data(), seq_idx.data(), &tables, n};
  const MhaShape shape{c.heads, c.kv_heads, c.head_dim,
                       1.0f / std::sqrt(static_cast<float>(c.head_dim))};

  ThreadPool pool(2);
  std::vector<float> want(q.size()), got(q.size());
  paged_attention(shape, tokens, cache, q.data(), want.data(), pool);
  for (bool simd : {false, true}) {
    if (simd && !cpu::attention_simd_available()) continue;
    std::fill(got.begin(), got.end(), 0.0f);
    cpu::paged_attention_cpu(shape, tokens, cache, q.data(), got.data(), pool, simd);
    double worst = 0;
    for (size_t i = 0; i < got.size(); ++i)
      worst = std::max(worst, std::fabs(double{got[i]} - want[i]));
    EXPECT_LT(worst, 2e-5) << (simd ? "simd"
                                    : "portable");  // outputs are averages of N(0,1) values
  }
}

// Absorbed MLA: cache entries [latent | rope], every head over the same entries.
TEST(MlaAttentionParity, CpuMatchesReference) {
  for (auto [heads, lr, rd, len] :
       {std::tuple{1, 8, 4, 5}, {16, 64, 16, 130}, {4, 33, 7, 70}, {128, 32, 8, 20}}) {
    std::mt19937 rng(heads + lr);
    std::normal_distribution<float> nd(0.0f, 1.0f);
    const int32_t block = 16, blocks = (len + block - 1) / block, entry = lr + rd;
    std::vector<std::vector<int32_t>> tables(1);
    for (int32_t b = blocks - 1; b >= 0; --b) tables[0].push_back(b);  // blocks in reverse order
    std::vector<float> cache_data(static_cast<size_t>(blocks) * block * entry);
    for (float& v : cache_data) v = nd(rng);
    std::vector<int32_t> positions(len), seq_idx(len, 0);
    std::iota(positions.begin(), positions.end(), 0);
    std::vector<float> ql(static_cast<size_t>(len) * heads * lr),
        qr(static_cast<size_t>(len) * heads * rd);
    for (float& v : ql) v = nd(rng);
    for (float& v : qr) v = nd(rng);
    const PagedCache cache{cache_data.data(), blocks, block, entry};
    const TokenLayout tokens{positions.data(), seq_idx.data(), &tables, len};
    const MlaShape shape{heads, lr, rd, 1.0f / std::sqrt(static_cast<float>(lr + rd))};
    ThreadPool pool(2);
    std::vector<float> want(ql.size()), got(ql.size());
    paged_mla_attention(shape, tokens, cache, ql.data(), qr.data(), want.data(), pool);
    for (bool simd : {false, true}) {
      if (simd && !cpu::attention_simd_available()) continue;
      cpu::paged_mla_attention_cpu(shape, tokens, cache, ql.data(), qr.data(), got.data(), pool,
                                   simd);
      double worst = 0;
      for (size_t i = 0; i < got.size(); ++i)
        worst = std::max(worst, std::fabs(double{got[i]} - want[i]));
      EXPECT_LT(worst, 2e-5) << heads << " heads, lr " << lr << (simd ? " simd" : " portable");
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Shapes, AttentionParity,
                         ::testing::Values(Case{1, 1, 1, {1}}, Case{4, 4, 8, {3, 17}},
                                           Case{8, 2, 64, {70, 5}}, Case{12, 2, 128, {130}},
                                           Case{6, 3, 13, {65, 64, 63}}, Case{16, 2, 24, {200}},
                                           Case{8, 1, 40, {129, 1}}));

}  // namespace
}  // namespace fathom::kernels
