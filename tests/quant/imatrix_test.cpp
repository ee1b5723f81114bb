// Importance matrices in llama.cpp's .dat layout: bytes built here from the layout
// (examples/imatrix save_imatrix, examples/quantize load_imatrix) parse to the means, round
// trips keep every field, every truncation and every lying count or value is an error naming
// the field, and the collector averages x^2 per input column under the GGUF names.
#include "quant/imatrix.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>

#include "quant/kquant_gguf.h"
#include "support/temp_dir.h"

namespace fathom::quant {
namespace {

void i32(std::string& b, int32_t v) { b.append(reinterpret_cast<const char*>(&v), 4); }
void f32(std::string& b, float v) { b.append(reinterpret_cast<const char*>(&v), 4); }

// Two entries as llama.cpp's imatrix writes them: the mean times ncall.
std::string llama_file(bool trailer) {
  std::string b;
  i32(b, 2);
  i32(b, 21);
  b += "blk.0.attn_q.weight\0\0";  // a name may hold any bytes; its length says how many
  b.resize(4 + 4 + 21);
  i32(b, 4);  // ncall
  i32(b, 3);
  for (float v : {4.0f, 8.0f, 0.0f}) f32(b, v);
  const std::string n2 = "blk.0.ffn_down.weight";
  i32(b, static_cast<int32_t>(n2.size()));
  b += n2;
  i32(b, 2);
  i32(b, 2);
  for (float v : {1.0f, 3.0f}) f32(b, v);
  if (trailer) {
    i32(b, 10);
    i32(b, 8);
    b += "wiki.txt";
  }
  return b;
}

TEST(ImatrixTest, ParsesLlamaCppLayout) {
  for (bool trailer : {false, true}) {
    auto m = parse_imatrix(llama_file(trailer));
    ASSERT_TRUE(m.ok()) << m.status().message();
    ASSERT_EQ(m->entries.size(), 2u);
    const ImatrixEntry& d = m->entries.at("blk.0.ffn_down.weight");
    EXPECT_EQ(d.ncall, 2);
    EXPECT_EQ(d.values, (std::vector<float>{0.5f, 1.5f}));
    EXPECT_EQ(m->chunks, trailer ? 10 : 0);
    EXPECT_EQ(m->dataset, trailer ? "wiki.txt" : "");
  }
}

TEST(ImatrixTest, RoundTripsThroughTheFile) {
  fathom::testing::TempDir tmp;
  Imatrix m;
  m.chunks = 7;
  m.dataset = "calib.txt";
  m.entries["blk.1.attn_v.weight"] = {3, {0.25f, 2.0f, 1e-6f}};
  m.entries["blk.1.ffn_up.weight"] = {7, {1.0f}};
  ASSERT_TRUE(write_imatrix(tmp.file("m.dat"), m).ok());
  auto back = read_imatrix(tmp.file("m.dat"));
  ASSERT_TRUE(back.ok()) << back.status().message();
  EXPECT_EQ(back->chunks, 7);
  EXPECT_EQ(back->dataset, "calib.txt");
  ASSERT_EQ(back->entries.size(), 2u);
  for (const auto& [name, e] : m.entries) {
    EXPECT_EQ(back->entries.at(name).ncall, e.ncall);
    for (size_t j = 0; j < e.values.size(); ++j)
      EXPECT_FLOAT_EQ(back->entries.at(name).values[j], e.values[j]) << name << " " << j;
  }
  EXPECT_NE(read_imatrix(tmp.file("missing.dat")).status().message().find("cannot open"),
            std::string::npos);
}

std::string error_of(const std::string& bytes) {
  auto m = parse_imatrix(bytes);
  return m.ok() ? "ok" : m.status().message();
}

TEST(ImatrixTest, EveryTruncationIsAnError) {
  const std::string full = llama_file(true);
  for (size_t n = 0; n < full.size(); ++n) {
    // Cutting exactly before the trailer leaves a valid old-style file.
    if (n == llama_file(false).size()) continue;
    EXPECT_NE(error_of(full.substr(0, n)), "ok") << n;
  }
}

TEST(ImatrixTest, LyingFieldsAreNamed) {
  auto patched = [](size_t at, int32_t v) {
    std::string b = llama_file(true);
    std::memcpy(&b[at], &v, 4);
    return error_of(b);
  };
  EXPECT_NE(patched(0, 0).find("entry count 0"), std::string::npos);
  EXPECT_NE(patched(0, 1 << 30).find("entry count"), std::string::npos);
  EXPECT_NE(patched(4, -1).find("entry 0 name length -1"), std::string::npos);
  EXPECT_NE(patched(4, 1 << 30).find("entry 0 name"), std::string::npos);
  EXPECT_NE(patched(29, -3).find("ncall -3"), std::string::npos);
  EXPECT_NE(patched(33, 0).find("(blk.0.attn_q.weight"), std::string::npos);
  EXPECT_NE(patched(33, 0).find("nval 0"), std::string::npos);
  EXPECT_NE(patched(33, 1 << 29).find("values needs"), std::string::npos);
  {
    std::string b = llama_file(true);
    const float nan = std::numeric_limits<float>::quiet_NaN();
    std::memcpy(&b[37], &nan, 4);
    EXPECT_NE(error_of(b).find("value 0 is"), std::string::npos);
    const float neg = -1.0f;
    std::memcpy(&b[37], &neg, 4);
    EXPECT_NE(error_of(b).find("value 0 is"), std::string::npos);
  }
  EXPECT_NE(error_of(llama_file(true) + "x").find("1 bytes after the dataset name"),
            std::string::npos);
  Imatrix twice;
  twice.entries["a"] = {1, {1.0f}};
  std::string b = serialize_imatrix(twice);
  // Two entries, the second a copy of the first.
  std::string dup;
  i32(dup, 2);
  const std::string entry = b.substr(4, 4 + 1 + 4 + 4 + 4);
  dup += entry + entry;
  EXPECT_NE(error_of(dup).find("repeats the name a"), std::string::npos);
}

TEST(ImatrixTest, GgufNamesOfLinearLayers) {
  EXPECT_EQ(gguf_linear_name("model.layers.3.mlp.down_proj"), "blk.3.ffn_down.weight");
  EXPECT_EQ(gguf_linear_name("model.layers.0.self_attn.v_proj"), "blk.0.attn_v.weight");
  EXPECT_EQ(gguf_linear_name("model.layers.12.self_attn.o_proj"), "blk.12.attn_output.weight");
  EXPECT_EQ(gguf_linear_name("model.layers.1.mlp.shared_experts.up_proj"),
            "blk.1.ffn_up_shexp.weight");
  EXPECT_EQ(gguf_linear_name("model.layers.1.self_attn.kv_b_proj"), "");
  EXPECT_EQ(gguf_linear_name("model.layers.1.mlp.experts.3.up_proj"), "");
  EXPECT_EQ(gguf_linear_name("lm_head"), "");
}

TEST(ImatrixTest, CollectorAveragesSquaresPerColumn) {
  ChannelNormCollector c;
  const float a[] = {1, 2, 3, 4};  // 2 rows x 2 cols
  const float b[] = {3, 0};
  c.observe("model.layers.0.self_attn.q_proj", a, 2, 2);
  c.observe("model.layers.0.self_attn.k_proj", a, 2, 2);  // a sibling: the same rows, ignored
  c.observe("model.layers.0.self_attn.q_proj", b, 1, 2);
  Imatrix m =
      imatrix_from_sums(c,
                        {"model.layers.0.self_attn.q_proj", "model.layers.0.self_attn.k_proj",
                         "model.layers.0.self_attn.v_proj", "model.layers.0.mlp.down_proj"},
                        2, "t");
  ASSERT_EQ(m.entries.size(), 3u);  // down_proj saw nothing
  for (const char* n : {"blk.0.attn_q.weight", "blk.0.attn_k.weight", "blk.0.attn_v.weight"}) {
    const ImatrixEntry& e = m.entries.at(n);
    EXPECT_EQ(e.ncall, 2);
    EXPECT_FLOAT_EQ(e.values[0], (1 + 9 + 9) / 3.0f) << n;
    EXPECT_FLOAT_EQ(e.values[1], (4 + 16 + 0) / 3.0f) << n;
  }
}

}  // namespace
}  // namespace fathom::quant
