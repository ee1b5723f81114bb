// One choice's output, from engine tokens to what the client sees: incremental
// detokenization (tokenizer::StreamDecoder), stop strings (also when split across tokens: a
// suffix that may begin a stop string is held back; a match truncates the text), then the
// optional DeepSeek-R1 reasoning split and DeepSeek tool-call parsing (tokenizer::OutputParser),
// or, under a forced tool_choice, the JSON tool calls (tokenizer::JsonToolCallStream).
// Runs on the connection's strand, never on the engine thread.
#pragma once

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "engine/request.h"
#include "tokenizer/json_tool_calls.h"
#include "tokenizer/output_parser.h"
#include "tokenizer/stream_decoder.h"
#include "tokenizer/tokenizer.h"

namespace fathom::server {

struct OutputOptions {
  std::vector<std::string> stop;
  bool include_stop_str_in_output = false;
  bool skip_special_tokens = true;
  bool parse_reasoning = false;        ///< DeepSeek-R1 <think> split
  bool reasoning_starts_open = false;  ///< the prompt ended inside <think>
  bool parse_tool_calls = false;       ///< DeepSeek tool-call markup
  /// tool_choice "required" or a named function: the output is JSON tool calls (the grammar
  /// enforces it), read by tokenizer::JsonToolCallStream instead of the markup parser.
  enum class ForcedTools { kNone, kNamed, kRequired };
  ForcedTools forced_tools = ForcedTools::kNone;
  std::string forced_tool_name;  ///< kNamed
  int32_t max_tool_calls = 0;    ///< 0: no limit; 1 with parallel_tool_calls false
  std::string tool_call_id_prefix = "call_";
};

struct OutputDelta {
  std::string content;
  std::string reasoning;
  std::vector<tokenizer::ToolCallDelta> tool_calls;
  std::vector<engine::GeneratedToken> tokens;  ///< the tokens this delta consumed (logprobs)
  bool stop_matched = false;                   ///< a stop string ended the output
  bool last = false;                           ///< nothing follows
};

class OutputProcessor {
 public:
  OutputProcessor(const tokenizer::Tokenizer& tok, OutputOptions options);

  /// Consumes new tokens. `finished`: the engine sent its last update. After a stop string
  /// matched, further tokens are ignored (the caller cancels the engine request).
  OutputDelta process(const std::vector<engine::GeneratedToken>& tokens, bool finished);

  bool done() const { return done_; }
  /// Tokens that count as the completion (up to and including the one completing a stop).
  int64_t num_tokens() const { return num_tokens_; }

 private:
  std::string detokenize(int32_t id);
  void release(const std::string& text, bool last, OutputDelta& out);

  const tokenizer::Tokenizer& tok_;
  OutputOptions options_;
  // The decoder keeps special tokens; skip_special_tokens is applied here so the markers the
  // parsers need (special in some tokenizers) survive it.
  tokenizer::StreamDecoder detok_;
  std::set<int32_t> keep_special_;
  std::optional<tokenizer::OutputParser> parser_;
  std::optional<tokenizer::JsonToolCallStream> forced_;
  std::string text_;  // detokenized text not yet past the stop-string check
  size_t max_stop_len_ = 0;
  int64_t num_tokens_ = 0;
  bool done_ = false;
};

}  // namespace fathom::server
