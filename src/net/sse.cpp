#include "net/sse.h"

namespace fathom::net {

std::string format_sse_event(std::string_view data, std::string_view event) {
  std::string out;
  out.reserve(data.size() + event.size() + 24);
  if (!event.empty()) {
    out += "event: ";
    for (char c : event) out.push_back(c == '\r' || c == '\n' ? ' ' : c);
    out += '\n';
  }
  out += "data: ";
  for (size_t i = 0; i < data.size(); ++i) {
    const char c = data[i];
    if (c == '\r' || c == '\n') {
      if (c == '\r' && i + 1 < data.size() && data[i + 1] == '\n') ++i;
      out += "\ndata: ";
    } else {
      out.push_back(c);
    }
  }
  out += "\n\n";
  return out;
}

}  // namespace fathom::net
