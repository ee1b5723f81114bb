// LoadOptions::pack_bf16 on the bf16 fixture models (AVX-512 BF16 and AVX2 CPUs): decoding one
// token at a time with the packed copies gives the logits of the weights as stored (the same
// values, summed in another lane order), each decode step reads fewer weight bytes, and nothing
// is packed where the one-row kernel would not read it; with kReduced activations on AVX-512
// BF16 the panel copies (kernels/bf16_panel.h) give prefill the same logits, where the memory
// budget has room.
#include "model/weight_copies.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <string>
#include <vector>

#include "kernels/bf16_packed.h"
#include "kernels/bf16_panel.h"
#include "kernels/cpu/linear_bf16_avx512.h"
#include "kernels/cpu/linear_cpu_internal.h"
#include "kernels/int4_panel.h"
#include "model/model.h"
#include "support/reference.h"

namespace fathom::model {
namespace {

using fathom::testing::fixture_dir;
using fathom::testing::Reference;
using When = LoadOptions::When;

// The logits of each position of `ids`: decoded one token per forward pass, or (`prefill`) all
// in one pass, so every linear layer multiplies all the rows at once.
std::vector<float> logits_of(Model& m, const std::vector<int32_t>& ids, bool prefill = false) {
  const int32_t block = 16, n = static_cast<int32_t>(ids.size());
  auto kv = runtime::KvStorage::allocate(m.kv_layout(), (n + block - 1) / block, block,
                                         kernels::KvDtype::kF32);
  EXPECT_TRUE(kv.ok());
  if (!kv.ok()) return {};
  std::vector<int32_t> table;
  for (int32_t i = 0; i < (n + block - 1) / block; ++i) table.push_back(i);
  std::vector<float> all, logits;
  const int32_t step = prefill ? n : 1;
  for (int32_t i = 0; i < n; i += step) {
    ForwardBatch b;
    for (int32_t k = 0; k < step; ++k) {
      b.token_ids.push_back(ids[static_cast<size_t>(i + k)]);
      b.positions.push_back(i + k);
      b.seq_idx.push_back(0);
      b.output_rows.push_back(k);
    }
    b.block_tables = {table};
    const Status s = m.forward(b, *kv, logits);
    EXPECT_TRUE(s.ok()) << s.to_string();
    all.insert(all.end(), logits.begin(), logits.end());
  }
  return all;
}

std::vector<float> decode_logits(Model& m, const std::vector<int32_t>& ids) {
  return logits_of(m, ids);
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

int panel_weights(Model& m) {
  int n = 0;
  m.for_each_linear(
      [&n](kernels::LinearWeight& w) { n += w.bf16_panel && w.bf16_panel->get() != nullptr; });
  return n;
}

// Every position's logits of `got` within 1e-4 of `want`, with the same argmax.
void expect_same_logits(const std::vector<float>& got, const std::vector<float>& want,
                        int64_t vocab, const std::string& what) {
  ASSERT_EQ(got.size(), want.size()) << what;
  for (size_t t = 0; t < got.size() / static_cast<size_t>(vocab); ++t) {
    const float* g = got.data() + t * vocab;
    const float* w = want.data() + t * vocab;
    EXPECT_LT(fathom::testing::max_abs_diff(g, w, static_cast<size_t>(vocab)), 1e-4f)
        << what << " position " << t;
    EXPECT_EQ(std::max_element(g, g + vocab) - g, std::max_element(w, w + vocab) - w)
        << what << " position " << t;
  }
}

// Whether this CPU's one-row kernels read the packed copy: AVX-512 BF16 or AVX2.
bool packs_bf16() { return kernels::cpu::reads_bf16_packed(kernels::cpu::best_isa()); }

TEST(Bf16Packing, DecodeMatchesTheWeightsAsStored) {
  if (!packs_bf16()) GTEST_SKIP() << "no AVX2 or AVX-512 BF16 on this CPU";
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

    expect_same_logits(decode_logits(*packed, ids), decode_logits(*plain, ids),
                       packed->config().vocab_size, fixture);
  }
}

// With kReduced activations every bf16 linear weight also gets its panel copy, which prefill
// (all the prompt's rows in one pass) reads: the logits of the weights as stored. kExact makes
// none (its kernels would not read them).
TEST(Bf16Packing, PrefillReadsThePanelCopies) {
  if (!kernels::cpu::avx512_bf16_available()) GTEST_SKIP() << "no AVX-512 BF16 on this CPU";
  for (const char* fixture : {"qwen2", "deepseek_v2"}) {
    const std::vector<int32_t> ids = Reference(fixture).ids("p1.input_ids");
    ASSERT_GE(ids.size(), 2u);
    const auto act = kernels::ActivationPrecision::kReduced;
    const std::unique_ptr<Model> plain = load(fixture, When::kOff, act);
    const std::unique_ptr<Model> packed = load(fixture, When::kAtLoad, act);
    const std::unique_ptr<Model> exact = load(fixture, When::kAtLoad);
    ASSERT_TRUE(plain && packed && exact);
    EXPECT_EQ(panel_weights(*plain), 0);
    EXPECT_EQ(panel_weights(*exact), 0);
    int bf16 = 0;
    packed->for_each_linear(
        [&bf16](kernels::LinearWeight& w) { bf16 += w.format == kernels::WeightFormat::kBF16; });
    EXPECT_EQ(panel_weights(*packed), bf16) << fixture;
    EXPECT_GT(bf16, 0) << fixture;
    expect_same_logits(logits_of(*packed, ids, true), logits_of(*plain, ids, true),
                       packed->config().vocab_size, fixture);
  }
}

TEST(Bf16Packing, InTheBackgroundEveryStepStaysRight) {
  if (!packs_bf16()) GTEST_SKIP() << "no AVX2 or AVX-512 BF16 on this CPU";
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

// No panel copies on AVX2 (no vdpbf16ps kernel reads them), the decode copies all the same.
TEST(Bf16Packing, Avx2PacksForDecodeOnly) {
  if (kernels::cpu::avx512_bf16_available() || !packs_bf16()) GTEST_SKIP() << "not an AVX2 CPU";
  const std::unique_ptr<Model> m =
      load("qwen2", When::kAtLoad, kernels::ActivationPrecision::kReduced);
  ASSERT_TRUE(m);
  EXPECT_GT(packed_weights(*m), 0);
  EXPECT_EQ(panel_weights(*m), 0);
}

// Room for the decode copies but not for the panel copies too: the decode copies only.
TEST(Bf16Packing, PanelCopiesOnlyWhereTheyFitBesideTheDecodeCopies) {
  if (!kernels::cpu::avx512_bf16_available()) GTEST_SKIP() << "no AVX-512 BF16 on this CPU";
  auto model = load_model(fixture_dir("qwen2"), LoadOptions{});
  ASSERT_TRUE(model.ok());
  uint64_t decode_bytes = 0;
  (*model)->for_each_linear([&](kernels::LinearWeight& w) {
    if (w.format == kernels::WeightFormat::kBF16 &&
        kernels::bf16_packable(w.out_features, w.in_features))
      decode_bytes += static_cast<uint64_t>(w.size_bytes()) * 3 / 4;
  });
  ASSERT_GT(decode_bytes, 0u);
  LoadOptions opts;
  opts.pack_bf16 = When::kAtLoad;
  opts.activations = kernels::ActivationPrecision::kReduced;
  const LoadJob job = bf16_packing_job(**model, opts, 2 * decode_bytes);
  ASSERT_NE(job, nullptr);
  const std::atomic<bool> never{false};
  job(never);
  EXPECT_GT(packed_weights(**model), 0);
  EXPECT_EQ(panel_weights(**model), 0);
  int slots = 0;
  (*model)->for_each_linear([&](kernels::LinearWeight& w) { slots += w.bf16_panel != nullptr; });
  EXPECT_EQ(slots, 0);
}

}  // namespace
}  // namespace fathom::model

namespace fathom::model {
namespace {

int int4_panel_weights(Model& m) {
  int n = 0;
  m.for_each_linear(
      [&n](kernels::LinearWeight& w) { n += w.int4_panel && w.int4_panel->get() != nullptr; });
  return n;
}

std::unique_ptr<Model> load_int4(const std::string& fixture, When panels,
                                 kernels::ActivationPrecision act) {
  LoadOptions opts;
  opts.quantization = Quantization::kInt4;
  opts.activations = act;
  opts.int4_panels = panels;
  auto m = load_model(fixture_dir(fixture), opts);
  EXPECT_TRUE(m.ok()) << m.status().to_string();
  return m.ok() ? std::move(*m) : nullptr;
}

// With kReduced activations on AVX-512 VNNI every int4 weight the integer kernels read gets its
// panel copy (kernels/int4_panel.h), which decode reads: the logits of the weights as stored.
// kExact makes none (its kernels would not read them), nor does kOff.
TEST(Int4Panels, DecodeReadsTheCopies) {
  if (!kernels::cpu::isa_available(kernels::cpu::Isa::kAvx512Vnni))
    GTEST_SKIP() << "no AVX-512 VNNI on this CPU";
  const auto reduced = kernels::ActivationPrecision::kReduced;
  for (const char* fixture : {"qwen2", "deepseek_v2"}) {
    const std::vector<int32_t> ids = Reference(fixture).ids("p1.input_ids");
    const std::unique_ptr<Model> plain = load_int4(fixture, When::kOff, reduced);
    const std::unique_ptr<Model> panels = load_int4(fixture, When::kAtLoad, reduced);
    const std::unique_ptr<Model> exact =
        load_int4(fixture, When::kAtLoad, kernels::ActivationPrecision::kExact);
    ASSERT_TRUE(plain && panels && exact);
    EXPECT_EQ(int4_panel_weights(*plain), 0);
    EXPECT_EQ(int4_panel_weights(*exact), 0);
    int applies = 0;
    panels->for_each_linear(
        [&applies](kernels::LinearWeight& w) { applies += kernels::int4_panel_applies(w); });
    EXPECT_GT(applies, 0) << fixture;
    EXPECT_EQ(int4_panel_weights(*panels), applies) << fixture;
    expect_same_logits(decode_logits(*panels, ids), decode_logits(*plain, ids),
                       panels->config().vocab_size, fixture);
  }
}

TEST(Int4Panels, NoneWithoutRoom) {
  LoadOptions opts;
  opts.quantization = Quantization::kInt4;
  opts.activations = kernels::ActivationPrecision::kReduced;
  opts.int4_panels = When::kAtLoad;
  auto model = load_model(fixture_dir("qwen2"), LoadOptions{.quantization = Quantization::kInt4});
  ASSERT_TRUE(model.ok());
  EXPECT_EQ(int4_panel_job(**model, opts, /*available_bytes=*/1), nullptr);
  EXPECT_EQ(int4_panel_weights(**model), 0);
  opts.reference_kernels = true;  // kernels/ref reads the weights as stored
  EXPECT_EQ(int4_panel_job(**model, opts, /*available_bytes=*/0), nullptr);
}

}  // namespace
}  // namespace fathom::model
