// The weight cache end to end on the fixture models: the first load quantizes (or repacks) and
// writes the cache beside the checkpoint, the next maps it, and the logits are bit-identical to
// an uncached load; a changed checkpoint, a corrupt or truncated cache file and a read-only
// model folder each fall back to producing the weights, never to a crash or another answer.
#include "model/weight_cache.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>

#include "model/model.h"
#include "support/all_logits.h"
#include "support/reference.h"
#include "support/temp_dir.h"

namespace fathom::model {
namespace {

namespace fs = std::filesystem;
using fathom::testing::fixture_dir;
using fathom::testing::Reference;
using fathom::testing::TempDir;

struct Case {
  std::string fixture;
  Quantization quantization;
  std::string variant;  ///< the cache file's name part
};

std::string case_name(const ::testing::TestParamInfo<Case>& info) {
  return info.param.fixture + "_" + quantization_name(info.param.quantization);
}

class WeightCacheTest : public ::testing::TestWithParam<Case> {
 protected:
  void SetUp() override {
    model_dir_ = tmp_.file("model");
    fs::copy(fixture_dir(GetParam().fixture), model_dir_);
    cache_path_ = model_dir_ + "/.fathom-cache/weights-" + GetParam().variant + ".fwc";
    fallback_dir_ = tmp_.file("fallback");
  }

  /// Logits of every position of the fixture's first prompt, loading model_dir_.
  std::vector<float> logits(bool cache, LoadOptions::When huge = LoadOptions::When::kOff) {
    LoadOptions opts;
    opts.quantization = GetParam().quantization;
    opts.weight_cache = cache;
    opts.huge_pages = huge;
    opts.weight_cache_dir = fallback_dir_;
    auto m = load_model(model_dir_, opts);
    EXPECT_TRUE(m.ok()) << m.status().to_string();
    if (!m.ok()) return {};
    return testing::all_logits(**m, Reference(GetParam().fixture).ids("p1.input_ids"));
  }

  /// What a fresh session over model_dir_ finds: "weight cache hit: ..." or the miss reason.
  std::string probe() {
    auto ck = formats::Checkpoint::open(model_dir_);
    EXPECT_TRUE(ck.ok());
    WeightCacheOptions o;
    o.enabled = true;
    o.variant = GetParam().variant;
    o.fallback_dir = fallback_dir_;
    WeightCacheSession s(model_dir_, *ck, o, clock_, default_thread_pool());
    return s.finish();  // produced nothing: never writes
  }

  static void truncate_to(const std::string& path, uintmax_t size) { fs::resize_file(path, size); }
  static void flip_byte(const std::string& path, std::streamoff offset_from_end, char mask = 0x5a) {
    std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
    f.seekg(-offset_from_end, std::ios::end);
    const char c = static_cast<char>(f.get() ^ mask);
    f.seekp(-offset_from_end, std::ios::end);
    f.put(c);
  }

