#include "formats/checkpoint.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <memory>
#include <string>
#include <vector>

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

// Pages of [p, p + len) that are mapped in this process's page tables (/proc/self/pagemap,
// bit 63 "present"): what prefault promises, independent of how many faults the kernel takes.
int64_t present_pages(const void* p, size_t len) {
  const uintptr_t page = 4096, first = reinterpret_cast<uintptr_t>(p) / page,
                  last = (reinterpret_cast<uintptr_t>(p) + len) / page;  // whole pages only
  std::FILE* f = std::fopen("/proc/self/pagemap", "rb");
  if (!f) return -1;
  int64_t present = 0;
  for (uintptr_t v = first + 1; v < last; ++v) {
    uint64_t entry = 0;
    if (std::fseek(f, static_cast<long>(v * 8), SEEK_SET) != 0 ||
        std::fread(&entry, 8, 1, f) != 1) {
      present = -1;
      break;
    }
    present += static_cast<int64_t>(entry >> 63);
  }
  std::fclose(f);
  return present;
}

TEST(CheckpointTest, PrefaultMapsEveryPageAtLoad) {
  TempDir dir;
  const int64_t n = int64_t{4} << 20;  // 16 MiB of floats
  std::vector<float> values(static_cast<size_t>(n), 1.0f);
  ASSERT_TRUE(
      write_safetensors(dir.file("model.safetensors"), {make_f32_tensor("w", {n}, values)}).ok());
  auto ck = Checkpoint::open(dir.path());
  ASSERT_TRUE(ck.ok()) << ck.status().to_string();
  const TensorView& w = *ck->find("w");
  const size_t bytes = static_cast<size_t>(n) * sizeof(float);
  const int64_t pages = static_cast<int64_t>(bytes / 4096) - 1;  // whole pages inside (unaligned)
  const int64_t lazy = present_pages(w.as<float>(), bytes);
  ASSERT_GE(lazy, 0) << "/proc/self/pagemap unreadable";
  EXPECT_LT(lazy, pages / 2) << "the mapping was already populated before prefault";
  ASSERT_TRUE(ck->prefault().ok());
  EXPECT_EQ(present_pages(w.as<float>(), bytes), pages);
  EXPECT_EQ(w.as<float>()[n - 1], 1.0f);
}

TEST(CheckpointTest, PrefaultMapsTheFilesOfAViewCheckpoint) {
  // A GGUF model's checkpoint: views into a mapped file that the owner keeps alive.
  TempDir dir;
  const size_t bytes = size_t{16} << 20;
  write_text(dir.file("blob"), std::string(bytes, '\x01'));
  auto file = MappedFile::open(dir.file("blob"));
  ASSERT_TRUE(file.ok()) << file.status().to_string();
  auto owner = std::make_shared<MappedFile>(std::move(*file));
  TensorView v;
  v.name = "w";
  v.dtype = DType::kF32;
  v.shape = {static_cast<int64_t>(bytes / 4)};
  v.data = owner->data();
  v.size_bytes = static_cast<int64_t>(bytes);
  auto ck = Checkpoint::from_views("blob", {v}, owner, {owner.get()});
  ASSERT_TRUE(ck.ok()) << ck.status().to_string();
  const int64_t pages = static_cast<int64_t>(bytes / 4096) - 1;
  EXPECT_LT(present_pages(owner->data(), bytes), pages / 2);
  ASSERT_TRUE(ck->prefault().ok());
  EXPECT_EQ(present_pages(owner->data(), bytes), pages);
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
