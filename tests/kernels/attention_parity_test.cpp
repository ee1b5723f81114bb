// paged_attention_cpu on every instruction-set path the CPU has (portable, AVX2, AVX-512, NEON)
// and every cache dtype (f32, bf16, fp8 e4m3 with a scale) against the reference
// paged_attention, the oracle, which reads the same stored values dequantized: GQA groups of 1
// to 8, odd head sizes, several sequences whose blocks are scattered through the cache,
// contexts shorter and longer than the key tile, and a prefill batch (every position of a
// prompt) as well as decode rows. Also write_kv / read_kv's conversions.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>
#include <string>
#include <tuple>
#include <vector>

#include "kernels/cpu/attention_cpu.h"
#include "kernels/quantize_weight.h"
#include "tensor/dtype.h"

namespace fathom::kernels {
namespace {

constexpr KvDtype kDtypes[] = {KvDtype::kF32, KvDtype::kBf16, KvDtype::kFp8};
constexpr cpu::Isa kPaths[] = {cpu::Isa::kScalar, cpu::Isa::kAvx2, cpu::Isa::kAvx512,
                               cpu::Isa::kNeon};

const char* name(KvDtype d) {
  return d == KvDtype::kF32 ? "f32" : d == KvDtype::kBf16 ? "bf16" : "fp8";
}

/// A cache of `dtype` holding `values` ([num_tokens, entry]) at every token of `tokens`,
/// stored through write_kv. fp8 gets a scale that is not 1 (vLLM's per-layer k/v scale).
struct TypedCache {
  std::vector<uint8_t> bytes;
  PagedCache cache;
  TypedCache(KvDtype dtype, int32_t blocks, int32_t block, int32_t entry, const TokenLayout& tokens,
             const std::vector<float>& values)
      : bytes(static_cast<size_t>(blocks) * block * entry * kv_dtype_bytes(dtype)),
        cache{bytes.data(), blocks, block, entry, dtype, dtype == KvDtype::kFp8 ? 0.05f : 1.0f} {
    write_kv(cache, tokens, values.data(), entry, 0, entry);
  }
};

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
  const int64_t n = static_cast<int64_t>(positions.size());
  std::vector<float> values(static_cast<size_t>(n * entry));
  for (float& v : values) v = nd(rng);
  std::vector<float> q(static_cast<size_t>(n * c.heads * c.head_dim));
  for (float& v : q) v = 2.0f * nd(rng);  // peaky softmax too
  const TokenLayout tokens{positions.data(), seq_idx.data(), &tables, n};
  const MhaShape shape{c.heads, c.kv_heads, c.head_dim,
                       1.0f / std::sqrt(static_cast<float>(c.head_dim))};