  TempDir tmp_;
  SteadyClock clock_;
  std::string model_dir_, cache_path_, fallback_dir_;
};

TEST_P(WeightCacheTest, SecondLoadMapsTheCacheAndGivesBitIdenticalLogits) {
  const std::vector<float> uncached = logits(false);
  ASSERT_FALSE(uncached.empty());
  EXPECT_FALSE(fs::exists(cache_path_)) << "--no-weight-cache wrote a cache";
  EXPECT_EQ(logits(true), uncached);  // miss: produces and writes
  ASSERT_TRUE(fs::exists(cache_path_));
  const auto written = fs::last_write_time(cache_path_);
  EXPECT_EQ(probe().rfind("weight cache hit: " + cache_path_, 0), 0u) << probe();
  EXPECT_EQ(logits(true), uncached);  // hit: maps
  EXPECT_EQ(fs::last_write_time(cache_path_), written) << "a hit rewrote the cache";
}

TEST_P(WeightCacheTest, HitCopiedIntoHugePagesGivesBitIdenticalLogits) {
  const std::vector<float> uncached = logits(false);
  ASSERT_EQ(logits(true), uncached);  // writes the cache
  EXPECT_EQ(logits(true, LoadOptions::When::kAtLoad), uncached);
  // In the background: the forward pass reads the weights while they move.
  EXPECT_EQ(logits(true, LoadOptions::When::kBackground), uncached);
}

TEST_P(WeightCacheTest, ChangedCheckpointInvalidatesTheCache) {
  ASSERT_FALSE(logits(true).empty());
  ASSERT_EQ(probe().rfind("weight cache hit", 0), 0u);
  // The lowest mantissa bit of an element of the file's last tensor (a bf16 norm or f16 scale).
  flip_byte(model_dir_ + "/model.safetensors", 4, 0x01);
  EXPECT_NE(probe().find("stale"), std::string::npos) << probe();
  const std::vector<float> changed = logits(true);  // rebuilds for the new content
  EXPECT_EQ(probe().rfind("weight cache hit", 0), 0u) << probe();
  EXPECT_EQ(logits(true), changed);
  EXPECT_EQ(logits(false), changed);
}

TEST_P(WeightCacheTest, CorruptCacheFileIsRebuilt) {
  const std::vector<float> uncached = logits(false);
  ASSERT_EQ(logits(true), uncached);
  flip_byte(cache_path_, 5);  // inside the last buffer
  EXPECT_NE(probe().find("checksum mismatch"), std::string::npos) << probe();
  EXPECT_EQ(logits(true), uncached);
  EXPECT_EQ(probe().rfind("weight cache hit", 0), 0u) << probe();
  flip_byte(cache_path_, static_cast<std::streamoff>(fs::file_size(cache_path_)) - 140);  // index
  EXPECT_NE(probe().find("mismatch"), std::string::npos) << probe();
  EXPECT_EQ(logits(true), uncached);
}

TEST_P(WeightCacheTest, TruncatedCacheFileIsRebuilt) {
  const std::vector<float> uncached = logits(false);
  ASSERT_EQ(logits(true), uncached);
  const uintmax_t size = fs::file_size(cache_path_);
  for (const uintmax_t keep : {uintmax_t{0}, uintmax_t{60}, uintmax_t{200}, size / 2, size - 1}) {
    truncate_to(cache_path_, keep);
    EXPECT_EQ(probe().rfind("weight cache miss", 0), 0u) << keep;
    EXPECT_EQ(logits(true), uncached) << "truncated to " << keep;
    EXPECT_EQ(fs::file_size(cache_path_), size) << "not rebuilt after truncation to " << keep;
  }
}

TEST_P(WeightCacheTest, ReadOnlyModelFolderUsesTheFallbackDirectory) {
  // A file where the cache folder would go blocks it even for root; the mode blocks the rest.
  testing::write_text(model_dir_ + "/.fathom-cache", "not a folder");
  ASSERT_EQ(::chmod(model_dir_.c_str(), 0555), 0);
  const std::vector<float> uncached = logits(false);
  EXPECT_EQ(logits(true), uncached);
  std::vector<fs::path> files;
  for (const auto& e : fs::recursive_directory_iterator(fallback_dir_))
    if (e.is_regular_file()) files.push_back(e.path());
  ASSERT_EQ(files.size(), 1u);
  EXPECT_EQ(files[0].extension(), ".fwc");
  EXPECT_EQ(probe().rfind("weight cache hit: " + files[0].string(), 0), 0u) << probe();
  EXPECT_EQ(logits(true), uncached);
  ::chmod(model_dir_.c_str(), 0755);
}

INSTANTIATE_TEST_SUITE_P(Fixtures, WeightCacheTest,
                         ::testing::Values(Case{"qwen2", Quantization::kInt8, "int8"},
                                           Case{"qwen2", Quantization::kInt4, "int4"},
                                           Case{"llama", Quantization::kInt4, "int4"},
                                           Case{"deepseek_v2", Quantization::kInt8, "int8"},
                                           Case{"qwen2_gptq", Quantization::kAuto, "repack"}),
                         case_name);

TEST(WeightCacheOff, FloatCheckpointWithoutQuantizationWritesNothing) {
  TempDir tmp;
  const std::string dir = tmp.file("model");
  fs::copy(fixture_dir("qwen2"), dir);
  LoadOptions opts;
  opts.weight_cache = true;
  opts.weight_cache_dir = tmp.file("fallback");
  ASSERT_TRUE(load_model(dir, opts).ok());
  EXPECT_FALSE(fs::exists(dir + "/.fathom-cache"));
  EXPECT_FALSE(fs::exists(tmp.file("fallback")));
}

TEST(HugePages, FloatCheckpointReadInPlaceGivesBitIdenticalLogits) {
  for (const char* fixture : {"qwen2", "deepseek_v2"}) {
    std::vector<float> want;
    for (const auto huge :
         {LoadOptions::When::kOff, LoadOptions::When::kAtLoad, LoadOptions::When::kBackground}) {
      LoadOptions opts;
      opts.huge_pages = huge;
      auto m = load_model(fixture_dir(fixture), opts);
      ASSERT_TRUE(m.ok()) << m.status().to_string();
      const std::vector<float> got =
          testing::all_logits(**m, Reference(fixture).ids("p1.input_ids"));
      if (want.empty())
        want = got;
      else
        EXPECT_EQ(got, want) << fixture << " huge pages " << static_cast<int>(huge);
    }
  }
}

}  // namespace
}  // namespace fathom::model
