#include <gtest/gtest.h>

#include "net/sse.h"

namespace fathom::net {
namespace {

TEST(SseTest, OneLineEvent) { EXPECT_EQ(format_sse_event("{\"a\":1}"), "data: {\"a\":1}\n\n"); }

TEST(SseTest, EveryLineBreakStartsANewDataLine) {
  EXPECT_EQ(format_sse_event("a\nb\r\nc\rd"), "data: a\ndata: b\ndata: c\ndata: d\n\n");
}

TEST(SseTest, EmptyAndDone) {
  EXPECT_EQ(format_sse_event(""), "data: \n\n");
  EXPECT_EQ(format_sse_event("[DONE]"), "data: [DONE]\n\n");
}

}  // namespace
}  // namespace fathom::net
