// Tokenizer pieces on small hand-built tokenizer.json files: added-token flags, invalid UTF-8,
// pre-tokenizer behaviors, and clear errors for malformed files.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "tokenizer/byte_level.h"
#include "tokenizer/chat_template.h"
#include "tokenizer/regex.h"
#include "tokenizer/tokenizer.h"
#include "tokenizer/unicode.h"

namespace fathom::tokenizer {
namespace {

using nlohmann::json;

// A byte-level BPE whose ids are the byte values, plus merges "a b" -> 256 and "ab c" -> 257.
json tiny_tokenizer_json() {
  json vocab = json::object();
  for (int b = 0; b < 256; ++b)
    vocab[bytes_to_byte_level(std::string(1, static_cast<char>(b)))] = b;
  vocab["ab"] = 256;
  vocab["abc"] = 257;
  json j;
  j["version"] = "1.0";
  j["normalizer"] = nullptr;
  j["pre_tokenizer"] = {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"use_regex", true}};
  j["post_processor"] = nullptr;
  j["decoder"] = {{"type", "ByteLevel"}};
  j["model"] = {{"type", "BPE"}, {"vocab", vocab}, {"merges", json::array({"a b", "ab c"})}};
  j["added_tokens"] = json::array({
      {{"id", 300},
       {"content", "<l>"},
       {"special", true},
       {"lstrip", true},
       {"rstrip", false},
       {"single_word", false},
       {"normalized", false}},
      {{"id", 301},
       {"content", "<r>"},
       {"special", true},
       {"lstrip", false},
       {"rstrip", true},
       {"single_word", false},
       {"normalized", false}},
      {{"id", 302},
       {"content", "[W]"},
       {"special", false},
       {"lstrip", false},
       {"rstrip", false},
       {"single_word", true},
       {"normalized", false}},
      {{"id", 303},
       {"content", "<l>x"},
       {"special", false},
       {"lstrip", false},
       {"rstrip", false},
       {"single_word", false},
       {"normalized", false}},
  });
  return j;
}

Tokenizer tiny(const json& config = json::object()) {
  Result<Tokenizer> t = Tokenizer::from_json(tiny_tokenizer_json().dump(), config.dump());
  EXPECT_TRUE(t.ok()) << t.status().to_string();
  return std::move(*t);
}

std::vector<int32_t> enc(const Tokenizer& t, std::string_view s, bool special = false) {
  Result<std::vector<int32_t>> r = t.encode(s, special);
  EXPECT_TRUE(r.ok()) << r.status().to_string();
  return r.ok() ? *r : std::vector<int32_t>{};
}

std::vector<int32_t> bytes(std::string_view s) { return {s.begin(), s.end()}; }

TEST(TokenizerTest, MergesByRank) {
  const Tokenizer t = tiny();
  EXPECT_EQ(enc(t, "abc"), (std::vector<int32_t>{257}));
  EXPECT_EQ(enc(t, "abab"), (std::vector<int32_t>{256, 256}));
  EXPECT_EQ(enc(t, "cab"), (std::vector<int32_t>{'c', 256}));
  // A long piece takes the heap path; it must agree with the pairwise result.
  std::string long_word;
  std::vector<int32_t> want;
  for (int i = 0; i < 40; ++i) {
    long_word += "abc";
    want.push_back(257);
  }
  EXPECT_EQ(enc(t, long_word), want);
}

TEST(TokenizerTest, AddedTokenFlags) {
  const Tokenizer t = tiny();
  // lstrip: the spaces before <l> belong to the token.
  EXPECT_EQ(enc(t, "x  <l>y"), (std::vector<int32_t>{'x', 300, 'y'}));
  // rstrip: the spaces after <r> belong to the token.
  EXPECT_EQ(enc(t, "<r>  y"), (std::vector<int32_t>{301, 'y'}));
  // single_word: only matched between non-word characters.
  EXPECT_EQ(enc(t, "a[W]b"), bytes("a[W]b"));
  EXPECT_EQ(enc(t, "q [W] z"), (std::vector<int32_t>{'q', ' ', 302, ' ', 'z'}));
  // Leftmost-longest: "<l>x" wins over "<l>".
  EXPECT_EQ(enc(t, "<l>x"), (std::vector<int32_t>{303}));
}

TEST(TokenizerTest, InvalidUtf8IsReplacedLikePythonDecoding) {
  const Tokenizer t = tiny();
  EXPECT_EQ(enc(t,
                "a\xff"
                "b"),
            enc(t,
                "a\xEF\xBF\xBD"
                "b"));
  EXPECT_EQ(enc(t, "\xE4\xB8"), enc(t, "\xEF\xBF\xBD"));  // truncated 3-byte sequence: one U+FFFD
  EXPECT_EQ(enc(t, "\xF0\x9F\x98"), enc(t, "\xEF\xBF\xBD"));
  EXPECT_EQ(utf8_lossy("\xED\xA0\x80"),
            "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");  // surrogate: 3 subparts
  EXPECT_EQ(utf8_lossy("\xC0\xAF"), "\xEF\xBF\xBD\xEF\xBF\xBD");
}

TEST(TokenizerTest, DecodeSkipsSpecialTokensAndUnknownIds) {
  const Tokenizer t = tiny();
  const std::vector<int32_t> ids = {'h', 300, 'i', 302, 99999, -1};
  EXPECT_EQ(t.decode(ids, false), "h<l>i[W]");
  EXPECT_EQ(t.decode(ids, true), "hi[W]");
  EXPECT_TRUE(t.is_special(300));
  EXPECT_FALSE(t.is_special(302));
  EXPECT_EQ(t.vocab_size(), 304);
  EXPECT_EQ(t.token_text(256), "ab");
  EXPECT_EQ(t.token_to_id("<r>"), 301);
}

TEST(TokenizerTest, BosEosRulesFromConfig) {
  const Tokenizer t = tiny({{"bos_token", "<l>"},
                            {"eos_token", {{"content", "<r>"}}},
                            {"add_bos_token", true},
                            {"add_eos_token", true}});
  EXPECT_EQ(t.bos_id(), 300);
  EXPECT_EQ(t.eos_id(), 301);
  EXPECT_EQ(enc(t, "a", true), (std::vector<int32_t>{300, 'a', 301}));
  EXPECT_EQ(enc(t, "a", false), (std::vector<int32_t>{'a'}));
}

TEST(TokenizerTest, SplitBehaviorsAndDigits) {
  json j = tiny_tokenizer_json();
  j["pre_tokenizer"] = {
      {"type", "Sequence"},
      {"pretokenizers",
       json::array({{{"type", "Digits"}, {"individual_digits", true}},
                    {{"type", "Split"},
                     {"pattern", {{"String", "-"}}},
                     {"behavior", "MergedWithNext"},
                     {"invert", false}},
                    {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"use_regex", false}}})}};
  j["model"]["merges"] = json::array({"a b", "ab c", "- a"});
  j["model"]["vocab"]["-a"] = 258;
  Result<Tokenizer> t = Tokenizer::from_json(j.dump(), "");
  ASSERT_TRUE(t.ok()) << t.status().to_string();
  // Digits split one by one; "-" merges with the following piece, where "a b" (rank 0) beats "- a".
  EXPECT_EQ(enc(*t, "12-ab"), (std::vector<int32_t>{'1', '2', '-', 256}));
  EXPECT_EQ(enc(*t, "9-ax"), (std::vector<int32_t>{'9', 258, 'x'}));
}

