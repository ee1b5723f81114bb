#include "server/reasoning_parser.h"

#include "server/text_markers.h"

namespace fathom::server {

ReasoningParser::Piece ReasoningParser::feed(std::string_view text, bool last) {
  Piece out;
  held_ += text;
  if (state_ == State::kStart) {
    // Skip leading whitespace only as part of the "<think>" check; keep it otherwise.
    const size_t ws = held_.find_first_not_of(" \n");
    if (ws == std::string::npos) {
      if (!last) return out;
      state_ = State::kReasoning;
    } else {
      std::string_view rest = std::string_view(held_).substr(ws);
      if (rest.size() < kThinkStart.size() && kThinkStart.substr(0, rest.size()) == rest && !last) return out;
      if (rest.substr(0, kThinkStart.size()) == kThinkStart) held_.erase(0, ws + kThinkStart.size());
      state_ = State::kReasoning;
    }
  }
  if (state_ == State::kReasoning) {
    const size_t end = held_.find(kThinkEnd);
    if (end != std::string::npos) {
      out.reasoning = held_.substr(0, end);
      held_.erase(0, end + kThinkEnd.size());
      state_ = State::kContent;
    } else {
      const size_t keep = last ? 0 : partial_marker_suffix(held_, kThinkEnd);
      out.reasoning = held_.substr(0, held_.size() - keep);
      held_.erase(0, held_.size() - keep);
      return out;
    }
  }
  out.content = std::move(held_);
  held_.clear();
  return out;
}

}  // namespace fathom::server
