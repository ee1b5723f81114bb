// The per-tensor types of llama.cpp's k-quant mixes (llama-quant.cpp llama_tensor_get_type),
// walked over the tensor order gguf_export writes: a Qwen2.5-1.5B-shaped model (28 layers, tied
// embeddings) and a small untied one, and on the qwen2 fixture, where no row divides into 256
// and llama.cpp's fallbacks apply.
#include "quant/kquant_mix.h"

#include <gtest/gtest.h>

#include <map>
#include <set>

#include "formats/gguf.h"
#include "model/gguf_export.h"
#include "support/temp_dir.h"

namespace fathom::quant {
namespace {

struct Shape {
  int64_t layers, hidden, ffn, kv_dim, vocab;
  bool tied;
};

// name -> type for every tensor of a dense model in gguf_export's order.
std::map<std::string, GgmlType> walk(KQuantMix mix, const Shape& s) {
  KQuantModelInfo info{"qwen2", s.layers, 0, !s.tied, s.layers};
  KQuantMixPlanner p(mix, info);
  std::map<std::string, GgmlType> out;
  auto at = [&](const std::string& name, std::vector<int64_t> dims) {
    out[name] = p.type_for(name, dims);
  };
  at("token_embd.weight", {s.hidden, s.vocab});
  at("output_norm.weight", {s.hidden});
  if (!s.tied) at("output.weight", {s.hidden, s.vocab});
  for (int64_t l = 0; l < s.layers; ++l) {
    const std::string b = "blk." + std::to_string(l) + ".";
    at(b + "attn_norm.weight", {s.hidden});
    at(b + "ffn_norm.weight", {s.hidden});
    at(b + "attn_q.weight", {s.hidden, s.hidden});
    at(b + "attn_q.bias", {s.hidden});
    at(b + "attn_k.weight", {s.hidden, s.kv_dim});
    at(b + "attn_v.weight", {s.hidden, s.kv_dim});
    at(b + "attn_output.weight", {s.hidden, s.hidden});
    at(b + "ffn_gate.weight", {s.hidden, s.ffn});
    at(b + "ffn_up.weight", {s.hidden, s.ffn});
    at(b + "ffn_down.weight", {s.ffn, s.hidden});
  }
  return out;
}

const Shape k1_5B{28, 1536, 8960, 256, 151936, true};

TEST(KQuantMixTest, Q4_K_MOn1_5BShape) {
  auto t = walk(KQuantMix::kQ4_K_M, k1_5B);
  // Tied embeddings take the output rule: Q6_K.
  EXPECT_EQ(t["token_embd.weight"], GgmlType::kQ6_K);
  EXPECT_EQ(t["output_norm.weight"], GgmlType::kF32);
  EXPECT_EQ(t["blk.0.attn_q.bias"], GgmlType::kF32);
  // use_more_bits(i, 28): i < 3, i >= 24, or (i - 3) % 3 == 2.
  const std::set<int> more = {0, 1, 2, 5, 8, 11, 14, 17, 20, 23, 24, 25, 26, 27};
  for (int l = 0; l < 28; ++l) {
    const std::string b = "blk." + std::to_string(l) + ".";
    const GgmlType big = more.count(l) ? GgmlType::kQ6_K : GgmlType::kQ4_K;
    EXPECT_EQ(t[b + "attn_v.weight"], big) << l;
    EXPECT_EQ(t[b + "ffn_down.weight"], big) << l;
    for (const char* n : {"attn_q", "attn_k", "attn_output", "ffn_gate", "ffn_up"})
      EXPECT_EQ(t[b + n + ".weight"], GgmlType::kQ4_K) << b << n;
  }
}

TEST(KQuantMixTest, Q5_K_MQ6_KAndQ8_0On1_5BShape) {
  auto t5 = walk(KQuantMix::kQ5_K_M, k1_5B);
  EXPECT_EQ(t5["token_embd.weight"], GgmlType::kQ6_K);
  EXPECT_EQ(t5["blk.0.attn_v.weight"], GgmlType::kQ6_K);
  EXPECT_EQ(t5["blk.3.attn_v.weight"], GgmlType::kQ5_K);
  EXPECT_EQ(t5["blk.5.ffn_down.weight"], GgmlType::kQ6_K);
  EXPECT_EQ(t5["blk.6.ffn_down.weight"], GgmlType::kQ5_K);
  EXPECT_EQ(t5["blk.6.attn_q.weight"], GgmlType::kQ5_K);
  for (const auto& [name, type] : walk(KQuantMix::kQ6_K, k1_5B))
    EXPECT_EQ(type,
              name.find("_norm") != std::string::npos || name.find("bias") != std::string::npos
                  ? GgmlType::kF32
                  : GgmlType::kQ6_K)
        << name;
  for (const auto& [name, type] : walk(KQuantMix::kQ8_0, k1_5B))
    EXPECT_EQ(type,
              name.find("_norm") != std::string::npos || name.find("bias") != std::string::npos
                  ? GgmlType::kF32
                  : GgmlType::kQ8_0)
        << name;
}

TEST(KQuantMixTest, SmallUntiedModel) {
  // 4 layers: use_more_bits(i, 4) holds for i >= 7*4/8 = 3 and for (i - 0) % 3 == 2, i.e.
  // layers 2 and 3; token_embd keeps the default type.
  auto t = walk(KQuantMix::kQ4_K_M, Shape{4, 256, 512, 128, 512, false});
  EXPECT_EQ(t["token_embd.weight"], GgmlType::kQ4_K);
  EXPECT_EQ(t["output.weight"], GgmlType::kQ6_K);
  for (int l = 0; l < 4; ++l) {
    const GgmlType want = l >= 2 ? GgmlType::kQ6_K : GgmlType::kQ4_K;
    EXPECT_EQ(t["blk." + std::to_string(l) + ".attn_v.weight"], want) << l;
    EXPECT_EQ(t["blk." + std::to_string(l) + ".ffn_down.weight"], want) << l;
    EXPECT_EQ(t["blk." + std::to_string(l) + ".ffn_up.weight"], GgmlType::kQ4_K) << l;
  }
}

TEST(KQuantMixTest, MoeRulesReadTheLayerFromTheName) {
  // DeepSeek-V2-Lite-like: 27 layers, 64 experts; every ffn_down* of a layer shares its rule.
  KQuantMixPlanner p(KQuantMix::kQ4_K_M, {"deepseek2", 27, 64, false, 0});
  EXPECT_EQ(p.type_for("blk.0.ffn_down.weight", {10944, 2048}), GgmlType::kQ6_K);
  EXPECT_EQ(p.type_for("blk.4.ffn_down_exps.weight", {1408, 2048, 64}), GgmlType::kQ4_K);
  EXPECT_EQ(p.type_for("blk.5.ffn_down_shexp.weight", {2816, 2048}), GgmlType::kQ6_K);
  EXPECT_EQ(p.type_for("blk.26.ffn_down_exps.weight", {1408, 2048, 64}), GgmlType::kQ6_K);
  EXPECT_EQ(p.type_for("blk.4.ffn_gate_inp.weight", {2048, 64}), GgmlType::kF32);
  EXPECT_EQ(p.type_for("blk.4.attn_kv_a_norm.weight", {512}), GgmlType::kF32);
}

TEST(KQuantMixTest, FixtureFallsBackWhereRowsDoNotDivide) {
  // qwen2 fixture: hidden 64, ffn 160, 2 layers, tied. Q4_K -> Q5_0 and Q6_K -> Q8_0 (rows of
  // 64 and 160 elements); the tied token_embd takes the output rule's Q8_0.
  fathom::testing::TempDir tmp;
  model::GgufExportOptions o;
  KQuantMixPlanner p(KQuantMix::kQ4_K_M, {"qwen2", 2, 0, false, 2});
  o.type_for = [&](const std::string& name, const std::vector<int64_t>& dims) {
    return p.type_for(name, dims);
  };
  o.kquant_search = true;
  auto summary = model::export_gguf("tests/data/models/qwen2", tmp.file("m.gguf"), o);
  ASSERT_TRUE(summary.ok()) << summary.status().message();
  auto g = formats::GgufFile::open(tmp.file("m.gguf"));
  ASSERT_TRUE(g.ok()) << g.status().message();
  std::map<std::string, GgmlType> types;
  for (const auto& t : g->contents().tensors) types[t.name] = t.type;
  EXPECT_EQ(types["token_embd.weight"], GgmlType::kQ8_0);
  EXPECT_EQ(types["blk.0.attn_v.weight"], GgmlType::kQ5_0);
  EXPECT_EQ(types["blk.1.attn_v.weight"], GgmlType::kQ8_0);  // use_more_bits(1, 2)
  EXPECT_EQ(types["blk.0.ffn_down.weight"], GgmlType::kQ5_0);
  EXPECT_EQ(types["blk.1.ffn_down.weight"], GgmlType::kQ8_0);
  EXPECT_EQ(types["blk.1.attn_q.weight"], GgmlType::kQ5_0);
  EXPECT_EQ(types["blk.1.attn_norm.weight"], GgmlType::kF32);
  EXPECT_EQ((*summary)[GgmlType::kQ5_0], 12);
  EXPECT_EQ((*summary)[GgmlType::kQ8_0], 3);
}

}  // namespace
}  // namespace fathom::quant