TEST(TokenizerTest, OnigWhitespaceClassDiffersFromPcreDefault) {
  // U+180E is not White_Space for Oniguruma/Rust; PCRE2's own \s would match it.
  Result<Regex> re = Regex::compile("\\s+");
  ASSERT_TRUE(re.ok());
  std::vector<std::pair<size_t, size_t>> m;
  re->find_all(
      "a\xE1\xA0\x8E"
      "b \xE3\x80\x80",
      m);
  ASSERT_EQ(m.size(), 1u);
  EXPECT_EQ(m[0].first, 5u);
  EXPECT_EQ(translate_onig_pattern("[^\\s\\p{L}]"),
            "[^\\t\\n\\x0B\\f\\r\\x20\\x85\\xA0\\x{1680}\\x{2000}-\\x{200A}\\x{2028}\\x{2029}\\x{"
            "202F}\\x{205F}\\x{3000}\\p{L}]");
}

struct BadFile {
  const char* what;
  std::string tokenizer_json;
  std::string config_json;
  const char* expect_in_message;
};

TEST(TokenizerTest, MalformedFilesGiveClearErrors) {
  json bad_merge = tiny_tokenizer_json();
  bad_merge["model"]["merges"] = json::array({"a b", "zz qq"});
  json bad_regex = tiny_tokenizer_json();
  bad_regex["pre_tokenizer"] = {
      {"type", "Split"}, {"pattern", {{"Regex", "(unclosed"}}}, {"behavior", "Isolated"}};
  json bad_type = tiny_tokenizer_json();
  bad_type["model"]["type"] = "Unigram";
  json bad_vocab = tiny_tokenizer_json();
  bad_vocab["model"]["vocab"]["x"] = "not an id";
  json bad_added = tiny_tokenizer_json();
  bad_added["added_tokens"][0]["special"] = "yes";
  json no_model = tiny_tokenizer_json();
  no_model.erase("model");
  json bad_behavior = tiny_tokenizer_json();
  bad_behavior["pre_tokenizer"] = {
      {"type", "Split"}, {"pattern", {{"String", "x"}}}, {"behavior", "Sideways"}};
  const std::vector<BadFile> cases = {
      {"not json", "{\"model\": ", "", "tokenizer.json: not valid JSON"},
      {"bad merge", bad_merge.dump(), "", "merges[1]"},
      {"bad regex", bad_regex.dump(), "", "pre_tokenizer"},
      {"unsupported model", bad_type.dump(), "", "Unigram"},
      {"vocab id not int", bad_vocab.dump(), "", "vocab entry \"x\""},
      {"added token flag type", bad_added.dump(), "", "tokenizer files"},
      {"no model", no_model.dump(), "", "tokenizer.json: model"},
      {"unknown split behavior", bad_behavior.dump(), "", "Sideways"},
      {"config not json", tiny_tokenizer_json().dump(), "{",
       "tokenizer_config.json: not valid JSON"},
      {"bos not a token", tiny_tokenizer_json().dump(), "{\"bos_token\": \"<nope>\"}",
       "bos_token \"<nope>\""},
      {"add_bos_token type", tiny_tokenizer_json().dump(), "{\"add_bos_token\": \"yes\"}",
       "add_bos_token"},
      {"chat_template type", tiny_tokenizer_json().dump(), "{\"chat_template\": 5}",
       "chat_template"},
  };
  for (const BadFile& c : cases) {
    Result<Tokenizer> t = Tokenizer::from_json(c.tokenizer_json, c.config_json);
    ASSERT_FALSE(t.ok()) << c.what;
    EXPECT_NE(t.status().message().find(c.expect_in_message), std::string::npos)
        << c.what << ": " << t.status().message();
  }
  Result<Tokenizer> missing = Tokenizer::load("tests/data/no-such-model");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), Code::kNotFound);
  EXPECT_NE(missing.status().message().find("tokenizer.json"), std::string::npos);
}

