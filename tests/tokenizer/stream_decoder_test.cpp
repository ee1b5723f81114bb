// StreamDecoder: pieces are whole UTF-8 and always add up to Tokenizer::decode of all ids.
#include "tokenizer/stream_decoder.h"

#include <gtest/gtest.h>

#include <random>

#include "tokenizer/tokenizer.h"
#include "tokenizer/tokenizer_test_util.h"
#include "tokenizer/unicode.h"

namespace fathom::tokenizer {
namespace {

using testing::kSkipMessage;
using testing::real_tokenizer_dir;

// Streams ids one by one; checks every piece and returns their concatenation.
std::string stream_all(const Tokenizer& tok, const std::vector<int32_t>& ids, bool skip_special) {
  StreamDecoder dec(tok, skip_special);
  std::string all;
  for (int32_t id : ids) {
    const std::string piece = dec.add(id);
    EXPECT_TRUE(is_valid_utf8(piece)) << "piece is not whole UTF-8";
    all += piece;
  }
  const std::string tail = dec.finish();
  EXPECT_TRUE(is_valid_utf8(tail));
  return all + tail;
}

Tokenizer load_or_die(const std::string& dir) {
  Result<Tokenizer> t = Tokenizer::load(dir);
  EXPECT_TRUE(t.ok()) << t.status().to_string();
  return std::move(*t);
}

TEST(StreamDecoderTest, RandomIdSequencesAddUpToDecode) {
  // The fixture models' 500-token byte-level BPE: many ids are single bytes, so random
  // sequences split characters and produce invalid UTF-8 everywhere.
  const Tokenizer tok = load_or_die("tests/data/models/deepseek_v3");
  std::mt19937 rng(1234);
  std::uniform_int_distribution<int32_t> pick(0, tok.vocab_size() + 5);  // includes unknown ids
  for (int round = 0; round < 500; ++round) {
    std::vector<int32_t> ids(rng() % 40);
    for (int32_t& id : ids) id = pick(rng);
    for (bool skip : {false, true}) {
      EXPECT_EQ(stream_all(tok, ids, skip), tok.decode(ids, skip)) << "round " << round;
    }
  }
}

TEST(StreamDecoderTest, HoldsBackSplitMultiByteCharacters) {
  const Tokenizer tok = load_or_die("tests/data/models/deepseek_v3");
  Result<std::vector<int32_t>> ids =
      tok.encode("a𝄞b", false);  // a rare 4-byte character: several byte tokens
  ASSERT_TRUE(ids.ok());
  ASSERT_GT(ids->size(), 3u);
  StreamDecoder dec(tok, false);
  std::vector<std::string> pieces;
  for (int32_t id : *ids) pieces.push_back(dec.add(id));
  EXPECT_EQ(pieces.front(), "a");
  EXPECT_EQ(pieces.back(), "b");
  std::string joined;
  for (size_t i = 1; i + 1 < pieces.size(); ++i) {
    // Only the piece that completes the emoji carries text.
    EXPECT_TRUE(pieces[i].empty() || pieces[i] == "𝄞") << i;
    joined += pieces[i];
  }
  EXPECT_EQ(joined, "𝄞");
  EXPECT_EQ(dec.finish(), "");
}

TEST(StreamDecoderTest, UnfinishedCharacterAtEndBecomesReplacementChar) {
  const Tokenizer tok = load_or_die("tests/data/models/deepseek_v3");
  Result<std::vector<int32_t>> ids = tok.encode("𝄞", false);
  ASSERT_TRUE(ids.ok());
  ASSERT_GT(ids->size(), 1u);
  ASSERT_TRUE(ids.ok());
  ids->pop_back();  // drop the last byte token
  StreamDecoder dec(tok, false);
  std::string out;
  for (int32_t id : *ids) out += dec.add(id);
  EXPECT_EQ(out, "");
  out += dec.finish();
  EXPECT_EQ(out, tok.decode(*ids, false));
  EXPECT_EQ(out, "\xEF\xBF\xBD");
}

TEST(StreamDecoderTest, ReferenceCompletionsStreamLikeTheirDecode) {
  for (const char* model : {"llama", "qwen2", "deepseek_v3"}) {
    const std::string dir = std::string("tests/data/models/") + model;
    const Tokenizer tok = load_or_die(dir);
    const nlohmann::json ref = testing::load_json(dir + "/reference.json");
    for (const auto& chat : ref["chat"]) {
      const auto ids = chat["completion_ids"].get<std::vector<int32_t>>();
      EXPECT_EQ(stream_all(tok, ids, true), chat["completion_text"].get<std::string>()) << model;
      const auto prompt = chat["prompt_ids"].get<std::vector<int32_t>>();
      EXPECT_EQ(stream_all(tok, prompt, false), chat["prompt_text"].get<std::string>()) << model;
    }
  }
}

class RealStreamDecoderTest : public ::testing::TestWithParam<std::string> {};

TEST_P(RealStreamDecoderTest, EveryFixtureCaseStreamsToItsDecode) {
  const std::string dir = real_tokenizer_dir(GetParam());
  if (dir.empty()) GTEST_SKIP() << kSkipMessage;
  const Tokenizer tok = load_or_die(dir);
  const nlohmann::json fixture =
      testing::load_json("tests/data/tokenizers/" + GetParam() + ".json");
  for (const auto& c : fixture["cases"]) {
    const auto ids = c["hf_ids"].get<std::vector<int32_t>>();
    EXPECT_EQ(stream_all(tok, ids, false), c["hf_decode"].get<std::string>());
    EXPECT_EQ(stream_all(tok, ids, true), c["hf_decode_skip"].get<std::string>());
  }
  // Random ids over the whole vocabulary, special tokens included.
  std::mt19937 rng(99);
  std::uniform_int_distribution<int32_t> pick(0, tok.vocab_size() - 1);
  for (int round = 0; round < 300; ++round) {
    std::vector<int32_t> ids(rng() % 30);
    for (int32_t& id : ids) id = pick(rng);
    EXPECT_EQ(stream_all(tok, ids, false), tok.decode(ids, false));
  }
}

INSTANTIATE_TEST_SUITE_P(Real, RealStreamDecoderTest,
                         ::testing::Values("deepseek_v3", "qwen3", "llama3_1"));

}  // namespace
}  // namespace fathom::tokenizer
