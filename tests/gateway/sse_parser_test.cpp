#include "gateway/proxy/sse_parser.h"

#include <gtest/gtest.h>

#include "net/sse.h"

namespace fathom::gateway {
namespace {

const std::string kStream =
    ": keep-alive\n\n"
    "data: {\"a\":1}\n\n"
    "event: ignored\r\ndata: line one\r\ndata: line two\r\n\r\n"
    "data:[DONE]\n\n";

TEST(SseParserTest, EventsComeOutWhateverThePiecesTheBytesArriveIn) {
  const std::vector<std::string> want = {"{\"a\":1}", "line one\nline two", "[DONE]"};
  for (size_t piece = 1; piece <= kStream.size(); ++piece) {
    SseParser p;
    std::vector<std::string> got;
    for (size_t at = 0; at < kStream.size(); at += piece)
      for (auto& e : p.feed(std::string_view(kStream).substr(at, piece))) got.push_back(std::move(e));
    EXPECT_EQ(got, want) << "pieces of " << piece << " bytes";
  }
}

TEST(SseParserTest, AnUnfinishedEventIsHeldBack) {
  SseParser p;
  EXPECT_TRUE(p.feed("data: {\"partial\"").empty());
  EXPECT_EQ(p.feed(":1}\n\n"), std::vector<std::string>{"{\"partial\":1}"});
}

// The invariant sse_parser_fuzz checks: what the server frames, the gateway reads back, with
// every line break ("\r\n", "\r", "\n") read as "\n".
TEST(SseParserTest, ReadsBackWhatTheServerFrames) {
  SseParser p;
  const std::string framed = net::format_sse_event("a\r\nb\rc\nd") + net::format_sse_event("") +
                             net::format_sse_event(" x\r");
  EXPECT_EQ(p.feed(framed), (std::vector<std::string>{"a\nb\nc\nd", "", " x\n"}));
}

TEST(ChunkHasChoicesTest, FindsANonEmptyChoicesArrayWithoutParsing) {
  EXPECT_TRUE(chunk_has_choices(R"({"id":"c","choices":[{"index":0,"delta":{"content":"hi"}}]})"));
  EXPECT_TRUE(chunk_has_choices(R"({"choices" : [ {"index":0} ]})"));
  EXPECT_FALSE(chunk_has_choices(R"({"id":"c","choices":[]})"));
  EXPECT_FALSE(chunk_has_choices(R"({"id":"c","choices": [ ]})"));
  EXPECT_FALSE(chunk_has_choices(R"({"id":"c"})"));
  EXPECT_FALSE(chunk_has_choices(R"({"choices":null})"));
}

}  // namespace
}  // namespace fathom::gateway

namespace fathom::gateway {
namespace {

TEST(SseParserTest, ABareDataLineIsAnEmptyDataField) {
  SseParser p;
  EXPECT_EQ(p.feed("data\ndata: x\n\ndata\n\n"), (std::vector<std::string>{"\nx", ""}));
}

TEST(SseParserTest, AnEventPastTheLimitStopsTheParserInsteadOfGrowingForEver) {
  SseParser p;
  const std::string piece(1 << 20, 'a');
  EXPECT_EQ(p.feed("data: ok\n\n"), std::vector<std::string>{"ok"});
  EXPECT_TRUE(p.feed("data: ").empty());
  for (size_t fed = 0; fed <= SseParser::kMaxEventBytes; fed += piece.size())
    EXPECT_TRUE(p.feed(piece).empty());
  EXPECT_TRUE(p.overflowed());
  EXPECT_TRUE(p.feed("\n\ndata: late\n\n").empty());  // nothing more is read
}

}  // namespace
}  // namespace fathom::gateway