TEST(ChatTemplateTest, ErrorsNameTheTemplateLine) {
  Result<ChatTemplate> bad = ChatTemplate::parse("line 1\n{% if x %}\n{{ x + }}\n{% endif %}");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("chat template line 3"), std::string::npos)
      << bad.status().message();
  Result<ChatTemplate> raises = ChatTemplate::parse(
      "{% for m in messages %}\n{% if m.role == 'bot' %}\n{{ raise_exception('bad role ' ~ m.role) "
      "}}\n{% endif %}{% endfor %}");
  ASSERT_TRUE(raises.ok());
  Result<std::string> out =
      render_chat(*raises, json::array({{{"role", "bot"}, {"content", "x"}}}), nullptr, false);
  ASSERT_FALSE(out.ok());
  EXPECT_NE(out.status().message().find("line 3"), std::string::npos) << out.status().message();
  EXPECT_NE(out.status().message().find("bad role bot"), std::string::npos)
      << out.status().message();
}

TEST(ChatTemplateTest, ToolsAndKwargsReachTheTemplate) {
  Result<ChatTemplate> t = ChatTemplate::parse(
      "{% if tools %}{% for t in tools %}{{ t.function.name }};{% endfor %}{% endif %}"
      "{{ messages | length }}{% if add_generation_prompt %}+{% endif %}{{ flag }}{{ bos_token }}",
      {{"bos_token", "<s>"}});
  ASSERT_TRUE(t.ok()) << t.status().to_string();
  const json tools = json::array({{{"type", "function"}, {"function", {{"name", "f"}}}}});
  Result<std::string> out = render_chat(*t, json::array({{{"role", "user"}, {"content", "x"}}}),
                                        tools, true, json{{"flag", "F"}});
  ASSERT_TRUE(out.ok()) << out.status().to_string();
  EXPECT_EQ(*out, "f;1+F<s>");
  Result<std::string> bad = render_chat(*t, json::object(), nullptr, false);
  EXPECT_FALSE(bad.ok());
}

TEST(ChatTemplateTest, TokenizerWithoutTemplateIsNotFound) {
  Result<ChatTemplate> t = ChatTemplate::from_tokenizer(tiny());
  ASSERT_FALSE(t.ok());
  EXPECT_EQ(t.status().code(), Code::kNotFound);
}

}  // namespace
}  // namespace fathom::tokenizer

namespace fathom::tokenizer {
namespace {

TEST(ChatTemplateTest, HostileTemplatesFailCleanly) {
  std::string deep(5000, '(');
  deep = "{{ " + deep + "1" + std::string(5000, ')') + " }}";
  EXPECT_FALSE(ChatTemplate::parse(deep).ok());
  EXPECT_FALSE(ChatTemplate::parse("{{ " + std::string(5000, '-') + "1 }}").ok());
  std::string nested_ifs;
  for (int i = 0; i < 5000; ++i) nested_ifs += "{% if true %}";
  EXPECT_FALSE(ChatTemplate::parse(nested_ifs).ok());
  Result<ChatTemplate> big_range =
      ChatTemplate::parse("{% for i in range(1000000000) %}x{% endfor %}");
  ASSERT_TRUE(big_range.ok());
  EXPECT_FALSE(render_chat(*big_range, json::array(), nullptr, false).ok());
  Result<ChatTemplate> big_string = ChatTemplate::parse("{{ 'abc' * 1000000000 }}");
  ASSERT_TRUE(big_string.ok());
  EXPECT_FALSE(render_chat(*big_string, json::array(), nullptr, false).ok());
}

}  // namespace
}  // namespace fathom::tokenizer
