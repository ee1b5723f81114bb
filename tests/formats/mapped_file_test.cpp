// MappedFile::copy_to_huge_pages: the mapping's bytes move into anonymous memory at the same
// addresses (pointers taken before stay valid), chunk by chunk, and a set stop flag leaves the
// rest mapped from the file.
#include "formats/mapped_file.h"

#include <gtest/gtest.h>

#include <atomic>
#include <cstdint>
#include <fstream>
#include <string>

#include "formats/checkpoint.h"
#include "support/temp_dir.h"

namespace fathom::formats {
namespace {

using fathom::testing::TempDir;
using fathom::testing::write_text;

// A file that is not a multiple of the 64 MiB copy chunk nor of a page, with bytes that differ.
std::string pattern(size_t n) {
  std::string s(n, '\0');
  for (size_t i = 0; i < n; ++i) s[i] = static_cast<char>((i * 2654435761u) >> 13);
  return s;
}

// The /proc/self/maps line that covers address p ("" when none).
std::string mapping_of(const void* p) {
  std::ifstream maps("/proc/self/maps");
  const auto at = reinterpret_cast<uintptr_t>(p);
  for (std::string line; std::getline(maps, line);) {
    const uintptr_t begin = std::stoull(line.substr(0, line.find('-')), nullptr, 16);
    const uintptr_t end = std::stoull(line.substr(line.find('-') + 1), nullptr, 16);
    if (at >= begin && at < end) return line;
  }
  return "";
}

TEST(MappedFileTest, OpensAtAHugePageBoundary) {
  TempDir dir;
  write_text(dir.file("f"), pattern(10000));
  auto f = MappedFile::open(dir.file("f"));
  ASSERT_TRUE(f.ok()) << f.status().to_string();
  EXPECT_EQ(reinterpret_cast<uintptr_t>(f->data()) % (uintptr_t{2} << 20), 0u);
}

TEST(MappedFileTest, CopyToHugePagesKeepsAddressesAndBytes) {
  TempDir dir;
  const size_t n = (size_t{64} << 20) + 3 * 4096 + 123;  // two chunks, a partial last page
  const std::string want = pattern(n);
  write_text(dir.file("weights"), want);
  auto f = MappedFile::open(dir.file("weights"));
  ASSERT_TRUE(f.ok()) << f.status().to_string();
  const uint8_t* before = f->data();
  ASSERT_NE(mapping_of(before).find(dir.file("weights")), std::string::npos);
  ASSERT_TRUE(f->copy_to_huge_pages().ok());
  EXPECT_EQ(f->data(), before);
  EXPECT_EQ(f->size(), n);
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(before), n), want);
  // Both chunks are anonymous now: no line of the maps names the file.
  EXPECT_EQ(mapping_of(before).find(dir.file("weights")), std::string::npos);
  EXPECT_EQ(mapping_of(before + n - 1).find(dir.file("weights")), std::string::npos);
}

TEST(MappedFileTest, StopLeavesTheRestMappedFromTheFile) {
  TempDir dir;
  const std::string want = pattern(100000);
  write_text(dir.file("weights"), want);
  auto f = MappedFile::open(dir.file("weights"));
  ASSERT_TRUE(f.ok());
  const std::atomic<bool> stop{true};
  ASSERT_TRUE(f->copy_to_huge_pages(&stop).ok());
  EXPECT_NE(mapping_of(f->data()).find(dir.file("weights")), std::string::npos);
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(f->data()), f->size()), want);
}

TEST(MappedFileTest, EmptyFileHasNothingToCopy) {
  TempDir dir;
  write_text(dir.file("empty"), "");
  auto f = MappedFile::open(dir.file("empty"));
  ASSERT_TRUE(f.ok());
  EXPECT_TRUE(f->copy_to_huge_pages().ok());
  EXPECT_EQ(f->size(), 0u);
}

TEST(MappedFileTest, CheckpointCopiesEveryFile) {
  auto ck = Checkpoint::open("tests/data/models/llama");
  ASSERT_TRUE(ck.ok()) << ck.status().to_string();
  const TensorView* t = ck->find("model.embed_tokens.weight");
  ASSERT_NE(t, nullptr);
  const std::string before(reinterpret_cast<const char*>(t->data),
                           static_cast<size_t>(t->size_bytes));
  ASSERT_TRUE(ck->copy_to_huge_pages().ok());
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(t->data), static_cast<size_t>(t->size_bytes)),
            before);
  for (const MappedFile* f : ck->mapped_files())
    EXPECT_EQ(mapping_of(f->data()).find(f->path()), std::string::npos) << f->path();
}

}  // namespace
}  // namespace fathom::formats
