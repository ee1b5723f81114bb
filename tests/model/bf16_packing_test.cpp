// LoadOptions::pack_bf16 on the bf16 fixture models: decoding one token at a time with the
// packed copies gives the logits of the weights as stored (the same values, summed in another
// lane order), each decode step reads fewer weight bytes, and nothing is packed where the
// one-row kernel would not read it.
#include "model/bf16_packing.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "kernels/bf16_packed.h"
#include "kernels/cpu/linear_bf16_avx512.h"
#include "model/model.h"
#include "support/reference.h"

namespace fathom::model {
namespace {

using fathom::testing::fixture_dir;
using fathom::testing::Reference;
using When = LoadOptions::When;

// The logits of each position of `ids`, decoded one token per forward pass.
std::vector<float> decode_logits(Model& m, const std::vector<int32_t>& ids) {
  const int32_t block = 16, n = static_cast<int32_t>(ids.size());
  auto kv = runtime::KvStorage::allocate(m.kv_layout(), (n + block - 1) / block, block,
                                         kernels::KvDtype::kF32);
  EXPECT_TRUE(kv.ok());
  if (!kv.ok()) return {};
  std::vector<int32_t> table;
  for (int32_t i = 0; i < (n + block - 1) / block; ++i) table.push_back(i);
  std::vector<float> all, logits;
  for (int32_t i = 0; i < n; ++i) {
    ForwardBatch b;
    b.token_ids = {ids[static_cast<size_t>(i)]};
    b.positions = {i};
    b.seq_idx = {0};
    b.output_rows = {0};
    b.block_tables = {table};
    const Status s = m.forward(b, *kv, logits);
    EXPECT_TRUE(s.ok()) << s.to_string();
    all.insert(all.end(), logits.begin(), logits.end());
  }
  return all;
}

std::unique_ptr<Model> load(
    const std::string& fixture, When pack,
    kernels::ActivationPrecision act = kernels::ActivationPrecision::kExact) {
  LoadOptions opts;
  opts.activations = act;
  opts.pack_bf16 = pack;
  auto m = load_model(fixture_dir(fixture), opts);
  EXPECT_TRUE(m.ok()) << m.status().to_string();
  return m.ok() ? std::move(*m) : nullptr;
}

int packed_weights(Model& m) {
  int n = 0;
  m.for_each_linear(
      [&n](kernels::LinearWeight& w) { n += w.bf16_packed && w.bf16_packed->get() != nullptr; });
  return n;
}

TEST(Bf16Packing, DecodeMatchesTheWeightsAsStored) {
  if (!kernels::cpu::avx512_bf16_available()) GTEST_SKIP() << "no AVX-512 BF16 on this CPU";
  for (const auto& [fixture, act] :
       {std::pair{"qwen2", kernels::ActivationPrecision::kExact},
        std::pair{"deepseek_v2", kernels::ActivationPrecision::kExact},
        std::pair{"qwen2", kernels::ActivationPrecision::kReduced},
        std::pair{"deepseek_v2", kernels::ActivationPrecision::kReduced}}) {
    const std::vector<int32_t> ids = Reference(fixture).ids("p1.input_ids");
    const std::unique_ptr<Model> plain = load(fixture, When::kOff, act);
    const std::unique_ptr<Model> packed = load(fixture, When::kAtLoad, act);
    ASSERT_TRUE(plain && packed);
    EXPECT_EQ(packed_weights(*plain), 0);
    EXPECT_GT(packed_weights(*packed), 0) << fixture;
    EXPECT_LT(packed->weight_bytes().per_token, plain->weight_bytes().per_token) << fixture;
    EXPECT_EQ(packed->weight_bytes().total, plain->weight_bytes().total) << fixture;

    const std::vector<float> want = decode_logits(*plain, ids);
    const std::vector<float> got = decode_logits(*packed, ids);
    ASSERT_EQ(got.size(), want.size());
    const int64_t vocab = packed->config().vocab_size;
    for (size_t t = 0; t < ids.size(); ++t) {
      const float* g = got.data() + t * vocab;
      const float* w = want.data() + t * vocab;
      EXPECT_LT(fathom::testing::max_abs_diff(g, w, static_cast<size_t>(vocab)), 1e-4f)
          << fixture << " position " << t;
      EXPECT_EQ(std::max_element(g, g + vocab) - g, std::max_element(w, w + vocab) - w)
          << fixture << " position " << t;
    }
  }
}

TEST(Bf16Packing, InTheBackgroundEveryStepStaysRight) {
  if (!kernels::cpu::avx512_bf16_available()) GTEST_SKIP() << "no AVX-512 BF16 on this CPU";
  const std::vector<int32_t> ids = Reference("qwen2").ids("p1.input_ids");
  const std::unique_ptr<Model> plain = load("qwen2", When::kOff);
  const std::unique_ptr<Model> packing = load("qwen2", When::kBackground);
  ASSERT_TRUE(plain && packing);
  // Steps run while the job fills the slots, weight by weight: each reads one copy or the other.
  const std::vector<float> want = decode_logits(*plain, ids);
  const std::vector<float> got = decode_logits(*packing, ids);
  ASSERT_EQ(got.size(), want.size());
  EXPECT_LT(fathom::testing::max_abs_diff(got.data(), want.data(), got.size()), 1e-4f);
}

TEST(Bf16Packing, NothingPackedWhereTheOneRowKernelWouldNotReadIt) {
  LoadOptions opts;
  opts.pack_bf16 = When::kAtLoad;
  opts.reference_kernels = true;  // kernels/ref reads the weights as stored
  auto ref = load_model(fixture_dir("qwen2"), opts);
  ASSERT_TRUE(ref.ok());
  EXPECT_EQ(packed_weights(**ref), 0);
  opts.reference_kernels = false;
  opts.quantization = Quantization::kInt8;  // not bf16 any more
  auto int8 = load_model(fixture_dir("qwen2"), opts);
  ASSERT_TRUE(int8.ok());
  EXPECT_EQ(packed_weights(**int8), 0);
  // And a job over no room packs nothing.
  opts.quantization = Quantization::kAuto;
  auto model = load_model(fixture_dir("qwen2"), LoadOptions{});
  ASSERT_TRUE(model.ok());
  EXPECT_EQ(bf16_packing_job(**model, opts, /*available_bytes=*/1), nullptr);
  EXPECT_EQ(packed_weights(**model), 0);
}

}  // namespace
}  // namespace fathom::model
