// Parity with Hugging Face tokenizers 0.23 / transformers 5.17 on the golden fixtures
// (tests/data/tokenizers/*.json, made by make_fixtures.py) for the real DeepSeek-V3, Qwen3 and
// Llama 3.1 tokenizers, and the fixture models' own tokenizers against their reference.json.
#include <gtest/gtest.h>

#include <map>
#include <memory>

#include "tokenizer/tokenizer.h"
#include "tokenizer/tokenizer_test_util.h"

namespace fathom::tokenizer {
namespace {

using nlohmann::json;
using testing::kSkipMessage;
using testing::load_json;
using testing::real_tokenizer_dir;

// Loading a 128K-150K vocab takes a moment: load each tokenizer once per process.
const Tokenizer* cached_tokenizer(const std::string& dir) {
  static std::map<std::string, std::unique_ptr<Tokenizer>> cache;
  auto it = cache.find(dir);
  if (it == cache.end()) {
    Result<Tokenizer> t = Tokenizer::load(dir);
    EXPECT_TRUE(t.ok()) << t.status().to_string();
    if (!t.ok()) return nullptr;
    it = cache.emplace(dir, std::make_unique<Tokenizer>(std::move(*t))).first;
  }
  return it->second.get();
}

std::vector<int32_t> ids_of(const json& j) { return j.get<std::vector<int32_t>>(); }

class RealTokenizerTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    const std::string dir = real_tokenizer_dir(GetParam());
    if (dir.empty()) GTEST_SKIP() << kSkipMessage;
    tok_ = cached_tokenizer(dir);
    ASSERT_NE(tok_, nullptr);
    fixture_ = load_json("tests/data/tokenizers/" + GetParam() + ".json");
  }
  const Tokenizer* tok_ = nullptr;
  json fixture_;
};

TEST_P(RealTokenizerTest, EncodesEveryCaseLikeTheReference) {
  int num_cases = 0;
  for (const json& c : fixture_["cases"]) {
    const std::string text = c["text"].get<std::string>();
    SCOPED_TRACE("text: " + text);
    Result<std::vector<int32_t>> raw = tok_->encode(text, false);
    ASSERT_TRUE(raw.ok()) << raw.status().to_string();
    EXPECT_EQ(*raw, ids_of(c["raw_ids"]));
    EXPECT_EQ(*raw, ids_of(c["hf_ids_nospecial"]));
    Result<std::vector<int32_t>> hf = tok_->encode(text, true);
    ASSERT_TRUE(hf.ok()) << hf.status().to_string();
    EXPECT_EQ(*hf, ids_of(c["hf_ids"]));
    ++num_cases;
  }
  EXPECT_EQ(num_cases, 277);
}

TEST_P(RealTokenizerTest, DecodesEveryCaseLikeTheReference) {
  for (const json& c : fixture_["cases"]) {
    SCOPED_TRACE("text: " + c["text"].get<std::string>());
    const std::vector<int32_t> raw = ids_of(c["raw_ids"]);
    const std::vector<int32_t> hf = ids_of(c["hf_ids"]);
    EXPECT_EQ(tok_->decode(raw, false), c["raw_decode"].get<std::string>());
    EXPECT_EQ(tok_->decode(hf, false), c["hf_decode"].get<std::string>());
    EXPECT_EQ(tok_->decode(hf, true), c["hf_decode_skip"].get<std::string>());
  }
}

TEST_P(RealTokenizerTest, SpecialTokensMatchTheReference) {
  const json& s = fixture_["special"];
  EXPECT_EQ(tok_->vocab_size(), s["vocab_size"].get<int32_t>());
  if (s["bos_id"].is_null()) {
    EXPECT_FALSE(tok_->bos_id().has_value());
  } else {
    ASSERT_TRUE(tok_->bos_id().has_value());
    EXPECT_EQ(*tok_->bos_id(), s["bos_id"].get<int32_t>());
    EXPECT_TRUE(tok_->is_special(*tok_->bos_id()));
  }
  ASSERT_TRUE(tok_->eos_id().has_value());
  EXPECT_EQ(*tok_->eos_id(), s["eos_id"].get<int32_t>());
  EXPECT_EQ(tok_->token_text(*tok_->eos_id()), s["eos"].get<std::string>());
  EXPECT_EQ(tok_->config().chat_template, fixture_["chat_template"].get<std::string>());
}

INSTANTIATE_TEST_SUITE_P(Real, RealTokenizerTest,
                         ::testing::Values("deepseek_v3", "qwen3", "llama3_1"));

class FixtureModelTokenizerTest : public ::testing::TestWithParam<std::string> {};

TEST_P(FixtureModelTokenizerTest, PromptTextEncodesToReferencePromptIds) {
  const std::string dir = "tests/data/models/" + GetParam();
  Result<Tokenizer> tok = Tokenizer::load(dir);
  ASSERT_TRUE(tok.ok()) << tok.status().to_string();
  const json ref = load_json(dir + "/reference.json");
  ASSERT_TRUE(ref.contains("chat"));
  for (const json& chat : ref["chat"]) {
    const std::vector<int32_t> want = ids_of(chat["prompt_ids"]);
    Result<std::vector<int32_t>> got = tok->encode(chat["prompt_text"].get<std::string>(), false);
    ASSERT_TRUE(got.ok()) << got.status().to_string();
    EXPECT_EQ(*got, want);
    EXPECT_EQ(tok->decode(want, false), chat["prompt_text"].get<std::string>());
    EXPECT_EQ(tok->decode(ids_of(chat["completion_ids"]), true),
              chat["completion_text"].get<std::string>());
  }
}

INSTANTIATE_TEST_SUITE_P(Models, FixtureModelTokenizerTest,
                         ::testing::Values("llama", "qwen2", "deepseek_v2", "deepseek_v2_grouped",
                                           "deepseek_v3"));

}  // namespace
}  // namespace fathom::tokenizer
