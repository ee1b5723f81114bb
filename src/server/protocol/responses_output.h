// The Responses API's answer, built from one choice's output deltas: output items (reasoning,
// the assistant message with its output_text part, function calls) opened and closed as the
// text arrives, the stream's typed events with their sequence numbers, and the final Response
// object. A non-streaming request feeds the same deltas and ignores the events, so both forms
// always agree.
#pragma once

#include <string>
#include <vector>

#include "server/protocol/json_fields.h"
#include "server/protocol/render.h"
#include "tokenizer/tool_call_parser.h"

namespace fathom::server::protocol {

struct ResponsesEvent {
  std::string type;  ///< also the SSE event line
  Json data;         ///< carries "type" and "sequence_number"
};

class ResponsesOutput {
 public:
  /// `echo`: the request's settings the Response object repeats (ResponsesRequest::echo).
  ResponsesOutput(std::string id, std::string model, int64_t created_at, Json echo);

  /// response.created and response.in_progress.
  std::vector<ResponsesEvent> start();
  /// Events for a piece of output, in the order the model wrote it.
  std::vector<ResponsesEvent> add(const std::string& reasoning, const std::string& content,
                                  const std::vector<tokenizer::ToolCallDelta>& tool_calls);
  /// Closes what is open; then response.completed, or response.incomplete when the output
  /// hit max_output_tokens ("length").
  std::vector<ResponsesEvent> finish(const std::string& finish_reason, const Usage& usage);
  /// An error after the stream began: "error" then response.failed.
  std::vector<ResponsesEvent> fail(const std::string& code, const std::string& message);

  /// The Response object as it stands (after finish(): the final one).
  Json response() const;

 private:
  enum class Kind { kNone, kReasoning, kMessage, kFunctionCall };
  void open(Kind kind, std::vector<ResponsesEvent>& out,
            const tokenizer::ToolCallDelta* call = nullptr);
  void close(std::vector<ResponsesEvent>& out);
  void emit(std::vector<ResponsesEvent>& out, const std::string& type, Json fields);

  std::string id_;
  std::string model_;
  int64_t created_at_;
  Json echo_;
  std::string status_ = "in_progress";
  Json incomplete_details_;
  Json error_;
  Json usage_;
  Json items_ = Json::array();  // closed items, final form
  Kind open_ = Kind::kNone;
  Json open_item_;  // the open item, its text so far in text_
  std::string text_;
  int tool_index_ = -1;  // the open function call's index in the parser's numbering
  int64_t sequence_ = 0;
  int num_items_ = 0;
};

}  // namespace fathom::server::protocol
