#include "tokenizer/tool_call_parser.h"

#include <cctype>

#include "tokenizer/tag_scan.h"

namespace fathom::tokenizer {

namespace {

constexpr size_t kMaxHeaderBytes = 256;  // a longer function name/type is not tool markup

bool is_space(char c) { return c == ' ' || c == '\n' || c == '\t' || c == '\r'; }

bool starts_with(std::string_view s, std::string_view p) {
  return s.size() >= p.size() && s.substr(0, p.size()) == p;
}

}  // namespace

void start_tool_call(std::vector<ToolCall>& calls, const std::string& id_prefix, std::string name,
                     std::vector<ToolCallDelta>& out) {
  ToolCallDelta d;
  d.index = static_cast<int>(calls.size());
  d.id = id_prefix + std::to_string(calls.size());
  d.name = name;
  calls.push_back({d.id, std::move(name), ""});
  out.push_back(std::move(d));
}

void append_tool_call_arguments(std::vector<ToolCall>& calls, std::string_view piece,
                                std::vector<ToolCallDelta>& out) {
  if (piece.empty() || calls.empty()) return;
  calls.back().arguments.append(piece);
  const int index = static_cast<int>(calls.size()) - 1;
  if (!out.empty() && out.back().index == index) {
    out.back().arguments.append(piece);
    return;
  }
  ToolCallDelta d;
  d.index = index;
  d.arguments.assign(piece);
  out.push_back(std::move(d));
}

ToolCallParser::ToolCallParser(std::string id_prefix, ToolCallTags tags)
    : id_prefix_(std::move(id_prefix)), tags_(std::move(tags)) {}

ToolCallParseDelta ToolCallParser::feed(std::string_view text) {
  buffer_.append(text);
  ToolCallParseDelta out;
  process(false, out);
  return out;
}

ToolCallParseDelta ToolCallParser::finish() {
  ToolCallParseDelta out;
  process(true, out);
  return out;
}

void ToolCallParser::fall_back_to_text(ToolCallParseDelta& out) {
  // Markup that turned out not to be a tool call is ordinary content.
  out.content += section_raw_;
  section_raw_.clear();
  state_ = State::kText;
}

void ToolCallParser::start_call(std::string name, ToolCallParseDelta& out) {
  start_tool_call(calls_, id_prefix_, std::move(name), out.tool_calls);
  section_raw_.clear();
  truncated_ = true;  // until its end tag arrives
  state_ = State::kArgs;
}

void ToolCallParser::emit_args(std::string_view piece, ToolCallParseDelta& out) {
  append_tool_call_arguments(calls_, piece, out.tool_calls);
}

void ToolCallParser::process(bool eof, ToolCallParseDelta& out) {
  for (;;) {
    switch (state_) {
      case State::kText: {
        const size_t pos = buffer_.find(tags_.calls_begin);
        if (pos != std::string::npos) {
          out.content.append(buffer_, 0, pos);
          section_raw_ = tags_.calls_begin;
          buffer_.erase(0, pos + tags_.calls_begin.size());
          state_ = State::kBetweenCalls;
          continue;
        }
        const size_t hold = eof ? 0 : partial_tag_suffix(buffer_, tags_.calls_begin);
        out.content.append(buffer_, 0, buffer_.size() - hold);
        buffer_.erase(0, buffer_.size() - hold);
        return;
      }
      case State::kBetweenCalls: {
        size_t lead = 0;
        while (lead < buffer_.size() && is_space(buffer_[lead])) ++lead;
        const std::string_view rest = std::string_view(buffer_).substr(lead);
        if (starts_with(rest, tags_.call_begin)) {
          section_raw_.append(buffer_, 0, lead + tags_.call_begin.size());
          buffer_.erase(0, lead + tags_.call_begin.size());
          state_ = State::kHeader;
          continue;
        }
        if (starts_with(rest, tags_.calls_end)) {
          buffer_.erase(0, lead + tags_.calls_end.size());
          if (calls_.empty()) {
            section_raw_ += tags_.calls_end;
            fall_back_to_text(out);  // an empty tool section is not a call
          } else {
            section_raw_.clear();
            state_ = State::kDone;
          }
          continue;
        }
        const bool maybe =
            starts_with(tags_.call_begin, rest) || starts_with(tags_.calls_end, rest);
        if (maybe && !eof) return;
        if (eof && calls_.empty() == false && rest.empty()) {
          // Output ended after complete calls without the closing tag: accept the calls.
          section_raw_.clear();
          state_ = State::kDone;
          continue;
        }
        fall_back_to_text(out);
        continue;
      }
      case State::kHeader: {
        const size_t sep = buffer_.find(tags_.sep);
        const size_t bad = buffer_.find_first_of("\n<");
        if (sep == std::string::npos || (bad != std::string::npos && bad < sep)) {
          const bool can_wait =
              !eof && bad == std::string::npos && buffer_.size() <= kMaxHeaderBytes;
          if (can_wait) return;
          // "<" may start the separator itself.
          if (!eof && bad != std::string::npos && (sep == std::string::npos || bad < sep) &&
              starts_with(tags_.sep, std::string_view(buffer_).substr(bad)) &&
              buffer_.size() <= kMaxHeaderBytes) {
            return;
          }
          fall_back_to_text(out);
          continue;
        }
        std::string header = buffer_.substr(0, sep);
        section_raw_.append(buffer_, 0, sep + tags_.sep.size());
        buffer_.erase(0, sep + tags_.sep.size());
        if (header.empty()) {
          fall_back_to_text(out);
          continue;
        }
        if (header == "function") {
          fenced_ = true;
          state_ = State::kName;
        } else {
          fenced_ = false;
          start_call(std::move(header), out);
        }
        continue;
      }
      case State::kName: {
        // NAME\n```json\n
        const size_t nl = buffer_.find('\n');
        const size_t fence = nl == std::string::npos ? std::string::npos : buffer_.find("```", nl);
        size_t fence_end = std::string::npos;
        if (fence != std::string::npos) fence_end = buffer_.find('\n', fence);
        if (fence_end == std::string::npos) {
          const bool can_wait =
              !eof && buffer_.size() <= kMaxHeaderBytes && buffer_.find('<') == std::string::npos;
          if (can_wait) return;
          fall_back_to_text(out);
          continue;
        }
        std::string name = buffer_.substr(0, nl);
        const std::string between = buffer_.substr(nl + 1, fence - nl - 1);
        const std::string lang = buffer_.substr(fence + 3, fence_end - fence - 3);
        bool ok = !name.empty() && name.find('<') == std::string::npos;
        for (char c : between) ok = ok && is_space(c);
        for (char c : lang) ok = ok && (std::isalnum(static_cast<unsigned char>(c)) || is_space(c));
        if (!ok) {
          fall_back_to_text(out);
          continue;
        }
        while (!name.empty() && is_space(name.back())) name.pop_back();
        buffer_.erase(0, fence_end + 1);
        start_call(std::move(name), out);
        continue;
      }
      case State::kArgs: {
        const size_t end = buffer_.find(tags_.call_end);
        if (end != std::string::npos) {
          std::string_view args = std::string_view(buffer_).substr(0, end);
          if (fenced_) {
            while (!args.empty() && is_space(args.back())) args.remove_suffix(1);
            if (args.size() >= 3 && args.substr(args.size() - 3) == "```") args.remove_suffix(3);
            while (!args.empty() && is_space(args.back())) args.remove_suffix(1);
          }
          emit_args(args, out);
          buffer_.erase(0, end + tags_.call_end.size());
          truncated_ = false;
          state_ = State::kBetweenCalls;
          continue;
        }
        if (eof) {
          emit_args(buffer_, out);  // the output stopped inside the call
          buffer_.clear();
          state_ = State::kDone;
          continue;
        }
        // Hold back what may still turn out to be "\n```" + the end tag.
        size_t hold = partial_tag_suffix(buffer_, tags_.call_end);
        if (fenced_) {
          size_t k = buffer_.size() - hold;
          while (k > 0 && (buffer_[k - 1] == '`' || is_space(buffer_[k - 1]))) --k;
          hold = buffer_.size() - k;
        }
        emit_args(std::string_view(buffer_).substr(0, buffer_.size() - hold), out);
        buffer_.erase(0, buffer_.size() - hold);
        return;
      }
      case State::kDone:
        // Text after the tool section is content.
        out.content += buffer_;
        buffer_.clear();
        return;
    }
  }
}

ParsedToolCalls parse_tool_calls(std::string_view output, const std::string& id_prefix) {
  ToolCallParser parser(id_prefix);
  ToolCallParseDelta a = parser.feed(output);
  ToolCallParseDelta b = parser.finish();
  ParsedToolCalls result;
  if (parser.truncated()) {
    result.content.assign(output);  // a call without its end: not a usable call
    return result;
  }
  result.content = a.content + b.content;
  result.tool_calls = parser.calls();
  return result;
}

}  // namespace fathom::tokenizer
