// A policy's content rules on the answer. A whole answer has each blocked choice (Responses:
// the whole output) replaced by the refusal, with finish reason `content_filter`. A stream is
// read event by event: each choice's texts (content, reasoning, tool-call arguments) are
// accumulated and checked (terms where they could end in the new piece, patterns over the
// whole text so far), and the event that completes a match is never sent; the
// stream then ends with a chunk whose finish_reason is `content_filter` (Responses: a
// `response.incomplete` event, reason content_filter) and nothing more of the upstream's.
// A term split over two events has its first part sent before the match shows.
#pragma once

#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <string_view>

#include "gateway/policy/policy.h"

namespace fathom::gateway::policy {

/// A whole (non-stream) answer of `route`, edited in place. True when something was replaced.
bool filter_response(const Policy& p, std::string_view route, nlohmann::json& response);

/// filter_response on a body's text: the body unchanged unless something was replaced (it is
/// only parsed when the policy filters answers).
std::string filter_response_body(const Policy& p, std::string_view route, std::string body);

class StreamFilter {
 public:
  StreamFilter(Policy p, std::string route) : p_(std::move(p)), route_(std::move(route)) {}
  /// One upstream event. False: with it the answer breaks the policy; it must not be sent, and
  /// the stream ends with final_event().
  bool pass(const nlohmann::json& event);
  /// The event (JSON text) that ends a stream cut by pass().
  std::string final_event() const;

 private:
  bool add(const std::string& channel, const nlohmann::json& piece);

  Policy p_;
  std::string route_;
  std::map<std::string, std::string> texts_;  // channel (choice and field) -> its text so far
  nlohmann::json last_;        // the last chunk's head (id, created, model); Responses: response
  std::set<int64_t> choices_;  // choice indexes seen
  int64_t sequence_ = 0;       // Responses: the last sequence_number seen
};

}  // namespace fathom::gateway::policy
