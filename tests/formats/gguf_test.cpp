// The GGUF reader against images from our writer and hand-made bad ones: every bad header field
// is an error naming it, every truncation is an error, and what the writer writes reads back.
#include "formats/gguf.h"

#include <gtest/gtest.h>

#include <cstring>

#include "formats/gguf_writer.h"

namespace fathom::formats {
namespace {

// Bytes of a GGUF image, field by field.
struct Image {
  std::vector<uint8_t> bytes;
  template <typename T>
  Image& put(T v) {
    const auto* p = reinterpret_cast<const uint8_t*>(&v);
    bytes.insert(bytes.end(), p, p + sizeof(T));
    return *this;
  }
  Image& str(const std::string& s) {
    put<uint64_t>(s.size());
    bytes.insert(bytes.end(), s.begin(), s.end());
    return *this;
  }
  Image& header(uint64_t tensors, uint64_t kvs, uint32_t version = 3) {
    return put<uint32_t>(0x46554747).put(version).put(tensors).put(kvs);
  }
  // A tensor info: name, dims, type, offset.
  Image& tensor(const std::string& name, std::vector<uint64_t> dims, uint32_t type,
                uint64_t offset) {
    str(name).put<uint32_t>(static_cast<uint32_t>(dims.size()));
    for (uint64_t d : dims) put(d);
    return put(type).put(offset);
  }
  Image& pad(size_t alignment = 32) {
    bytes.resize((bytes.size() + alignment - 1) / alignment * alignment, 0);
    return *this;
  }
  Image& data(size_t n) {
    bytes.resize(bytes.size() + n, 0x11);
    return *this;
  }
};

std::string error_of(const Image& img) {
  auto r = parse_gguf(img.bytes.data(), img.bytes.size(), "x.gguf");
  EXPECT_FALSE(r.ok());
  return r.ok() ? "" : r.status().message();
}

#define EXPECT_ERROR(img, text)                                           \
  do {                                                                    \
    const std::string msg_ = error_of(img);                               \
    EXPECT_NE(msg_.find(text), std::string::npos) << "message: " << msg_; \
  } while (0)

std::vector<std::pair<std::string, GgufValue>> sample_metadata() {
  GgufValue u8;
  u8.type = GgufValueType::kU8;
  u8.integer = 200;
  GgufValue i64;
  i64.type = GgufValueType::kI64;
  i64.integer = -5'000'000'000;
  GgufValue f64;
  f64.type = GgufValueType::kF64;
  f64.real = 0.125;
  return {{"general.architecture", GgufValue::string("llama")},
          {"a.u32", GgufValue::u32(7)},
          {"a.i32", GgufValue::i32(-3)},
          {"a.u8", u8},
          {"a.i64", i64},
          {"a.f32", GgufValue::f32(1.5f)},
          {"a.f64", f64},
          {"a.bool", GgufValue::boolean(true)},
          {"a.strings", GgufValue::string_array({"x", "", "héllo"})},
          {"a.ints", GgufValue::i32_array({1, -2, 3})},
          {"a.floats", GgufValue::f32_array({0.5, -0.25})}};
}

TEST(GgufTest, WhatTheWriterWritesReadsBack) {
  std::vector<GgufTensorData> ts;
  ts.push_back({"w.q8", GgmlType::kQ8_0, {64, 3}, std::vector<uint8_t>(3 * 2 * 34, 7)});
  ts.push_back({"w.f32", GgmlType::kF32, {5}, std::vector<uint8_t>(20, 9)});
  ts.push_back({"w.q4k", GgmlType::kQ4_K, {256, 2, 2}, std::vector<uint8_t>(4 * 144, 3)});
  auto img = serialize_gguf(sample_metadata(), ts);
  ASSERT_TRUE(img.ok()) << img.status().to_string();
  auto r = parse_gguf(img->data(), img->size(), "x.gguf");
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  EXPECT_EQ(r->version, 3u);
  EXPECT_EQ(r->data_offset % 32, 0u);
  ASSERT_EQ(r->metadata.size(), sample_metadata().size());
  EXPECT_EQ(r->find("general.architecture")->text, "llama");
  EXPECT_EQ(r->find("a.u32")->integer, 7);
  EXPECT_EQ(r->find("a.i32")->integer, -3);
  EXPECT_EQ(r->find("a.u8")->integer, 200);
  EXPECT_EQ(r->find("a.i64")->integer, -5'000'000'000);
  EXPECT_EQ(r->find("a.f32")->real, 1.5);
  EXPECT_EQ(r->find("a.f64")->real, 0.125);
  EXPECT_EQ(r->find("a.bool")->integer, 1);
  EXPECT_EQ(r->find("a.strings")->texts, (std::vector<std::string>{"x", "", "héllo"}));
  EXPECT_EQ(r->find("a.ints")->integers, (std::vector<int64_t>{1, -2, 3}));
  EXPECT_EQ(r->find("a.floats")->reals, (std::vector<double>{0.5, -0.25}));
  ASSERT_EQ(r->tensors.size(), 3u);
  for (size_t i = 0; i < ts.size(); ++i) {
    const GgufTensor& t = r->tensors[i];
    EXPECT_EQ(t.name, ts[i].name);
    EXPECT_EQ(t.type, ts[i].type);
    EXPECT_EQ(t.dims, ts[i].dims);
    EXPECT_EQ(t.offset % 32, 0u);
    ASSERT_EQ(t.size_bytes, static_cast<int64_t>(ts[i].bytes.size()));
    EXPECT_EQ(std::memcmp(t.data, ts[i].bytes.data(), ts[i].bytes.size()), 0);
  }
}

TEST(GgufTest, EveryTruncationIsAnErrorNeverACrash) {
  std::vector<GgufTensorData> ts = {{"t", GgmlType::kQ4_0, {32, 2}, std::vector<uint8_t>(36, 1)}};
  auto img = serialize_gguf(sample_metadata(), ts);
  ASSERT_TRUE(img.ok());
  auto full = parse_gguf(img->data(), img->size(), "x.gguf");
  ASSERT_TRUE(full.ok());
  // The writer pads the data to the alignment; only the padding after the last tensor may go.
  const size_t needed = full->data_offset + full->tensors[0].offset + 36;
  for (size_t n = 0; n < needed; ++n) {
    std::vector<uint8_t> cut(img->begin(), img->begin() + static_cast<std::ptrdiff_t>(n));
    auto r = parse_gguf(cut.data(), cut.size(), "x.gguf");
    EXPECT_FALSE(r.ok()) << "accepted the first " << n << " bytes";
  }
}

TEST(GgufTest, BadMagicAndVersions) {
  Image a;
  a.put<uint32_t>(0x12345678).put<uint32_t>(3).put<uint64_t>(0).put<uint64_t>(0);
  EXPECT_ERROR(a, "magic is not \"GGUF\"");
  EXPECT_ERROR(Image().header(0, 0, 1), "version 1 is not supported");
  EXPECT_ERROR(Image().header(0, 0, 4), "version 4 is not supported (2 or 3)");
  EXPECT_ERROR(Image().header(0, 0, 0x03000000), "looks big-endian");
  EXPECT_ERROR(Image().put<uint16_t>(0x4747), "magic (at byte 0): needs 4 bytes");
  EXPECT_TRUE(parse_gguf(Image().header(0, 0, 2).bytes.data(), 24, "x").ok()) << "version 2 reads";
}

TEST(GgufTest, CountsThatCannotFitAreRefused) {
  EXPECT_ERROR(Image().header(0, uint64_t{1} << 60),
               "metadata count 1152921504606846976 cannot fit");
  EXPECT_ERROR(Image().header(uint64_t{1} << 40, 0), "tensor count 1099511627776 cannot fit");
}

TEST(GgufTest, BadMetadataFieldsAreNamed) {
  EXPECT_ERROR(Image().header(0, 1).put<uint64_t>(1000).data(20),
               "metadata key 0 (at byte 24): length 1000 exceeds");
  EXPECT_ERROR(Image().header(0, 1).str("k").put<uint32_t>(13).data(16),
               "metadata 'k' value type (at byte 33): 13 is not a GGUF value type");
  EXPECT_ERROR(Image().header(0, 1).str("k").put<uint32_t>(8).put<uint64_t>(99).data(16),
               "metadata 'k' (at byte 37): length 99 exceeds");
  EXPECT_ERROR(Image().header(0, 1).str("k").put<uint32_t>(7).put<uint8_t>(2).data(16),
               "metadata 'k' (at byte 37): bool value 2 is neither 0 nor 1");
  EXPECT_ERROR(
      Image().header(0, 1).str("k").put<uint32_t>(9).put<uint32_t>(9).put<uint64_t>(1).data(16),
      "metadata 'k' array element type (at byte 37): nested arrays are not supported");
  EXPECT_ERROR(
      Image().header(0, 1).str("k").put<uint32_t>(9).put<uint32_t>(4).put<uint64_t>(1000).data(16),
      "metadata 'k' array length (at byte 41): 1000 elements of uint32 cannot fit");
  EXPECT_ERROR(Image()
                   .header(0, 2)
                   .str("k")
                   .put<uint32_t>(4)
                   .put<uint32_t>(1)
                   .str("k")
                   .put<uint32_t>(4)
                   .put<uint32_t>(1),
               "metadata key 'k' appears twice");
}

TEST(GgufTest, BadAlignmentIsNamed) {
  EXPECT_ERROR(Image().header(0, 1).str("general.alignment").put<uint32_t>(4).put<uint32_t>(24),
               "general.alignment 24 is not a power of two");
  EXPECT_ERROR(Image()
                   .header(0, 1)
                   .str("general.alignment")
                   .put<uint32_t>(8)
                   .put<std::string::size_type>(1)
                   .put<char>('x'),
               "general.alignment must be a uint32, got string");
}

TEST(GgufTest, BadTensorInfosAreNamedAndListedTogether) {
  Image img;
  img.header(1, 0).tensor("five_dims", {32, 1, 1, 1, 1}, 0, 0).data(16);
  EXPECT_ERROR(img, "tensor 'five_dims' n_dims (at byte 41): 5 exceeds the maximum of 4");

  Image many;
  many.header(6, 0)
      .tensor("zero_dim", {0, 4}, 0, 0)
      .tensor("iq2", {256}, 16, 0)
      .tensor("ragged", {33, 2}, 8, 0)
      .tensor("misaligned", {8}, 0, 4)
      .tensor("a", {64}, 0, 64)
      .tensor("b", {32}, 0, 128)
      .pad()
      .data(512);
  const std::string msg = error_of(many);
  for (const char* want : {"tensor 'zero_dim': dims[0] = 0 is out of range [1, 2^40]",
                           "tensor 'iq2': type 16 (IQ2_XXS) is not supported",
                           "tensor 'ragged': dims[0] = 33 is not a multiple of Q8_0's block of 32",
                           "tensor 'misaligned': offset 4 is not a multiple of the alignment 32",
                           "tensor 'b': bytes [128, 256) overlap those of tensor 'a' [64, 320)"})
    EXPECT_NE(msg.find(want), std::string::npos) << want << "\nmessage: " << msg;
}

TEST(GgufTest, DataBeyondTheFileEndIsTruncation) {
  Image img;
  img.header(1, 0).tensor("t", {64, 2}, 0, 0).pad().data(100);
  EXPECT_ERROR(img, "file truncated: the tensor infos describe data up to byte");
  Image dup;
  dup.header(2, 0).tensor("t", {8}, 0, 0).tensor("t", {8}, 0, 32).pad().data(64);
  EXPECT_ERROR(dup, "tensor 't' appears twice");
  Image name;
  name.header(1, 0).str(std::string(64, 'n'));
  EXPECT_ERROR(name, "tensor info 0 name (at byte 24): length 64 exceeds the limit 63");
}

TEST(GgufTest, TheWriterRefusesInconsistentTensors) {
  auto r = serialize_gguf({}, {{"t", GgmlType::kQ8_0, {32, 2}, std::vector<uint8_t>(10)}});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("tensor 't' has 10 bytes"), std::string::npos);
  EXPECT_FALSE(serialize_gguf({}, {}, 24).ok());
}

}  // namespace
}  // namespace fathom::formats
