// Several sequences in one flat batch, prefill, chunked prefill and decode mixed in the same
// steps, each over its own interleaved blocks: every row must equal its own reference logits.
#include <gtest/gtest.h>

#include "model/model.h"
#include "support/reference.h"

namespace fathom::model {
namespace {

using fathom::testing::fixture_dir;
using fathom::testing::max_abs_diff;
using fathom::testing::Reference;

struct Want {
  const float* row;  // expected logits
  std::string what;
};

void add_tokens(ForwardBatch& b, int32_t seq, const std::vector<int32_t>& ids, int32_t begin,
                int32_t end, bool outputs) {
  for (int32_t i = begin; i < end; ++i) {
    if (outputs) b.output_rows.push_back(static_cast<int32_t>(b.token_ids.size()));
    b.token_ids.push_back(ids[i]);
    b.positions.push_back(i);
    b.seq_idx.push_back(seq);
  }
}

class MixedBatchTest : public ::testing::TestWithParam<std::string> {};

TEST_P(MixedBatchTest, EachSequenceGetsItsOwnReferenceLogits) {
  auto loaded = load_model(fixture_dir(GetParam()));
  ASSERT_TRUE(loaded.ok()) << loaded.status().to_string();
  Model& m = **loaded;
  Reference ref(GetParam());
  const int64_t vocab = m.config().vocab_size;
  const auto p1 = ref.ids("p1.input_ids"), p2 = ref.ids("p2.input_ids"), p3 = ref.ids("p3.input_ids");
  const auto p1_greedy = ref.ids("p1.greedy");
  const auto l1g = ref.floats("p1.greedy_logits"), l2 = ref.floats("p2.logits"),
             l3 = ref.floats("p3.logits"), l1 = ref.floats("p1.logits");

  constexpr int32_t kBlock = 8;
  auto kv = runtime::KvStorage::allocate(m.kv_layout(), 64, kBlock);
  ASSERT_TRUE(kv.ok());
  // Interleave the three sequences' blocks: seq s owns blocks s, s + 3, s + 6, ...
  std::vector<std::vector<int32_t>> tables(3);
  for (int32_t blk = 0; blk < 63; ++blk) tables[blk % 3].push_back(blk);

  // Step 1: seq 0 prefills the first 40 tokens of p3; seq 1 prefills all of p1.
  ForwardBatch s1;
  s1.block_tables = tables;
  add_tokens(s1, 0, p3, 0, 40, true);
  add_tokens(s1, 1, p1, 0, static_cast<int32_t>(p1.size()), true);
  std::vector<float> out1;
  ASSERT_TRUE(m.forward(s1, *kv, out1).ok());
  std::vector<Want> want1;
  for (int32_t i = 0; i < 40; ++i) want1.push_back({l3.data() + i * vocab, "p3 row " + std::to_string(i)});
  for (size_t i = 0; i < p1.size(); ++i) want1.push_back({l1.data() + i * vocab, "p1 row " + std::to_string(i)});

  // Step 2: seq 0 continues its prefill (chunked), seq 1 decodes its first greedy token, and
  // seq 2 arrives and prefills p2 whole.
  ForwardBatch s2;
  s2.block_tables = tables;
  add_tokens(s2, 0, p3, 40, static_cast<int32_t>(p3.size()), true);
  std::vector<int32_t> p1_next = p1;
  p1_next.push_back(p1_greedy[0]);
  add_tokens(s2, 1, p1_next, static_cast<int32_t>(p1.size()), static_cast<int32_t>(p1_next.size()), true);
  add_tokens(s2, 2, p2, 0, static_cast<int32_t>(p2.size()), true);
  std::vector<float> out2;
  ASSERT_TRUE(m.forward(s2, *kv, out2).ok());
  std::vector<Want> want2;
  for (size_t i = 40; i < p3.size(); ++i) want2.push_back({l3.data() + i * vocab, "p3 row " + std::to_string(i)});
  want2.push_back({l1g.data(), "p1 decode step 0"});
  for (size_t i = 0; i < p2.size(); ++i) want2.push_back({l2.data() + i * vocab, "p2 row " + std::to_string(i)});

  for (auto [out, want] : {std::pair{&out1, &want1}, std::pair{&out2, &want2}}) {
    ASSERT_EQ(out->size(), want->size() * vocab);
    for (size_t r = 0; r < want->size(); ++r)
      EXPECT_LT(max_abs_diff(out->data() + r * vocab, (*want)[r].row, vocab), 1e-3f)
          << GetParam() << " " << (*want)[r].what;
  }
}

INSTANTIATE_TEST_SUITE_P(Fixtures, MixedBatchTest,
                         ::testing::Values("llama", "qwen2", "deepseek_v2", "deepseek_v3"),
                         [](const auto& param_info) { return param_info.param; });

}  // namespace
}  // namespace fathom::model
