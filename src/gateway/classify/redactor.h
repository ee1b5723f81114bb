// Redaction of cloud-bound requests (`classification: {redact: true}`): the entities a tenant's
// rules find (detectors, keywords, patterns) are replaced by placeholders such as `[EMAIL_1]`
// before a request leaves for a cloud pool, and the placeholders in the answer are replaced by
// the originals again before it reaches the client, streamed answers included. The originals
// stay in the gateway's memory for the request's lifetime and are never logged.
#pragma once

#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "gateway/classify/classifier.h"

namespace fathom::gateway::classify {

/// The placeholders of one request and the text each stands for.
class Redaction {
 public:
  /// Replaces, in every text request_texts reads, each span find_spans finds by a placeholder
  /// `[KIND_N]` (`[CN_MOBILE_1]`, `[KEYWORD_2]`, ...). The same text gets the same placeholder
  /// everywhere, and no placeholder is a string the request already contains. nullopt when the
  /// request cannot be redacted: a pattern gave up on a text, or the redacted texts still
  /// classify as sensitive under `cfg` (fail closed: the request then stays on-prem).
  static std::optional<Redaction> apply(nlohmann::json& body, const ClassifierConfig& cfg);

  size_t size() const { return entries_.size(); }
  /// `text` with every placeholder replaced by its original.
  std::string restore(std::string_view text) const;
  /// restore() on every string inside `j` (a whole response).
  void restore_json(nlohmann::json& j) const;
  /// How many bytes of a streamed text may be the start of a placeholder (see StreamRestorer).
  size_t longest_placeholder() const { return longest_; }

 private:
  std::vector<std::pair<std::string, std::string>> entries_;  // placeholder, original
  size_t longest_ = 0;
};

/// Restores one text that arrives in pieces: a piece that ends in what may be the beginning of
/// a placeholder (`[EMA`) keeps that tail back until the next piece shows what it was.
class StreamRestorer {
 public:
  explicit StreamRestorer(const Redaction* r) : r_(r) {}
  /// What may go to the client now.
  std::string feed(std::string_view piece);
  /// The held-back tail (at the end of the text).
  std::string flush();

 private:
  const Redaction* r_;
  std::string pending_;
};

/// Restores the events of a chat or completions stream: each choice's `delta.content`,
/// `delta.reasoning_content`, `delta.refusal`, tool-call `arguments` and completions `text`,
/// each as its own StreamRestorer; a choice's finishing chunk (`finish_reason` set) carries
/// whatever was held back.
class ChunkRestorer {
 public:
  explicit ChunkRestorer(const Redaction* r) : r_(r) {}
  void restore(nlohmann::json& chunk);

 private:
  StreamRestorer& channel(int64_t choice, const std::string& name);
  const Redaction* r_;
  std::map<std::pair<int64_t, std::string>, StreamRestorer> channels_;
};

}  // namespace fathom::gateway::classify
