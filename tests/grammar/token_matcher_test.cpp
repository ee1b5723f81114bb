#include "grammar/token_matcher.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "grammar/json_schema.h"
#include "grammar/regex.h"

namespace fathom::grammar {
namespace {

// A small vocabulary with the shapes real ones have: single bytes, words with a leading
// space, JSON punctuation runs, multi-byte pieces that split a character, duplicates and
// specials (nullopt).
std::shared_ptr<const TokenVocab> test_vocab() {
  std::vector<std::optional<std::string>> bytes;
  for (int b = 0; b < 256; ++b) bytes.push_back(std::string(1, static_cast<char>(b)));
  for (const char* t :
       {"{\"", "\":",  "\",",    "\"}",      " \"", "true", "false", "null", "name", " name", "12",
        "0.",  "\xC3", "\xA9\"", "\xC3\xA9", "}",   "},",   "[{",    "\"]",  "ab",   "abc",   "ab"})
    bytes.push_back(std::string(t));
  bytes.push_back(std::nullopt);   // a special token
  bytes.push_back(std::string());  // an empty one
  const int32_t eos = static_cast<int32_t>(bytes.size());
  bytes.push_back(std::nullopt);  // EOS
  return std::make_shared<const TokenVocab>(bytes, std::vector<int32_t>{eos});
}

// The reference: try every token on a copy of the matcher.
std::vector<uint64_t> brute_force_mask(const Matcher& m, const TokenVocab& v) {
  std::vector<uint64_t> mask((static_cast<size_t>(v.size()) + 63) / 64, 0);
  for (int32_t id = 0; id < v.size(); ++id) {
    bool ok = false;
    if (v.is_end(id)) {
      ok = m.can_end();
    } else if (const std::string* b = v.bytes(id)) {
      Matcher copy = m;
      ok = copy.accept(*b);
    }
    if (ok) mask[static_cast<size_t>(id) >> 6] |= uint64_t{1} << (id & 63);
  }
  return mask;
}

TEST(TokenVocabTest, TrieHoldsEveryUsableTokenOnce) {
  auto v = test_vocab();
  std::vector<int> seen(static_cast<size_t>(v->size()), 0);
  for (const auto& n : v->trie())
    for (uint32_t k = 0; k < n.num_tokens; ++k)
      ++seen[static_cast<size_t>(v->trie_tokens()[n.first_token + k])];
  for (int32_t id = 0; id < v->size(); ++id)
    EXPECT_EQ(seen[static_cast<size_t>(id)], v->bytes(id) ? 1 : 0) << id;
}

TEST(TokenMatcherTest, MaskEqualsBruteForceAlongRandomGenerations) {
  auto vocab = test_vocab();
  const auto schema = nlohmann::ordered_json::parse(R"({"type": "object", "properties": {
      "name": {"type": "string", "maxLength": 5}, "n": {"type": "integer"},
      "list": {"type": "array", "items": {"enum": [true, null, "ab"]}, "maxItems": 3}}, "required": ["name"]})");
  auto g = std::make_shared<const Grammar>(*json_schema_grammar(schema));
  std::mt19937 rng(5);
  for (int run = 0; run < 30; ++run) {
    TokenMatcher tm({g, vocab});
    Matcher shadow(g);  // the same text, byte by byte
    std::string text;
    for (int step = 0; step < 200 && !tm.must_end(); ++step) {
      const std::vector<uint64_t>& mask = tm.allowed();
      ASSERT_EQ(mask, brute_force_mask(shadow, *vocab)) << "after \"" << text << "\"";
      std::vector<int32_t> ids;
      for (int32_t id = 0; id < vocab->size(); ++id)
        if ((mask[static_cast<size_t>(id) >> 6] >> (id & 63)) & 1) ids.push_back(id);
      ASSERT_FALSE(ids.empty());
      const int32_t pick = ids[rng() % ids.size()];
      if (vocab->is_end(pick)) break;
      ASSERT_TRUE(tm.accept_token(pick));
      ASSERT_TRUE(shadow.accept(*vocab->bytes(pick)));
      text += *vocab->bytes(pick);
    }
  }
}

TEST(TokenMatcherTest, EndTokensOnlyWhereTheGrammarMayEnd) {
  auto vocab = test_vocab();
  const int32_t eos = vocab->end_ids().front();
  auto g = std::make_shared<const Grammar>(*regex_grammar("ab(c)?"));
  TokenMatcher tm({g, vocab});
  const auto has = [&](int32_t id) {
    return (tm.allowed()[static_cast<size_t>(id) >> 6] >> (id & 63)) & 1;
  };
  EXPECT_FALSE(has(eos));
  EXPECT_FALSE(tm.accept_token(eos));
  ASSERT_TRUE(tm.accept_token('a'));
  ASSERT_TRUE(tm.accept_token('b'));
  EXPECT_TRUE(has(eos));
  EXPECT_TRUE(has('c'));
  EXPECT_FALSE(tm.must_end());
  ASSERT_TRUE(tm.accept_token('c'));
  EXPECT_TRUE(tm.must_end());
  EXPECT_FALSE(tm.accept_token('c'));
}

TEST(TokenMatcherTest, ApplyMaskSilencesTheRest) {
  std::vector<float> logits = {1, 2, 3, 4, 5};
  apply_token_mask({0b10110}, logits.data(), 5);
  EXPECT_TRUE(std::isinf(logits[0]) && logits[0] < 0);
  EXPECT_EQ(logits[1], 2);
  EXPECT_EQ(logits[2], 3);
  EXPECT_TRUE(std::isinf(logits[3]));
  EXPECT_EQ(logits[4], 5);
}

}  // namespace
}  // namespace fathom::grammar
