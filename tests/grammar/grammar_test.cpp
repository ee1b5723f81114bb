#include "grammar/grammar.h"

#include <gtest/gtest.h>

#include "grammar/matcher.h"
#include "grammar_walk.h"

namespace fathom::grammar {
namespace {

using testing::full_match;

TEST(GrammarBuilderTest, RefusesLeftRecursionAndEmptyRules) {
  GrammarBuilder b;
  const RuleId r = b.new_rule("r");
  b.add(r, {GrammarBuilder::ref(r), b.bytes(ByteSet::of('a'))});
  b.add(r, b.literal("a"));
  Result<Grammar> g = b.build(r);
  ASSERT_FALSE(g.ok());
  EXPECT_NE(g.status().message().find("left-recursive"), std::string::npos);

  // Left recursion hidden behind a rule that can match nothing.
  GrammarBuilder b2;
  const RuleId empty = b2.rule("empty", {{}});
  const RuleId s = b2.new_rule("s");
  b2.add(s, {GrammarBuilder::ref(empty), GrammarBuilder::ref(s), b2.bytes(ByteSet::of('x'))});
  b2.add(s, {});
  EXPECT_FALSE(b2.build(s).ok());

  GrammarBuilder b3;
  const RuleId undefined = b3.new_rule("undefined");
  EXPECT_FALSE(b3.build(undefined).ok());
}

TEST(GrammarBuilderTest, RepeatHonoursItsBounds) {
  GrammarBuilder b;
  Result<RuleId> r = b.repeat("ab", b.literal("ab"), 2, 4);
  ASSERT_TRUE(r.ok());
  Result<Grammar> g = b.build(*r);
  ASSERT_TRUE(g.ok()) << g.status().message();
  EXPECT_FALSE(full_match(*g, "ab"));
  EXPECT_TRUE(full_match(*g, "abab"));
  EXPECT_TRUE(full_match(*g, "abababab"));
  EXPECT_FALSE(full_match(*g, "ababababab"));
  EXPECT_FALSE(full_match(*g, "ababa"));

  GrammarBuilder too_big;
  EXPECT_FALSE(too_big.repeat("x", too_big.literal("x"), 0, int64_t{1} << 40).ok());
}

TEST(GrammarBuilderTest, SeparatedLists) {
  GrammarBuilder b;
  Result<RuleId> r = b.separated("list", b.literal("x"), b.literal(","), 0, 3);
  ASSERT_TRUE(r.ok());
  Result<Grammar> g = b.build(*r);
  ASSERT_TRUE(g.ok());
  for (const char* yes : {"", "x", "x,x", "x,x,x"}) EXPECT_TRUE(full_match(*g, yes)) << yes;
  for (const char* no : {",", "x,", "xx", "x,x,x,x"}) EXPECT_FALSE(full_match(*g, no)) << no;
}

TEST(MatcherTest, StateIsUnchangedAfterARejectedByte) {
  GrammarBuilder b;
  const RuleId root = b.rule("root", {b.literal("cat"), b.literal("car")});
  auto g = std::make_shared<const Grammar>(*b.build(root));
  Matcher m(g);
  EXPECT_TRUE(m.accept("ca"));
  EXPECT_FALSE(m.accept("x"));
  EXPECT_FALSE(m.accept("tx"));  // the t is taken back too
  EXPECT_FALSE(m.can_end());
  EXPECT_TRUE(m.accept("r"));
  EXPECT_TRUE(m.must_end());
}

TEST(MatcherTest, LongRepetitionKeepsAFlatStack) {
  // x* written as right recursion: a million x's must neither overflow nor grow the state.
  GrammarBuilder b;
  Result<RuleId> r = b.repeat("xs", b.literal("x"), 0, -1);
  auto g = std::make_shared<const Grammar>(*b.build(*r));
  Matcher m(g);
  const std::string many(1000000, 'x');
  EXPECT_TRUE(m.accept(many));
  EXPECT_TRUE(m.can_end());
  EXPECT_LE(m.state().size(), 2u);
}

TEST(MatcherTest, AmbiguousGrammarsKeepEveryParse) {
  // (a|ab)(bc|c): "abc" parses two ways.
  GrammarBuilder b;
  const RuleId x = b.rule("x", {b.literal("a"), b.literal("ab")});
  const RuleId y = b.rule("y", {b.literal("bc"), b.literal("c")});
  const RuleId root = b.rule("root", {{GrammarBuilder::ref(x), GrammarBuilder::ref(y)}});
  Result<Grammar> g = b.build(root);
  ASSERT_TRUE(g.ok());
  EXPECT_TRUE(full_match(*g, "abc"));
  EXPECT_TRUE(full_match(*g, "abbc"));
  EXPECT_TRUE(full_match(*g, "ac"));
  EXPECT_FALSE(full_match(*g, "ab"));
}

}  // namespace
}  // namespace fathom::grammar
