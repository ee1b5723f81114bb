#include "tokenizer/reasoning_parser.h"

#include "tokenizer/tag_scan.h"

namespace fathom::tokenizer {

namespace {

bool is_space(char c) { return c == ' ' || c == '\n' || c == '\t' || c == '\r'; }

}  // namespace

ReasoningParser::ReasoningParser(ReasoningOptions options) : options_(std::move(options)) {}

ReasoningDelta ReasoningParser::feed(std::string_view text) {
  buffer_.append(text);
  ReasoningDelta out;
  process(false, out);
  return out;
}

ReasoningDelta ReasoningParser::finish() {
  ReasoningDelta out;
  process(true, out);
  return out;
}

void ReasoningParser::process(bool eof, ReasoningDelta& out) {
  for (;;) {
    switch (state_) {
      case State::kStart: {
        // Does the output open with the start tag (after optional whitespace)?
        size_t lead = 0;
        while (lead < buffer_.size() && is_space(buffer_[lead])) ++lead;
        const std::string_view rest = std::string_view(buffer_).substr(lead);
        const std::string& tag = options_.start_tag;
        if (rest.size() >= tag.size() && rest.substr(0, tag.size()) == tag) {
          buffer_.erase(0, lead + tag.size());
          state_ = State::kReasoning;
          continue;
        }
        const bool undecided = rest.size() < tag.size() && tag.compare(0, rest.size(), rest) == 0;
        if (undecided && !eof) return;
        state_ = options_.start_in_reasoning ? State::kReasoning : State::kContent;
        continue;
      }
      case State::kReasoning: {
        const size_t pos = buffer_.find(options_.end_tag);
        if (pos != std::string::npos) {
          out.reasoning.append(buffer_, 0, pos);
          buffer_.erase(0, pos + options_.end_tag.size());
          state_ = State::kContent;
          continue;
        }
        const size_t hold = eof ? 0 : partial_tag_suffix(buffer_, options_.end_tag);
        out.reasoning.append(buffer_, 0, buffer_.size() - hold);
        buffer_.erase(0, buffer_.size() - hold);
        return;
      }
      case State::kContent:
        out.content += buffer_;
        buffer_.clear();
        return;
    }
  }
}

ReasoningDelta parse_reasoning(std::string_view output, const ReasoningOptions& options) {
  ReasoningParser parser(options);
  ReasoningDelta all = parser.feed(output);
  ReasoningDelta tail = parser.finish();
  all.content += tail.content;
  all.reasoning += tail.reasoning;
  return all;
}

bool prompt_opens_reasoning(std::string_view prompt, const ReasoningOptions& options) {
  size_t end = prompt.size();
  while (end > 0 && is_space(prompt[end - 1])) --end;
  const std::string_view trimmed = prompt.substr(0, end);
  const std::string& tag = options.start_tag;
  if (trimmed.size() < tag.size() || trimmed.substr(trimmed.size() - tag.size()) != tag)
    return false;
  return true;
}

}  // namespace fathom::tokenizer
