#include "gateway/proxy/sse_parser.h"

#include <algorithm>

namespace fathom::gateway {

std::vector<std::string> SseParser::feed(std::string_view bytes) {
  std::vector<std::string> events;
  if (overflowed_) return events;
  for (char c : bytes) {
    if (c == '\n' && last_was_cr_) {  // the \n of a \r\n pair
      last_was_cr_ = false;
      continue;
    }
    last_was_cr_ = c == '\r';
    if (c != '\n' && c != '\r') {
      if (line_.size() + data_.size() >= kMaxEventBytes) {
        overflowed_ = true;
        line_.clear();
        data_.clear();
        return events;
      }
      line_.push_back(c);
      continue;
    }
    if (line_.empty()) {  // blank line: dispatch
      if (has_data_) events.push_back(std::move(data_));
      data_.clear();
      has_data_ = false;
    } else if (line_.rfind("data:", 0) == 0 || line_ == "data") {  // a bare "data": empty value
      std::string_view v(line_);
      v.remove_prefix(std::min<size_t>(5, v.size()));
      if (!v.empty() && v.front() == ' ') v.remove_prefix(1);
      if (has_data_) data_.push_back('\n');
      data_.append(v);
      has_data_ = true;
    }
    line_.clear();
  }
  return events;
}

bool chunk_has_choices(std::string_view json) {
  size_t at = json.find("\"choices\"");
  if (at == std::string_view::npos) return false;
  at = json.find_first_not_of(" \t\r\n:", at + 9);
  if (at == std::string_view::npos || json[at] != '[') return false;
  at = json.find_first_not_of(" \t\r\n", at + 1);
  return at != std::string_view::npos && json[at] != ']';
}

}  // namespace fathom::gateway