  ThreadPool pool(2);
  for (KvDtype dtype : kDtypes) {
    const TypedCache tc(dtype, blocks, block, entry, tokens, values);
    std::vector<float> want(q.size()), got(q.size());
    paged_attention(shape, tokens, tc.cache, q.data(), want.data(), pool);
    for (cpu::Isa isa : kPaths) {
      if (!cpu::isa_available(isa)) continue;
      std::fill(got.begin(), got.end(), 0.0f);
      cpu::paged_attention_cpu(shape, tokens, tc.cache, q.data(), got.data(), pool, isa);
      double worst = 0;
      for (size_t i = 0; i < got.size(); ++i)
        worst = std::max(worst, std::fabs(double{got[i]} - want[i]));
      // Outputs are averages of N(0,1) values: float rounding only.
      EXPECT_LT(worst, 2e-5) << name(dtype) << " " << cpu::isa_name(isa);
    }
  }
}

// Absorbed MLA: cache entries [latent | rope], every head over the same entries, several
// sequences of different lengths in one batch.
TEST(MlaAttentionParity, CpuMatchesReference) {
  for (auto [heads, lr, rd, len] : {std::tuple{1, 8, 4, 5},
                                    {16, 64, 16, 130},
                                    {4, 33, 7, 70},
                                    {128, 32, 8, 20},
                                    {8, 512, 64, 66}}) {
    std::mt19937 rng(heads + lr);
    std::normal_distribution<float> nd(0.0f, 1.0f);
    const int32_t block = 16, per_seq = (len + block - 1) / block, entry = lr + rd;
    // Two sequences: `len` decode-style rows and a shorter one; blocks in reverse order.
    const std::vector<int32_t> lens = {len, std::max(1, len / 3)};
    std::vector<std::vector<int32_t>> tables(2);
    int32_t blocks = 0;
    std::vector<int32_t> positions, seq_idx;
    for (int32_t s = 0; s < 2; ++s) {
      for (int32_t b = 0; b < per_seq; ++b) tables[s].insert(tables[s].begin(), blocks++);
      for (int32_t p = 0; p < lens[s]; ++p) {
        positions.push_back(p);
        seq_idx.push_back(s);
      }
    }
    const int64_t n = static_cast<int64_t>(positions.size());
    std::vector<float> values(static_cast<size_t>(n * entry));
    for (float& v : values) v = nd(rng);
    std::vector<float> ql(static_cast<size_t>(n) * heads * lr),
        qr(static_cast<size_t>(n) * heads * rd);
    for (float& v : ql) v = nd(rng);
    for (float& v : qr) v = nd(rng);
    const TokenLayout tokens{positions.data(), seq_idx.data(), &tables, n};
    const MlaShape shape{heads, lr, rd, 1.0f / std::sqrt(static_cast<float>(lr + rd))};
    ThreadPool pool(2);
    for (KvDtype dtype : kDtypes) {
      const TypedCache tc(dtype, blocks, block, entry, tokens, values);
      std::vector<float> want(ql.size()), got(ql.size());
      paged_mla_attention(shape, tokens, tc.cache, ql.data(), qr.data(), want.data(), pool);
      for (cpu::Isa isa : kPaths) {
        if (!cpu::isa_available(isa)) continue;
        cpu::paged_mla_attention_cpu(shape, tokens, tc.cache, ql.data(), qr.data(), got.data(),
                                     pool, isa);
        double worst = 0;
        for (size_t i = 0; i < got.size(); ++i)
          worst = std::max(worst, std::fabs(double{got[i]} - want[i]));
        EXPECT_LT(worst, 2e-5) << heads << " heads, lr " << lr << " " << name(dtype) << " "
                               << cpu::isa_name(isa);
      }
    }
  }
}

// Decode steps of one or two sequences at long contexts: fewer tasks than threads, so each task's
// keys are split into ranges that threads attend to apart and then merge (flash-decoding). GQA
// and MLA, with pools of 2 and 4 threads, contexts that end mid-tile, a second sequence shorter
// than one range.
TEST(AttentionParity, DecodeRowsSplitAcrossThreadsMatchTheReference) {
  for (const std::vector<int32_t>& lens : {std::vector<int32_t>{300}, {1000, 70}}) {
    std::mt19937 rng(static_cast<uint32_t>(lens.size()));
    std::normal_distribution<float> nd(0.0f, 1.0f);
    const int32_t block = 16, heads = 8, kv_heads = 2, hd = 64, lr = 64, rd = 16;
    std::vector<std::vector<int32_t>> tables(lens.size());
    int32_t blocks = 0;
    std::vector<int32_t> all_pos, all_seq, last_pos, last_seq;
    for (size_t s = 0; s < lens.size(); ++s) {
      for (int32_t b = 0; b < (lens[s] + block - 1) / block; ++b) tables[s].push_back(blocks++);
      std::shuffle(tables[s].begin(), tables[s].end(), rng);
      for (int32_t p = 0; p < lens[s]; ++p) {
        all_pos.push_back(p);
        all_seq.push_back(static_cast<int32_t>(s));
      }
      last_pos.push_back(lens[s] - 1);
      last_seq.push_back(static_cast<int32_t>(s));
    }
    const TokenLayout fill{all_pos.data(), all_seq.data(), &tables,
                           static_cast<int64_t>(all_pos.size())};
    const TokenLayout step{last_pos.data(), last_seq.data(), &tables,
                           static_cast<int64_t>(last_pos.size())};
    const auto random = [&](size_t count) {
      std::vector<float> v(count);
      for (float& x : v) x = nd(rng);
      return v;
    };
    const int32_t mha_entry = 2 * kv_heads * hd, mla_entry = lr + rd;
    const std::vector<float> mha_values = random(all_pos.size() * mha_entry);
    const std::vector<float> mla_values = random(all_pos.size() * mla_entry);
    const std::vector<float> q = random(lens.size() * heads * hd);
    const std::vector<float> ql = random(lens.size() * heads * lr);
    const std::vector<float> qr = random(lens.size() * heads * rd);
    const MhaShape mha{heads, kv_heads, hd, 1.0f / std::sqrt(static_cast<float>(hd))};
    const MlaShape mla{heads, lr, rd, 1.0f / std::sqrt(static_cast<float>(lr + rd))};
    for (int threads : {2, 4}) {
      ThreadPool pool(threads);
      for (KvDtype dtype : kDtypes) {
        const TypedCache mc(dtype, blocks, block, mha_entry, fill, mha_values);
        const TypedCache lc(dtype, blocks, block, mla_entry, fill, mla_values);
        std::vector<float> want(q.size()), got(q.size()), want_l(ql.size()), got_l(ql.size());
        paged_attention(mha, step, mc.cache, q.data(), want.data(), pool);
        paged_mla_attention(mla, step, lc.cache, ql.data(), qr.data(), want_l.data(), pool);
        for (cpu::Isa isa : kPaths) {
          if (!cpu::isa_available(isa)) continue;
          cpu::paged_attention_cpu(mha, step, mc.cache, q.data(), got.data(), pool, isa);
          cpu::paged_mla_attention_cpu(mla, step, lc.cache, ql.data(), qr.data(), got_l.data(),
                                       pool, isa);
          double worst = 0, worst_l = 0;
          for (size_t i = 0; i < got.size(); ++i)
            worst = std::max(worst, std::fabs(double{got[i]} - want[i]));
          for (size_t i = 0; i < got_l.size(); ++i)
            worst_l = std::max(worst_l, std::fabs(double{got_l[i]} - want_l[i]));
          const std::string at = std::to_string(lens.size()) + " sequences, " +
                                 std::to_string(threads) + " threads, " + name(dtype) + " " +
                                 cpu::isa_name(isa);
          EXPECT_LT(worst, 2e-5) << "GQA, " << at;
          EXPECT_LT(worst_l, 2e-5) << "MLA, " << at;
        }
      }
    }
  }
}

// write_kv stores each dtype's rounding of the value (bf16: nearest even; fp8: value / scale
// to nearest even, saturating at 448) at the right column offset; read_kv gives it back.
TEST(KvWrite, ConvertsAndStoresAtTheOffset) {
  const std::vector<float> row = {1.0f, -3.14159f, 1e-3f, 1000.0f, -2.5e4f, 0.0f};
  const int32_t width = static_cast<int32_t>(row.size()), entry = 2 * width;
  const std::vector<std::vector<int32_t>> tables = {{1, 0}};
  const int32_t pos = 5, seq = 0;  // block table[1] = 0, row 1 of a 4-row block
  const TokenLayout tokens{&pos, &seq, &tables, 1};
  for (KvDtype dtype : kDtypes) {
    std::vector<uint8_t> bytes(2 * 4 * entry * kv_dtype_bytes(dtype));
    const float scale = 0.5f;
    const PagedCache cache{bytes.data(), 2, 4, entry, dtype, scale};
    write_kv(cache, tokens, row.data(), width, width, width);  // the second half
    std::vector<float> back(entry, -1.0f);
    read_kv(cache, tables[0], pos, back.data());
    for (int32_t i = 0; i < width; ++i) {
      EXPECT_EQ(back[i], 0.0f) << name(dtype);  // first half untouched (zeroed storage)
      const float x = row[i];
      const float want = dtype == KvDtype::kF32    ? x
                         : dtype == KvDtype::kBf16 ? bf16_to_f32(f32_to_bf16(x))
                                                   : e4m3_to_f32(f32_to_e4m3(x / scale)) * scale;
      EXPECT_EQ(back[width + i], want) << name(dtype) << " element " << i;
    }
    if (dtype == KvDtype::kFp8) {
      EXPECT_EQ(back[width + 3], 448.0f * scale);  // 1000 / 0.5 saturates
      EXPECT_EQ(back[width + 4], -448.0f * scale);
    }
    if (dtype == KvDtype::kBf16) {
      EXPECT_EQ(back[width + 1], -3.140625f);
    }
    // Entry 5 lives in block 0 (table[1]) at row 1: byte offset (0 * 4 + 1) * entry.
    const int64_t first = (1LL * entry + width) * kv_dtype_bytes(dtype);
    EXPECT_NE(std::count(bytes.begin() + first, bytes.begin() + first + 4, 0), 4) << name(dtype);
  }
}

INSTANTIATE_TEST_SUITE_P(Shapes, AttentionParity,
                         ::testing::Values(Case{1, 1, 1, {1}}, Case{4, 4, 8, {3, 17}},
                                           Case{8, 2, 64, {70, 5}}, Case{12, 2, 128, {130}},
                                           Case{6, 3, 13, {65, 64, 63}}, Case{16, 2, 24, {200}},
                                           Case{8, 1, 40, {129, 1}}));

}  // namespace
}  // namespace fathom::kernels
