#include "formats/safetensors.h"

#include <gtest/gtest.h>

#include <cstring>

#include "support/temp_dir.h"

namespace fathom::formats {
namespace {

using fathom::testing::read_bytes;
using fathom::testing::TempDir;
using fathom::testing::write_text;

// A file with the given JSON header followed by `data_bytes` zero bytes.
std::string raw_file(const std::string& header, size_t data_bytes) {
  std::string out(8, '\0');
  uint64_t n = header.size();
  std::memcpy(out.data(), &n, 8);
  return out + header + std::string(data_bytes, '\0');
}

TEST(SafetensorsTest, WriteThenReadRoundTrips) {
  TempDir dir;
  const std::string path = dir.file("a.safetensors");
  ASSERT_TRUE(write_safetensors(path, {make_f32_tensor("x", {2, 3}, {1, 2, 3, 4, 5, 6}),
                                       make_f32_tensor("y", {1}, {7})},
                                {{"format", "pt"}})
                  .ok());
  auto f = SafetensorsFile::open(path);
  ASSERT_TRUE(f.ok()) << f.status().to_string();
  ASSERT_EQ(f->tensors().size(), 2u);
  const TensorView& x = f->tensors()[0].name == "x" ? f->tensors()[0] : f->tensors()[1];
  EXPECT_EQ(x.shape, (std::vector<int64_t>{2, 3}));
  EXPECT_EQ(x.dtype, DType::kF32);
  EXPECT_FLOAT_EQ(x.as<float>()[5], 6.0f);
  EXPECT_EQ(f->metadata().at("format"), "pt");
}

TEST(SafetensorsTest, TruncatedDataNamesTheTensorAndSaysTruncated) {
  TempDir dir;
  const std::string path = dir.file("t.safetensors");
  ASSERT_TRUE(write_safetensors(path, {make_f32_tensor("w", {4, 4}, std::vector<float>(16, 1.0f))}).ok());
  std::string bytes = read_bytes(path);
  write_text(path, bytes.substr(0, bytes.size() - 10));
  auto f = SafetensorsFile::open(path);
  ASSERT_FALSE(f.ok());
  EXPECT_EQ(f.status().code(), Code::kDataLoss);
  EXPECT_NE(f.status().message().find("file truncated: the header describes 64 bytes of tensor "
                                      "data but only 54 are present (1 tensor(s) cut off)"),
            std::string::npos) << f.status().message();
}

TEST(SafetensorsTest, TooShortAndOversizedHeadersAreRejected) {
  TempDir dir;
  write_text(dir.file("short"), "abc");
  EXPECT_EQ(SafetensorsFile::open(dir.file("short")).status().code(), Code::kDataLoss);
  std::string big(8, '\0');
  uint64_t n = 1ull << 40;
  std::memcpy(big.data(), &n, 8);
  write_text(dir.file("big"), big + "{}");
  auto f = SafetensorsFile::open(dir.file("big"));
  ASSERT_FALSE(f.ok());
  EXPECT_NE(f.status().message().find("header length"), std::string::npos);
}

TEST(SafetensorsTest, InvalidJsonHeaderIsAClearError) {
  TempDir dir;
  write_text(dir.file("j"), raw_file("{\"x\": [", 0));
  auto f = SafetensorsFile::open(dir.file("j"));
  ASSERT_FALSE(f.ok());
  EXPECT_NE(f.status().message().find("not valid JSON"), std::string::npos);
}

TEST(SafetensorsTest, LyingHeadersAreAllReportedAtOnce) {
  TempDir dir;
  // a: shape says 4 floats (16 bytes) but offsets span 8; b: unknown dtype; c: past the end.
  const std::string header =
      R"({"a":{"dtype":"F32","shape":[4],"data_offsets":[0,8]},)"
      R"("b":{"dtype":"F17","shape":[1],"data_offsets":[0,4]},)"
      R"("c":{"dtype":"F32","shape":[100],"data_offsets":[0,400]}})";
  write_text(dir.file("l"), raw_file(header, 16));
  auto f = SafetensorsFile::open(dir.file("l"));
  ASSERT_FALSE(f.ok());
  const std::string& m = f.status().message();
  EXPECT_NE(m.find("file truncated: the header describes 400 bytes of tensor data but only 16"),
            std::string::npos) << m;
  EXPECT_NE(m.find("2 bad tensor header(s)"), std::string::npos) << m;
  EXPECT_NE(m.find("tensor 'a': shape [4] x F32 needs 16 bytes but data_offsets span 8"),
            std::string::npos) << m;
  EXPECT_NE(m.find("tensor 'b': unknown dtype 'F17'"), std::string::npos) << m;
}

TEST(SafetensorsTest, MissingFileIsNotFound) {
  auto f = SafetensorsFile::open("/nonexistent/fathom/x.safetensors");
  ASSERT_FALSE(f.ok());
  EXPECT_EQ(f.status().code(), Code::kNotFound);
}

TEST(SafetensorsTest, UnalignedTensorsAreCopiedToAlignedMemory) {
  TempDir dir;
  // A 1-byte tensor first pushes the F32 tensor to an odd offset.
  std::string header = R"({"u":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},)"
                       R"("f":{"dtype":"F32","shape":[1],"data_offsets":[1,5]}})";
  header.append((8 - header.size() % 8) % 8, ' ');
  std::string file = raw_file(header, 0);
  const float v = 3.5f;
  file.push_back('\x07');
  file.append(reinterpret_cast<const char*>(&v), 4);
  write_text(dir.file("u"), file);
  auto f = SafetensorsFile::open(dir.file("u"));
  ASSERT_TRUE(f.ok()) << f.status().to_string();
  for (const auto& t : f->tensors()) {
    if (t.name != "f") continue;
    EXPECT_EQ(reinterpret_cast<uintptr_t>(t.data) % 4, 0u);
    EXPECT_FLOAT_EQ(t.as<float>()[0], 3.5f);
  }
}

TEST(SafetensorsTest, ParsesAnImageInMemoryWithTensorsPointingIntoIt) {
  std::string image = raw_file(R"({"x":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})", 0);
  image.append((8 - image.size() % 8) % 8, ' ');  // (padding after the JSON is part of it)
  const uint64_t n = image.size() - 8;
  std::memcpy(image.data(), &n, 8);
  const float v[2] = {1.5f, -2.0f};
  image.append(reinterpret_cast<const char*>(v), sizeof(v));
  alignas(8) uint8_t bytes[256];
  ASSERT_LE(image.size(), sizeof(bytes));
  std::memcpy(bytes, image.data(), image.size());
  auto c = parse_safetensors(bytes, image.size(), "mem");
  ASSERT_TRUE(c.ok()) << c.status().to_string();
  ASSERT_EQ(c->tensors.size(), 1u);
  EXPECT_EQ(c->tensors[0].data, bytes + image.size() - sizeof(v));
  EXPECT_EQ(c->tensors[0].file, "mem");
  EXPECT_FLOAT_EQ(c->tensors[0].as<float>()[1], -2.0f);
  EXPECT_EQ(parse_safetensors(bytes, 7, "mem").status().code(), Code::kDataLoss);
}

// Found by safetensors_header_fuzz (its no-shared-bytes check): a header could point two
// tensors, even of different dtypes, at the same bytes, and the reader accepted it.
TEST(SafetensorsTest, TensorsThatShareBytesAreRejected) {
  const std::string header = R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                             R"("b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]},)"
                             R"("c":{"dtype":"U8","shape":[4],"data_offsets":[12,16]},)"
                             R"("d":{"dtype":"I32","shape":[1],"data_offsets":[12,16]},)"
                             R"("e":{"dtype":"F32","shape":[0],"data_offsets":[4,4]}})";
  const std::string image = raw_file(header, 16);
  auto c = parse_safetensors(reinterpret_cast<const uint8_t*>(image.data()), image.size(), "o");
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), Code::kDataLoss);
  const std::string& m = c.status().message();
  EXPECT_NE(m.find("2 bad tensor header(s)"), std::string::npos) << m;
  EXPECT_NE(m.find("tensor 'b': data_offsets [4, 12] overlap those of tensor 'a' [0, 8]"),
            std::string::npos)
      << m;
  EXPECT_NE(m.find("tensor 'd': data_offsets [12, 16] overlap those of tensor 'c' [12, 16]"),
            std::string::npos)
      << m;
  EXPECT_EQ(m.find("tensor 'e'"), std::string::npos) << m;  // an empty tensor shares nothing

  // Back to back, and empty tensors anywhere, are fine.
  const std::string ok_header = R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                                R"("b":{"dtype":"F32","shape":[0],"data_offsets":[8,8]},)"
                                R"("c":{"dtype":"U8","shape":[0],"data_offsets":[8,8]},)"
                                R"("d":{"dtype":"U8","shape":[8],"data_offsets":[8,16]}})";
  const std::string ok_image = raw_file(ok_header, 16);
  auto ok =
      parse_safetensors(reinterpret_cast<const uint8_t*>(ok_image.data()), ok_image.size(), "o");
  ASSERT_TRUE(ok.ok()) << ok.status().to_string();
  EXPECT_EQ(ok->tensors.size(), 4u);
}

}  // namespace
}  // namespace fathom::formats
