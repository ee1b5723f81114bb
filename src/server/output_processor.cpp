#include "server/output_processor.h"

#include <algorithm>

#include "server/text_markers.h"

namespace fathom::server {
namespace {

std::set<int32_t> marker_ids(const tokenizer::Tokenizer& tok, const OutputOptions& o) {
  std::set<int32_t> ids;
  auto add = [&](std::string_view text) {
    if (auto id = tok.token_to_id(text)) ids.insert(*id);
  };
  if (o.parse_reasoning) {
    add(kThinkStart);
    add(kThinkEnd);
  }
  if (o.parse_tool_calls) {
    for (std::string_view m : {kToolCallsBegin, kToolCallsEnd, kToolCallBegin, kToolCallEnd, kToolSep}) add(m);
  }
  return ids;
}

}  // namespace

OutputProcessor::OutputProcessor(const tokenizer::Tokenizer& tok, OutputOptions options)
    : tok_(tok),
      options_(std::move(options)),
      detok_(tok, options_.skip_special_tokens, marker_ids(tok, options_)) {
  if (options_.parse_reasoning) reasoning_.emplace();
  if (options_.parse_tool_calls) tools_.emplace();
  for (const std::string& s : options_.stop) max_stop_len_ = std::max(max_stop_len_, s.size());
}

OutputDelta OutputProcessor::process(const std::vector<engine::GeneratedToken>& tokens, bool finished) {
  OutputDelta out;
  if (done_) {
    out.last = true;
    return out;
  }
  std::string released;
  auto check_stop = [&](size_t search_from) -> bool {
    size_t best = std::string::npos;
    const std::string* best_stop = nullptr;
    for (const std::string& s : options_.stop) {
      const size_t at = text_.find(s, search_from);
      if (at != std::string::npos && at < best) {
        best = at;
        best_stop = &s;
      }
    }
    if (!best_stop) return false;
    const size_t cut = options_.include_stop_str_in_output ? best + best_stop->size() : best;
    released += text_.substr(0, cut);
    text_.clear();
    out.stop_matched = true;
    return true;
  };

  for (const engine::GeneratedToken& t : tokens) {
    ++num_tokens_;
    out.tokens.push_back(t);
    const size_t before = text_.size();
    text_ += detok_.add(t.token_id);
    if (!options_.stop.empty() && text_.size() > before) {
      // A new match must end in the new text, so it starts at most max_stop_len-1 bytes before it.
      const size_t from = before >= max_stop_len_ ? before - max_stop_len_ + 1 : 0;
      if (check_stop(from)) break;
    }
  }
  if (!out.stop_matched && finished) {
    const size_t before = text_.size();
    text_ += detok_.flush();
    if (!options_.stop.empty()) check_stop(before >= max_stop_len_ ? before - max_stop_len_ + 1 : 0);
  }
  const bool last = finished || out.stop_matched;
  if (!out.stop_matched) {
    const size_t keep = last ? 0 : partial_marker_suffix(text_, options_.stop);
    released += text_.substr(0, text_.size() - keep);
    text_.erase(0, text_.size() - keep);
  }
  release(released, last, out);
  out.last = last;
  done_ = last;
  return out;
}

void OutputProcessor::release(std::string_view text, bool last, OutputDelta& out) {
  std::string content(text);
  if (reasoning_) {
    ReasoningParser::Piece p = reasoning_->feed(text, last);
    out.reasoning = std::move(p.reasoning);
    content = std::move(p.content);
  }
  if (tools_) {
    content = tools_->feed(content, last);
    if (last) out.tool_calls = tools_->finish(content);
  }
  out.content = std::move(content);
}

}  // namespace fathom::server
