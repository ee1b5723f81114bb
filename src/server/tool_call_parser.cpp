#include "server/tool_call_parser.h"

#include "server/text_markers.h"

namespace fathom::server {
namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\n' || s.front() == '\r' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\n' || s.back() == '\r' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

}  // namespace

std::vector<ToolCall> parse_deepseek_tool_calls(std::string_view text) {
  std::vector<ToolCall> calls;
  size_t pos = 0;
  while ((pos = text.find(kToolCallBegin, pos)) != std::string_view::npos) {
    pos += kToolCallBegin.size();
    const size_t end = text.find(kToolCallEnd, pos);
    if (end == std::string_view::npos) break;
    std::string_view body = text.substr(pos, end - pos);
    pos = end + kToolCallEnd.size();
    const size_t sep = body.find(kToolSep);
    if (sep == std::string_view::npos) continue;
    ToolCall c;
    c.type = std::string(trim(body.substr(0, sep)));
    if (c.type.empty()) c.type = "function";
    std::string_view rest = body.substr(sep + kToolSep.size());
    const size_t nl = rest.find('\n');
    c.name = std::string(trim(rest.substr(0, nl)));
    if (c.name.empty()) continue;
    std::string_view args = nl == std::string_view::npos ? std::string_view() : rest.substr(nl + 1);
    args = trim(args);
    if (args.substr(0, 7) == "```json") args.remove_prefix(7);
    else if (args.substr(0, 3) == "```") args.remove_prefix(3);
    if (args.size() >= 3 && args.substr(args.size() - 3) == "```") args.remove_suffix(3);
    c.arguments = std::string(trim(args));
    calls.push_back(std::move(c));
  }
  return calls;
}

std::string ToolCallStream::feed(std::string_view text, bool last) {
  if (in_calls_) {
    tool_text_ += text;
    return {};
  }
  held_ += text;
  const size_t at = held_.find(kToolCallsBegin);
  if (at != std::string::npos) {
    in_calls_ = true;
    tool_text_ = held_.substr(at);
    std::string out = held_.substr(0, at);
    held_.clear();
    return out;
  }
  const size_t keep = last ? 0 : partial_marker_suffix(held_, kToolCallsBegin);
  std::string out = held_.substr(0, held_.size() - keep);
  held_.erase(0, held_.size() - keep);
  return out;
}

std::vector<ToolCall> ToolCallStream::finish(std::string& content_out) {
  if (!in_calls_) return {};
  std::vector<ToolCall> calls = parse_deepseek_tool_calls(tool_text_);
  if (calls.empty()) content_out += tool_text_;
  tool_text_.clear();
  return calls;
}

}  // namespace fathom::server
