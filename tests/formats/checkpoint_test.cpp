#include "formats/checkpoint.h"

#include <gtest/gtest.h>

#include "support/temp_dir.h"

namespace fathom::formats {
namespace {

using fathom::testing::TempDir;
using fathom::testing::write_text;

TEST(CheckpointTest, OpensTheFixtureModel) {
  auto ck = Checkpoint::open("tests/data/models/llama");
  ASSERT_TRUE(ck.ok()) << ck.status().to_string();
  const TensorView* t = ck->find("model.embed_tokens.weight");
  ASSERT_NE(t, nullptr);
  EXPECT_EQ(t->dtype, DType::kBF16);
  EXPECT_EQ(t->shape, (std::vector<int64_t>{512, 64}));
  EXPECT_EQ(ck->find("no.such.tensor"), nullptr);
}

TEST(CheckpointTest, ShardedCheckpointFollowsTheIndex) {
  TempDir dir;
  ASSERT_TRUE(write_safetensors(dir.file("model-00001-of-00002.safetensors"),
                                {make_f32_tensor("a", {2}, {1, 2})}).ok());
  ASSERT_TRUE(write_safetensors(dir.file("model-00002-of-00002.safetensors"),
                                {make_f32_tensor("b", {1}, {3})}).ok());
  write_text(dir.file("model.safetensors.index.json"),
             R"({"metadata":{},"weight_map":{"a":"model-00001-of-00002.safetensors",)"
             R"("b":"model-00002-of-00002.safetensors"}})");
  auto ck = Checkpoint::open(dir.path());
  ASSERT_TRUE(ck.ok()) << ck.status().to_string();
  EXPECT_EQ(ck->num_tensors(), 2u);
  ASSERT_NE(ck->find("b"), nullptr);
  EXPECT_FLOAT_EQ(ck->find("b")->as<float>()[0], 3.0f);
}

TEST(CheckpointTest, IndexProblemsAreReportedTogether) {
  TempDir dir;
  ASSERT_TRUE(write_safetensors(dir.file("s1.safetensors"), {make_f32_tensor("a", {1}, {1})}).ok());
  ASSERT_TRUE(write_safetensors(dir.file("s2.safetensors"), {make_f32_tensor("a", {1}, {2})}).ok());
  write_text(dir.file("model.safetensors.index.json"),
             R"({"weight_map":{"a":"s1.safetensors","ghost":"s2.safetensors"}})");
  auto ck = Checkpoint::open(dir.path());
  ASSERT_FALSE(ck.ok());
  const std::string& m = ck.status().message();
  EXPECT_NE(m.find("'a' appears in both"), std::string::npos) << m;
  EXPECT_NE(m.find("maps 'ghost' to s2.safetensors but that file does not contain it"),
            std::string::npos) << m;
}

TEST(CheckpointTest, MissingShardIsReported) {
  TempDir dir;
  write_text(dir.file("model.safetensors.index.json"), R"({"weight_map":{"a":"gone.safetensors"}})");
  auto ck = Checkpoint::open(dir.path());
  ASSERT_FALSE(ck.ok());
  EXPECT_NE(ck.status().message().find("gone.safetensors"), std::string::npos);
}

TEST(CheckpointTest, EmptyDirectoryAndBadIndexAreClearErrors) {
  TempDir dir;
  auto empty = Checkpoint::open(dir.path());
  ASSERT_FALSE(empty.ok());
  EXPECT_NE(empty.status().message().find("no model.safetensors"), std::string::npos);
  write_text(dir.file("model.safetensors.index.json"), R"({"weight_map":{"a":"../../etc/passwd"}})");
  auto evil = Checkpoint::open(dir.path());
  ASSERT_FALSE(evil.ok());
  EXPECT_NE(evil.status().message().find("plain file name"), std::string::npos);
}

}  // namespace
}  // namespace fathom::formats
