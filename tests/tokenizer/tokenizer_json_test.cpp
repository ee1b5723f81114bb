// parse_tokenizer_json: model.vocab and model.merges leave the DOM in file order, everything
// else stays; and the errors BpeModel gives for what it takes out.
#include "tokenizer/tokenizer_json.h"

#include <gtest/gtest.h>

#include <string>

#include "tokenizer/tokenizer.h"

namespace fathom::tokenizer {
namespace {

using nlohmann::json;

// Byte-level BPE over "a", "b", "c" and the merges "a b" -> "ab", then ["ab", "c"] -> "abc".
std::string tiny(const std::string& vocab, const std::string& merges,
                 const std::string& model_extra = "") {
  return R"({"version": "1.0", "normalizer": null,
    "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": false, "use_regex": false,
                      "vocab": {"not": "the model's"}},
    "post_processor": null, "decoder": {"type": "ByteLevel"}, "added_tokens": [],
    "model": {"type": "BPE", "vocab": )" +
         vocab + R"(, "merges": )" + merges + model_extra + "}}";
}
const std::string kVocab = R"({"c": 2, "a": 0, "b": 1, "ab": 3, "abc": 4})";
const std::string kMerges = R"(["a b", ["ab", "c"]])";

TEST(TokenizerJson, TakesVocabAndMergesOutInFileOrder) {
  Result<TokenizerJson> p = parse_tokenizer_json(tiny(kVocab, kMerges));
  ASSERT_TRUE(p.ok()) << p.status().to_string();
  ASSERT_TRUE(p->lists.has_vocab);
  ASSERT_TRUE(p->lists.has_merges);
  ASSERT_EQ(p->lists.vocab.size(), 5u);
  EXPECT_EQ(p->lists.vocab[0].first, "c");
  EXPECT_EQ(p->lists.vocab[0].second, 2);
  EXPECT_EQ(p->lists.vocab[4].first, "abc");
  ASSERT_EQ(p->lists.merges.size(), 2u);
  EXPECT_EQ(p->lists.merges[0], "a b");
  EXPECT_EQ(p->lists.merges[1], json::array({"ab", "c"}));
  // The DOM keeps everything else, with the two lists emptied.
  EXPECT_EQ(p->dom["model"]["vocab"], json::object());
  EXPECT_EQ(p->dom["model"]["merges"], json::array());
  EXPECT_EQ(p->dom["model"]["type"], "BPE");
  EXPECT_EQ(p->dom["pre_tokenizer"]["vocab"]["not"], "the model's");  // not model.vocab
  EXPECT_EQ(p->dom["version"], "1.0");
}

TEST(TokenizerJson, TheTokenizerEncodesWithTheTakenLists) {
  Result<Tokenizer> t = Tokenizer::from_json(tiny(kVocab, kMerges), "");
  ASSERT_TRUE(t.ok()) << t.status().to_string();
  Result<std::vector<int32_t>> ids = t->encode("abcab", false);
  ASSERT_TRUE(ids.ok());
  EXPECT_EQ(*ids, (std::vector<int32_t>{4, 3}));
}

TEST(TokenizerJson, ListsOfTheWrongShapeAreNamedErrors) {
  struct Case {
    std::string what, json, expect;
  };
  const std::vector<Case> cases = {
      {"vocab an array", tiny("[1, 2]", kMerges), "missing object \"vocab\""},
      {"merges an object", tiny(kVocab, R"({"a": "b"})"), "missing array \"merges\""},
      {"vocab entry an object", tiny(R"({"a": 0, "b": {"id": 1}})", "[]"),
       "vocab entry \"b\" is not an integer id"},
      {"vocab entry an array", tiny(R"({"a": [0]})", "[]"),
       "vocab entry \"a\" is not an integer id"},
      {"vocab key twice", tiny(R"({"a": 0, "b": 1, "a": 2})", "[]"),
       "vocab entry \"a\" appears twice"},
      {"merge an object", tiny(kVocab, R"(["a b", {"l": "ab"}])"),
       "merges[1] is neither \"a b\" nor [\"a\", \"b\"]"},
      {"merge of three", tiny(kVocab, R"([["a", "b", "c"]])"), "merges[0] is neither"},
      {"merge a number", tiny(kVocab, R"([7])"), "merges[0] is neither"},
      {"syntax error in the vocab", tiny(R"({"a": 0,)", "[]"), "not valid JSON"},
  };
  for (const Case& c : cases) {
    Result<Tokenizer> t = Tokenizer::from_json(c.json, "");
    ASSERT_FALSE(t.ok()) << c.what;
    EXPECT_NE(t.status().message().find(c.expect), std::string::npos)
        << c.what << ": " << t.status().message();
  }
}

TEST(TokenizerJson, OnlyTheModelsListsAreTaken) {
  // "vocab" and "merges" one level deeper inside model, or in a model that is not an object.
  Result<TokenizerJson> nested = parse_tokenizer_json(
      tiny(kVocab, kMerges, R"(, "x": {"vocab": {"q": 9}, "merges": ["q q"]})"));
  ASSERT_TRUE(nested.ok());
  EXPECT_EQ(nested->lists.vocab.size(), 5u);
  EXPECT_EQ(nested->lists.merges.size(), 2u);
  EXPECT_EQ(nested->dom["model"]["x"]["vocab"]["q"], 9);
  Result<TokenizerJson> array_model =
      parse_tokenizer_json(R"({"model": [{"vocab": {"a": 0}, "merges": []}]})");
  ASSERT_TRUE(array_model.ok());
  EXPECT_FALSE(array_model->lists.has_vocab);
  EXPECT_FALSE(array_model->lists.has_merges);
  EXPECT_EQ(array_model->dom["model"][0]["vocab"]["a"], 0);
  Result<TokenizerJson> later_key = parse_tokenizer_json(R"({"model": {"vocab": {"a": 0}},
      "other": {"vocab": {"b": 1}}})");
  ASSERT_TRUE(later_key.ok());
  EXPECT_EQ(later_key->lists.vocab.size(), 1u);
  EXPECT_EQ(later_key->dom["other"]["vocab"]["b"], 1);
}

}  // namespace
}  // namespace fathom::tokenizer
