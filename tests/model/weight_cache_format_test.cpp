// The weight cache file format: every storable layout round-trips bit for bit, and a file that
// lies (bad magic or version, ranges outside the file, misaligned or overlapping-the-end
// buffers, indices the kernels would follow out of bounds) is an error naming the problem.
#include "model/weight_cache_format.h"

#include <gtest/gtest.h>

#include <cstring>
#include <random>
#include <sstream>

#include "kernels/quantize_weight.h"

namespace fathom::model {
namespace {

using kernels::LinearWeight;
using kernels::WeightFormat;

/// A float weight [out, in] of random values that owns its buffer.
LinearWeight random_f32(int64_t out, int64_t in, uint32_t seed) {
  auto v = std::make_shared<std::vector<float>>(static_cast<size_t>(out * in));
  std::mt19937 rng(seed);
  std::normal_distribution<float> d(0.0f, 0.5f);
  for (float& x : *v) x = d(rng);
  LinearWeight w;
  w.format = WeightFormat::kF32;
  w.out_features = out;
  w.in_features = in;
  w.values = v->data();
  w.storage = {v};
  return w;
}

/// An int4 weight with a per-column group index and an input permutation (act-order).
LinearWeight int4_with_indices(int64_t out, int64_t in) {
  LinearWeight w = kernels::quantize_weight(
      random_f32(out, in, 7), kernels::QuantTarget::kInt4Grouped, default_thread_pool());
  auto idx = std::make_shared<std::vector<int32_t>>(static_cast<size_t>(in));
  auto perm = std::make_shared<std::vector<int32_t>>(static_cast<size_t>(in));
  for (int64_t i = 0; i < in; ++i) {
    (*idx)[i] = static_cast<int32_t>(i / w.group_size);
    (*perm)[i] = static_cast<int32_t>(in - 1 - i);
  }
  w.group_idx = idx->data();
  w.input_perm = perm->data();
  w.storage.push_back(idx);
  w.storage.push_back(perm);
  return w;
}

std::string encode(std::vector<LinearWeight> ws) {
  for (size_t i = 0; i < ws.size(); ++i) ws[i].name = "w" + std::to_string(i);
  std::ostringstream out;
  write_weight_cache(out, ws, {11, 22}, 1234);
  return out.str();
}

Result<std::vector<LinearWeight>> decode(const std::string& bytes) {
  const auto* p = reinterpret_cast<const uint8_t*>(bytes.data());
  FATHOM_ASSIGN_OR_RETURN(WeightCacheHeader h, parse_weight_cache_header(p, bytes.size()));
  return parse_weight_cache_index(p, bytes.size(), h);
}

bool same_bytes(const void* a, const void* b, size_t n) {
  return (a == nullptr && b == nullptr) || (a && b && std::memcmp(a, b, n) == 0);
}

TEST(WeightCacheFormat, EveryLayoutRoundTripsBitForBit) {
  ThreadPool& pool = default_thread_pool();
  const LinearWeight f32 = random_f32(5, 37, 1);
  const std::vector<LinearWeight> ws = {
      f32,
      kernels::quantize_weight(random_f32(9, 300, 2), kernels::QuantTarget::kInt8Channel, pool),
      kernels::quantize_weight(random_f32(7, 261, 3), kernels::QuantTarget::kInt4Grouped, pool),
      kernels::quantize_weight(random_f32(130, 140, 4), kernels::QuantTarget::kFp8Block, pool),
      int4_with_indices(3, 257),
  };
  const std::string bytes = encode(ws);
  auto h = parse_weight_cache_header(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
  ASSERT_TRUE(h.ok()) << h.status().to_string();
  EXPECT_EQ(h->key, (WeightCacheKey{11, 22}));
  EXPECT_EQ(h->build_ns, 1234u);
  auto got = decode(bytes);
  ASSERT_TRUE(got.ok()) << got.status().to_string();
  ASSERT_EQ(got->size(), ws.size());
  for (size_t k = 0; k < ws.size(); ++k) {
    const LinearWeight &a = ws[k], &b = (*got)[k];
    SCOPED_TRACE(k);
    EXPECT_EQ(b.name, "w" + std::to_string(k));
    EXPECT_EQ(b.format, a.format);
    EXPECT_EQ(b.out_features, a.out_features);
    EXPECT_EQ(b.in_features, a.in_features);
    EXPECT_EQ(b.size_bytes(), a.size_bytes());
    const auto n = static_cast<size_t>(a.out_features * a.in_features);
    const auto o = static_cast<size_t>(a.out_features), in = static_cast<size_t>(a.in_features);
    const auto g = o * static_cast<size_t>(a.num_groups);
    switch (a.format) {
      case WeightFormat::kF32:
        EXPECT_TRUE(same_bytes(a.values, b.values, n * 4));
        break;
      case WeightFormat::kInt8Channel:
        EXPECT_TRUE(same_bytes(a.q8, b.q8, n));
        EXPECT_TRUE(same_bytes(a.channel_scale, b.channel_scale, o * 4));
        break;
      case WeightFormat::kInt4Grouped:
        EXPECT_EQ(b.group_size, a.group_size);
        EXPECT_EQ(b.num_groups, a.num_groups);
        EXPECT_TRUE(same_bytes(a.q4, b.q4, o * ((in + 1) / 2)));
        EXPECT_TRUE(same_bytes(a.group_scale, b.group_scale, g * 4));
        EXPECT_TRUE(same_bytes(a.group_zero, b.group_zero, g));
        EXPECT_TRUE(same_bytes(a.group_idx, b.group_idx, in * 4));
        EXPECT_TRUE(same_bytes(a.input_perm, b.input_perm, in * 4));
        break;
      case WeightFormat::kFp8Block:
        EXPECT_EQ(b.block_out, a.block_out);
        EXPECT_EQ(b.block_in, a.block_in);
        EXPECT_TRUE(same_bytes(a.values, b.values, n));
        EXPECT_TRUE(same_bytes(a.block_scale_inv, b.block_scale_inv, 2 * 2 * 4));
        break;
      default:
        ADD_FAILURE() << "unexpected format";
    }
    for (const void* p : {b.values, static_cast<const void*>(b.q8), static_cast<const void*>(b.q4),
                          static_cast<const void*>(b.group_scale)})
      if (p) {
        EXPECT_EQ(reinterpret_cast<uintptr_t>(p) % 64,
                  reinterpret_cast<uintptr_t>(bytes.data()) % 64);
      }
  }
}

TEST(WeightCacheFormat, GgmlWeightsAreNotStorable) {
  LinearWeight w = random_f32(2, 32, 1);
  EXPECT_TRUE(weight_cache_storable(w));
  w.format = WeightFormat::kGgml;
  EXPECT_FALSE(weight_cache_storable(w));
}

/// Offsets of the header fields and of the first index record (name "w0").
constexpr size_t kVersion = 8, kIndexSize = 40, kDataOffset = 48, kDataSize = 56;
constexpr size_t kRecord = 128, kRecordFormat = kRecord + 4 + 2, kRecordOut = kRecord + 4 + 2 + 4;

template <typename T>
void poke(std::string& bytes, size_t at, T v) {
  std::memcpy(bytes.data() + at, &v, sizeof v);
}

std::string error_of(const std::string& bytes) {
  auto r = decode(bytes);
  return r.ok() ? "accepted" : r.status().message();
}

TEST(WeightCacheFormat, LyingFilesAreErrorsThatSayWhy) {
  const std::string good = encode({int4_with_indices(3, 40)});
  ASSERT_EQ(error_of(good), "accepted");
  auto mutated = [&](auto&& f) {
    std::string b = good;
    f(b);
    return error_of(b);
  };
  EXPECT_NE(error_of(good.substr(0, 100)).find("truncated"), std::string::npos);
  EXPECT_NE(error_of(good.substr(0, good.size() - 1)).find("does not end the file"),
            std::string::npos);
  EXPECT_NE(mutated([](std::string& b) { b[0] = 'X'; }).find("not a fathom weight cache"),
            std::string::npos);
  EXPECT_NE(mutated([](std::string& b) { poke<uint32_t>(b, kVersion, 99); }).find("version 99"),
            std::string::npos);
  EXPECT_NE(mutated([](std::string& b) {
              poke<uint64_t>(b, kIndexSize, 1ull << 60);
            }).find("outside the file"),
            std::string::npos);
  EXPECT_NE(mutated([](std::string& b) {
              poke<uint64_t>(b, kDataOffset, 136);
            }).find("does not end the file"),
            std::string::npos);
  EXPECT_NE(mutated([](std::string& b) {
              poke<uint64_t>(b, kDataSize, 1);
            }).find("does not end the file"),
            std::string::npos);
  EXPECT_NE(mutated([](std::string& b) { b[kRecordFormat] = 42; }).find("format 42 unknown"),
            std::string::npos);
  EXPECT_NE(mutated([](std::string& b) { b[kRecordFormat] = 6; }).find("ggml"), std::string::npos);
  EXPECT_NE(mutated([](std::string& b) { poke<int64_t>(b, kRecordOut, -3); }).find("out of range"),
            std::string::npos);
  EXPECT_NE(
      mutated([](std::string& b) { poke<int64_t>(b, kRecordOut, 3000); }).find("outside the data"),
      std::string::npos);
  EXPECT_NE(
      mutated([](std::string& b) { poke<uint32_t>(b, kRecord, 1u << 30); }).find("bad length"),
      std::string::npos);
}

TEST(WeightCacheFormat, IndicesTheKernelsFollowAreChecked) {
  // group_idx is the 4th buffer, input_perm the 5th; find them through a clean decode.
  const std::string good = encode({int4_with_indices(3, 40)});
  auto w = decode(good);
  ASSERT_TRUE(w.ok());
  const size_t idx_at = reinterpret_cast<const char*>((*w)[0].group_idx) - good.data();
  const size_t perm_at = reinterpret_cast<const char*>((*w)[0].input_perm) - good.data();
  std::string b = good;
  poke<int32_t>(b, idx_at + 4 * 5, 1000);
  EXPECT_NE(error_of(b).find("group_idx[5] = 1000 out of range"), std::string::npos) << error_of(b);
  b = good;
  poke<int32_t>(b, perm_at + 4 * 2, 0);  // a repeated column
  EXPECT_NE(error_of(b).find("not a permutation"), std::string::npos) << error_of(b);
  b = good;
  poke<int32_t>(b, perm_at, -1);
  EXPECT_NE(error_of(b).find("input_perm[0] = -1"), std::string::npos) << error_of(b);
}

TEST(WeightCacheFormat, DuplicateNamesAreRejected) {
  LinearWeight a = random_f32(2, 8, 1), b = random_f32(2, 8, 2);
  a.name = b.name = "same";
  std::ostringstream out;
  write_weight_cache(out, {a, b}, {1, 2}, 0);
  EXPECT_NE(error_of(out.str()).find("'same' twice"), std::string::npos) << error_of(out.str());
}

}  // namespace
}  // namespace fathom::model
