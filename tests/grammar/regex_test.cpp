#include "grammar/regex.h"

#include <gtest/gtest.h>

#include <random>
#include <regex>

#include "grammar_walk.h"

namespace fathom::grammar {
namespace {

using testing::full_match;

Grammar must(Result<Grammar> g) {
  EXPECT_TRUE(g.ok()) << g.status().message();
  return g.ok() ? *std::move(g) : Grammar{};
}

// std::regex (ECMAScript) is the oracle: on every string over a small alphabet, our grammar
// and regex_match agree.
TEST(RegexTest, AgreesWithStdRegexOnEveryShortString) {
  const std::vector<std::string> patterns = {
      "a*b",         "(ab|a)*", "[a-c]{2,3}",  "a?b+c?", "(?:a|bc){1,2}d?",
      "[^a]b*",      "\\d+",    "(a|b)(c|d)*", "a{3}",   "a{0,2}b{1,}",
      "[ab]*c[ab]*", "\\w\\W?", "x?",          ".b",     "(a(b(c)?)?)?"};
  const std::string alphabet = "abcd1 ";
  for (const std::string& p : patterns) {
    const Grammar g = must(regex_grammar(p));
    const std::regex oracle(p, std::regex::ECMAScript);
    // Every string of length <= 4 over the alphabet.
    std::vector<std::string> strings = {""};
    for (size_t len = 1; len <= 4; ++len) {
      const size_t before = strings.size();
      for (size_t i = 0; i < before; ++i)
        if (strings[i].size() == len - 1)
          for (char c : alphabet) strings.push_back(strings[i] + c);
    }
    for (const std::string& s : strings)
      ASSERT_EQ(full_match(g, s), std::regex_match(s, oracle))
          << "pattern " << p << " on \"" << s << "\"";
  }
}

TEST(RegexTest, RandomWalksMatchTheOracle) {
  // {our pattern, the oracle's spelling ("" when the output may hold UTF-8, which std::regex
  // reads byte by byte)}.
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"[A-Z][a-z]{1,8}( [A-Z][a-z]{1,8}){0,2}", "[A-Z][a-z]{1,8}( [A-Z][a-z]{1,8}){0,2}"},
      {"\\d{3}-\\d{4}", "\\d{3}-\\d{4}"},
      {"(true|false|maybe)", "(true|false|maybe)"},
      {"(?<year>\\d{4})-(0[1-9]|1[0-2])", "(\\d{4})-(0[1-9]|1[0-2])"},
      {"[^\\n\"]{2,10}", ""}};
  std::mt19937 rng(7);
  for (const auto& [pattern, oracle_pattern] : cases) {
    auto g = std::make_shared<const Grammar>(must(regex_grammar(pattern)));
    for (int i = 0; i < 200; ++i) {
      bool ok = false;
      const std::string s = testing::random_walk(g, rng, 30, ok);
      ASSERT_TRUE(ok) << pattern;
      if (!oracle_pattern.empty())
        EXPECT_TRUE(std::regex_match(s, std::regex(oracle_pattern)))
            << pattern << " produced " << s;
      else
        EXPECT_TRUE(full_match(*g, s));
    }
  }
}

TEST(RegexTest, AnchorsAtTheEndsAreDropped) {
  const Grammar g = must(regex_grammar("^ab$"));
  EXPECT_TRUE(full_match(g, "ab"));
  EXPECT_FALSE(full_match(g, "abab"));
  const Grammar dollar = must(regex_grammar("a\\$"));
  EXPECT_TRUE(full_match(dollar, "a$"));
}

TEST(RegexTest, UnicodeClassesProduceValidUtf8) {
  const Grammar g = must(regex_grammar("[é-ë]x|\\u00e0"));
  EXPECT_TRUE(full_match(g, "\xC3\xA9x"));  // é
  EXPECT_TRUE(full_match(g,
                         "\xC3\xAB"
                         "x"));  // ë
  EXPECT_FALSE(full_match(g,
                          "\xC3\xAC"
                          "x"));           // ì
  EXPECT_TRUE(full_match(g, "\xC3\xA0"));  // à
  const Grammar dot = must(regex_grammar("."));
  EXPECT_TRUE(full_match(dot, "\xF0\x9F\x98\x80"));  // an emoji
  EXPECT_FALSE(full_match(dot, "\xED\xA0\x80"));     // a surrogate is not a character
  EXPECT_FALSE(full_match(dot, "\xC0\x80"));         // overlong
  EXPECT_FALSE(full_match(dot, "\n"));
}

TEST(RegexTest, JsonStringContextEscapes) {
  GrammarBuilder b;
  Result<RuleId> r = compile_regex(b, "a\"\\\\\\n", TextContext::kJsonString, "p");
  ASSERT_TRUE(r.ok()) << r.status().message();
  const Grammar g = *b.build(*r);
  EXPECT_TRUE(full_match(g, "a\\\"\\\\\\n"));
  EXPECT_FALSE(full_match(g, "a\"\\\n"));
}

TEST(RegexTest, UnsupportedFeaturesAreNamed) {
  const std::vector<std::pair<std::string, std::string>> cases = {{"(a)\\1", "backreferences"},
                                                                  {"a(?=b)", "lookaround"},
                                                                  {"\\bword", "word boundaries"},
                                                                  {"\\p{L}", "Unicode property"},
                                                                  {"(a*)*", "can match nothing"},
                                                                  {"a**", "nothing to repeat"},
                                                                  {"(ab", "missing ')'"},
                                                                  {"ab)", "unbalanced"},
                                                                  {"[ab", "missing ']'"},
                                                                  {"a{3,1}", "m < n"},
                                                                  {"a^b", "anchors"},
                                                                  {"[z-a]", "out of order"},
                                                                  {"\\", "may not end"},
                                                                  {"a{2", "unterminated"}};
  for (const auto& [pattern, words] : cases) {
    Result<Grammar> g = regex_grammar(pattern);
    ASSERT_FALSE(g.ok()) << pattern;
    EXPECT_NE(g.status().message().find(words), std::string::npos)
        << pattern << ": " << g.status().message();
  }
}

TEST(ChoiceTest, ExactlyTheChoices) {
  const Grammar g = must(choice_grammar({"yes", "no", "not sure"}));
  for (const char* s : {"yes", "no", "not sure"}) EXPECT_TRUE(full_match(g, s));
  for (const char* s : {"ye", "nos", "not", ""}) EXPECT_FALSE(full_match(g, s));
  EXPECT_FALSE(choice_grammar({}).ok());
}

}  // namespace
}  // namespace fathom::grammar
