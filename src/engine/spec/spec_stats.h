// Speculative decoding counters for /metrics (vLLM's vllm:spec_decode_* names).
#pragma once

#include <cstdint>
#include <vector>

namespace fathom::engine::spec {

struct SpecStats {
  int64_t num_drafts = 0;                 ///< verification steps of a sequence with a draft
  int64_t num_draft_tokens = 0;           ///< draft tokens verified
  int64_t num_accepted_tokens = 0;        ///< of which accepted
  std::vector<int64_t> accepted_per_pos;  ///< [k]: accepted at draft position i

  /// One sequence's verification: `drafted` tokens, the first `accepted` of them kept.
  void record(int64_t drafted, int64_t accepted) {
    ++num_drafts;
    num_draft_tokens += drafted;
    num_accepted_tokens += accepted;
    if (static_cast<int64_t>(accepted_per_pos.size()) < drafted)
      accepted_per_pos.resize(static_cast<size_t>(drafted), 0);
    for (int64_t i = 0; i < accepted; ++i) ++accepted_per_pos[static_cast<size_t>(i)];
  }

  void add(const SpecStats& o) {
    num_drafts += o.num_drafts;
    num_draft_tokens += o.num_draft_tokens;
    num_accepted_tokens += o.num_accepted_tokens;
    if (accepted_per_pos.size() < o.accepted_per_pos.size())
      accepted_per_pos.resize(o.accepted_per_pos.size(), 0);
    for (size_t i = 0; i < o.accepted_per_pos.size(); ++i)
      accepted_per_pos[i] += o.accepted_per_pos[i];
  }
};

}  // namespace fathom::engine::spec
