#include "server/output_processor.h"

#include <algorithm>

#include "server/text_markers.h"

namespace fathom::server {
namespace {

std::set<int32_t> marker_ids(const tokenizer::Tokenizer& tok, const OutputOptions& o) {
  std::set<int32_t> ids;
  auto add = [&](const std::string& text) {
    if (auto id = tok.token_to_id(text)) ids.insert(*id);
  };
  if (o.parse_reasoning) {
    const tokenizer::ReasoningOptions r;
    add(r.start_tag);
    add(r.end_tag);
  }
  if (o.parse_tool_calls) {
    const tokenizer::ToolCallTags t;
    for (const std::string* m : {&t.calls_begin, &t.calls_end, &t.call_begin, &t.call_end, &t.sep}) add(*m);
  }
  return ids;
}

}  // namespace

OutputProcessor::OutputProcessor(const tokenizer::Tokenizer& tok, OutputOptions options)
    : tok_(tok),
      options_(std::move(options)),
      detok_(tok, /*skip_special_tokens=*/false),
      keep_special_(marker_ids(tok, options_)) {
  using Forced = OutputOptions::ForcedTools;
  if (options_.forced_tools == Forced::kNamed) {
    forced_ = tokenizer::JsonToolCallStream::named(options_.forced_tool_name,
                                                   options_.tool_call_id_prefix);
  } else if (options_.forced_tools == Forced::kRequired) {
    forced_ = tokenizer::JsonToolCallStream::list(options_.tool_call_id_prefix);
  } else if (options_.parse_reasoning || options_.parse_tool_calls) {
    tokenizer::OutputParserOptions p;
    p.parse_reasoning = options_.parse_reasoning;
    p.reasoning.start_in_reasoning = options_.reasoning_starts_open;
    p.parse_tool_calls = options_.parse_tool_calls;
    p.tool_call_id_prefix = options_.tool_call_id_prefix;
    parser_.emplace(std::move(p));
  }
  for (const std::string& s : options_.stop) max_stop_len_ = std::max(max_stop_len_, s.size());
}

std::string OutputProcessor::detokenize(int32_t id) {
  if (options_.skip_special_tokens && tok_.is_special(id) && !keep_special_.count(id)) return {};
  return detok_.add(id);
}

OutputDelta OutputProcessor::process(const std::vector<engine::GeneratedToken>& tokens, bool finished) {
  OutputDelta out;
  if (done_) {
    out.last = true;
    return out;
  }
  std::string released;
  // A new match must end in the new text, so it starts at most max_stop_len-1 bytes before it.
  auto check_stop = [&](size_t old_size) -> bool {
    const size_t from = old_size >= max_stop_len_ ? old_size - max_stop_len_ + 1 : 0;
    size_t best = std::string::npos;
    const std::string* best_stop = nullptr;
    for (const std::string& s : options_.stop) {
      const size_t at = text_.find(s, from);
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
    text_ += detokenize(t.token_id);
    if (!options_.stop.empty() && text_.size() > before && check_stop(before)) break;
  }
  if (!out.stop_matched && finished) {
    const size_t before = text_.size();
    text_ += detok_.finish();
    if (!options_.stop.empty()) check_stop(before);
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

void OutputProcessor::release(const std::string& text, bool last, OutputDelta& out) {
  if (forced_) {
    out.tool_calls = forced_->feed(text);
    return;
  }
  if (!parser_) {
    out.content = text;
    return;
  }
  tokenizer::OutputDelta d = parser_->feed(text);
  if (last) {
    tokenizer::OutputDelta tail = parser_->finish();
    d.content += tail.content;
    d.reasoning += tail.reasoning;
    for (auto& c : tail.tool_calls) d.tool_calls.push_back(std::move(c));
  }
  out.content = std::move(d.content);
  out.reasoning = std::move(d.reasoning);
  out.tool_calls = std::move(d.tool_calls);
  if (options_.max_tool_calls >
      0) {  // parallel_tool_calls false: calls after the first are dropped
    std::erase_if(out.tool_calls, [&](const tokenizer::ToolCallDelta& c) {
      return c.index >= options_.max_tool_calls;
    });
  }
}

}  // namespace fathom::server
