// The tokenizer a GGUF file carries: tokenizer.json (+ config) -> tokenizer.ggml.* metadata ->
// a GGUF file -> Tokenizer::load(FILE.gguf) encodes every sample text to the ids the
// tokenizer.json path gives (and the Hugging Face reference ids of the real tokenizers, when
// scripts/fetch_tokenizers.sh has fetched them), decodes them back, and keeps the chat template.
#include "tokenizer/gguf_vocab.h"

#include <gtest/gtest.h>

#include "formats/gguf_writer.h"
#include "support/temp_dir.h"
#include "tokenizer/tokenizer.h"
#include "tokenizer/tokenizer_test_util.h"

namespace fathom::tokenizer {
namespace {

using fathom::testing::read_bytes;
using fathom::testing::TempDir;

const std::vector<std::string> kTexts = {"",
                                         "Hello, world!",
                                         "  leading spaces and trailing  ",
                                         "numbers 1234567 and 3.14159",
                                         "日本語のテキストと中文字符",
                                         "emoji 🤖👍 and accents: déjà vu",
                                         "code: for (int i = 0; i < n; ++i) {}",
                                         "line one\nline two\r\n\ttabbed",
                                         "I'm sure they'll say we've done it",
                                         "<think>reasoning</think>"};

// A GGUF holding only the tokenizer of `dir` (tokenizer.json + tokenizer_config.json).
std::string write_tokenizer_gguf(const std::string& dir, const TempDir& tmp) {
  auto meta = gguf_tokenizer_metadata(read_bytes(dir + "/tokenizer.json"),
                                      read_bytes(dir + "/tokenizer_config.json"));
  EXPECT_TRUE(meta.ok()) << meta.status().to_string();
  const std::string path = tmp.file("tok.gguf");
  if (meta.ok()) {
    EXPECT_TRUE(formats::write_gguf(path, *meta, {}).ok());
  }
  return path;
}

void expect_same_tokenizer(const std::string& dir, const TempDir& tmp) {
  auto want = Tokenizer::load(dir);
  ASSERT_TRUE(want.ok()) << want.status().to_string();
  auto got = Tokenizer::load(write_tokenizer_gguf(dir, tmp));
  ASSERT_TRUE(got.ok()) << got.status().to_string();
  EXPECT_EQ(got->vocab_size(), want->vocab_size());
  EXPECT_EQ(got->bos_id(), want->bos_id());
  EXPECT_EQ(got->eos_id(), want->eos_id());
  EXPECT_EQ(got->config().chat_template, want->config().chat_template);
  for (const std::string& text : kTexts) {
    for (bool special : {false, true}) {
      auto a = want->encode(text, special), b = got->encode(text, special);
      ASSERT_TRUE(a.ok() && b.ok());
      EXPECT_EQ(*b, *a) << "'" << text << "' add_special_tokens=" << special;
      EXPECT_EQ(got->decode(*b, false), want->decode(*a, false)) << text;
    }
  }
}

TEST(GgufVocabTest, FixtureTokenizersRoundTrip) {
  for (const char* m : {"deepseek_v3", "qwen2", "llama"}) {
    SCOPED_TRACE(m);
    TempDir tmp;
    expect_same_tokenizer(std::string("tests/data/models/") + m, tmp);
  }
}

TEST(GgufVocabTest, RealTokenizersRoundTripAndMatchTheReferenceIds) {
  int checked = 0;
  for (const char* name : {"deepseek_v3", "qwen3", "llama3_1"}) {
    const std::string dir = testing::real_tokenizer_dir(name);
    if (dir.empty()) continue;
    SCOPED_TRACE(name);
    TempDir tmp;
    expect_same_tokenizer(dir, tmp);
    auto got = Tokenizer::load(tmp.file("tok.gguf"));
    ASSERT_TRUE(got.ok());
    const auto cases = testing::load_json(std::string("tests/data/tokenizers/") + name + ".json");
    for (const auto& c : cases["cases"]) {
      auto ids = got->encode(c["text"].get<std::string>(), true);
      ASSERT_TRUE(ids.ok());
      EXPECT_EQ(*ids, c["hf_ids"].get<std::vector<int32_t>>()) << c["text"];
    }
    ++checked;
  }
  if (checked == 0) GTEST_SKIP() << testing::kSkipMessage;
}

TEST(GgufVocabTest, BadTokenizerMetadataIsNamed) {
  formats::GgufContents g;
  g.metadata = {{"tokenizer.ggml.model", formats::GgufValue::string("llama")},
                {"tokenizer.ggml.pre", formats::GgufValue::string("gpt-4o")},
                {"tokenizer.ggml.tokens", formats::GgufValue::string_array({"a", "b"})},
                {"tokenizer.ggml.token_type", formats::GgufValue::i32_array({1})},
                {"tokenizer.ggml.bos_token_id", formats::GgufValue::u32(9)}};
  auto r = hf_tokenizer_from_gguf(g, "x.gguf");
  ASSERT_FALSE(r.ok());
  const std::string msg = r.status().message();
  for (const char* want : {"tokenizer.ggml.model 'llama' is not supported",
                           "tokenizer.ggml.pre 'gpt-4o' is not supported (llama-bpe, qwen2",
                           "metadata 'tokenizer.ggml.merges' is missing",
                           "tokenizer.ggml.token_type has 1 entries for 2 tokens",
                           "tokenizer.ggml.bos_token_id 9 is not a token id"})
    EXPECT_NE(msg.find(want), std::string::npos) << want << "\n" << msg;
}

}  // namespace
}  // namespace fathom::tokenizer
