// One choice's output, from engine tokens to what the client sees: incremental
// detokenization, stop strings (also when split across tokens: a suffix that may begin a stop
// string is held back; a match truncates the text), then optional reasoning and tool-call
// parsing. Runs on the connection's strand, never on the engine thread.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "engine/request.h"
#include "server/incremental_detokenizer.h"
#include "server/reasoning_parser.h"
#include "server/tool_call_parser.h"
#include "tokenizer/tokenizer.h"

namespace fathom::server {

struct OutputOptions {
  std::vector<std::string> stop;
  bool include_stop_str_in_output = false;
  bool skip_special_tokens = true;
  bool parse_reasoning = false;   ///< DeepSeek-R1 <think> split
  bool parse_tool_calls = false;  ///< DeepSeek tool-call markers
};

struct OutputDelta {
  std::string content;
  std::string reasoning;
  std::vector<ToolCall> tool_calls;            ///< only in the last delta
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
  void release(std::string_view text, bool last, OutputDelta& out);

  const tokenizer::Tokenizer& tok_;
  OutputOptions options_;
  IncrementalDetokenizer detok_;
  std::optional<ReasoningParser> reasoning_;
  std::optional<ToolCallStream> tools_;
  std::string text_;   // detokenized text not yet released past the stop-string check
  size_t max_stop_len_ = 0;
  int64_t num_tokens_ = 0;
  bool done_ = false;
};

}  // namespace fathom::server
