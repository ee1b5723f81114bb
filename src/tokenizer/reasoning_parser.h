// DeepSeek-R1 style reasoning: "<think>...</think>answer" becomes reasoning_content and content.
// Also handles prompts that already end in "<think>\n" (the model's output then holds only the
// closing tag). Works on a stream of text deltas (tags may be split across deltas) and on a whole
// output, with the same result.
#pragma once

#include <string>
#include <string_view>

namespace fathom::tokenizer {

struct ReasoningDelta {
  std::string content;
  std::string reasoning;
};

struct ReasoningOptions {
  std::string start_tag = "<think>";
  std::string end_tag = "</think>";
  /// The prompt ended inside a reasoning block (e.g. with "<think>\n"): output starts as reasoning.
  bool start_in_reasoning = false;
};

class ReasoningParser {
 public:
  explicit ReasoningParser(ReasoningOptions options = {});

  ReasoningDelta feed(std::string_view text);
  /// End of output: releases held-back text.
  ReasoningDelta finish();
  bool in_reasoning() const { return state_ == State::kReasoning; }

 private:
  enum class State { kStart, kReasoning, kContent };
  void process(bool eof, ReasoningDelta& out);

  ReasoningOptions options_;
  State state_ = State::kStart;
  std::string buffer_;
};

/// Whole-output form of ReasoningParser.
ReasoningDelta parse_reasoning(std::string_view output, const ReasoningOptions& options = {});

/// True if `prompt` ends inside an unclosed reasoning block (after optional whitespace).
bool prompt_opens_reasoning(std::string_view prompt, const ReasoningOptions& options = {});

}  // namespace fathom::tokenizer
