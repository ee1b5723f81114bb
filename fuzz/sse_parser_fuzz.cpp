// libFuzzer target for server-sent events: the gateway's SseParser over an upstream's bytes and
// the server's format_sse_event framing. The low 4 bits of the first byte say how many of the
// next bytes are cut points (each a fraction of the rest, in 256ths); the rest is the stream.
// Invariants (a disagreement traps):
//  - the stream fed whole, in the fuzzer's pieces and byte by byte gives the same events;
//  - format_sse_event(x) parses back to exactly one event, x with every line break ("\r\n",
//    "\r", "\n") read as "\n", whether fed whole or in pieces, and so does a run of events.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "gateway/proxy/sse_parser.h"
#include "net/sse.h"

namespace {

using fathom::gateway::SseParser;

std::vector<std::string> feed_pieces(std::string_view bytes, const std::vector<size_t>& cuts) {
  SseParser p;
  std::vector<std::string> events;
  size_t at = 0;
  for (size_t i = 0; i <= cuts.size(); ++i) {
    const size_t to = i < cuts.size() ? cuts[i] : bytes.size();
    for (auto& e : p.feed(bytes.substr(at, to - at))) events.push_back(std::move(e));
    at = to;
  }
  // Blank lines end whatever event is still open (the first "\n" may end a "\r").
  for (auto& e : p.feed("\n\n\n")) events.push_back(std::move(e));
  return events;
}

std::vector<std::string> feed_bytes(std::string_view bytes) {
  std::vector<size_t> cuts;
  for (size_t i = 1; i < bytes.size(); ++i) cuts.push_back(i);
  return feed_pieces(bytes, cuts);
}

// What an event's data reads as once framed and parsed: every line break becomes "\n".
std::string normalise_breaks(std::string_view data) {
  std::string out;
  for (size_t i = 0; i < data.size(); ++i) {
    if (data[i] == '\r') {
      out.push_back('\n');
      if (i + 1 < data.size() && data[i + 1] == '\n') ++i;
    } else {
      out.push_back(data[i]);
    }
  }
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace fathom;
  if (size < 1) return 0;
  size_t num_cuts = std::min<size_t>(data[0] & 0x0f, size - 1);
  const std::string_view stream(reinterpret_cast<const char*>(data + 1 + num_cuts),
                                size - 1 - num_cuts);
  std::vector<size_t> cuts;
  for (size_t i = 0; i < num_cuts; ++i) cuts.push_back(data[1 + i] * stream.size() / 256);
  std::sort(cuts.begin(), cuts.end());

  const std::vector<std::string> whole = feed_pieces(stream, {});
  if (feed_pieces(stream, cuts) != whole) __builtin_trap();
  if (feed_bytes(stream) != whole) __builtin_trap();
  for (const std::string& e : whole) (void)gateway::chunk_has_choices(e);

  // The server's framing, read back by the gateway's parser: the stream as one event's data...
  const std::string framed = net::format_sse_event(stream);
  const std::vector<std::string> one = {normalise_breaks(stream)};
  if (feed_pieces(framed, {}) != one) __builtin_trap();
  std::vector<size_t> framed_cuts;
  for (size_t c : cuts)
    framed_cuts.push_back(c * framed.size() / std::max<size_t>(stream.size(), 1));
  if (feed_pieces(framed, framed_cuts) != one) __builtin_trap();
  // ...and each of the fuzzer's pieces as an event of its own, framed back to back.
  std::string run;
  std::vector<std::string> want;
  size_t at = 0;
  for (size_t i = 0; i <= cuts.size(); ++i) {
    const size_t to = i < cuts.size() ? cuts[i] : stream.size();
    run += net::format_sse_event(stream.substr(at, to - at));
    want.push_back(normalise_breaks(stream.substr(at, to - at)));
    at = to;
  }
  if (feed_pieces(run, {}) != want) __builtin_trap();
  return 0;
}
